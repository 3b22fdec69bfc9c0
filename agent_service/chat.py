"""Chat memory: bounded, persisted per-conversation history, the answers given (so a retried request gets
the same one), and a journal of the messages the agent took.

Stored with the standard library's sqlite3 in AGENT_DATA_DIR, so a restart (or another process sharing
the directory) carries on a WhatsApp conversation where it was. Bounded twice, so a chatty or hostile
client cannot grow the database without limit: each conversation keeps its last `max_turns` turns, and
only the `max_conversations` most recently used conversations are kept at all.

The calls are synchronous on purpose: each is a few indexed rows in a local WAL-mode file (well under a
millisecond), cheaper than a thread hop; the database is opened on first use so that constructing the
service (as the drain tests do) touches no disk.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from agent_service.brain.events import TakeMessage, Turn

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, last_used INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_by_use ON conversations (last_used);
CREATE TABLE IF NOT EXISTS turns (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'agent')),
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (conversation_id, seq);
CREATE TABLE IF NOT EXISTS replies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    response BLOB NOT NULL,
    UNIQUE (conversation_id, request_id)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    name TEXT NOT NULL,
    number TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


class ChatMemory:
    def __init__(self, path: Path, max_turns: int, max_conversations: int) -> None:
        self._path = path
        self._max_turns = max_turns
        self._max_conversations = max_conversations
        self._db: sqlite3.Connection | None = None
        self._clock = 0  # a use counter, not wall time: two uses within one clock tick must still order

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            row = db.execute("SELECT COALESCE(MAX(last_used), 0) FROM conversations").fetchone()
            self._clock = int(row[0])
            self._db = db
        return self._db

    def history(self, conversation_id: str) -> tuple[Turn, ...]:
        rows = self._conn().execute(
            "SELECT role, text FROM turns WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
        )
        return tuple(Turn(role, text) for role, text in rows)

    def reply(self, conversation_id: str, request_id: str) -> bytes | None:
        """The answer given to this request before (a serialized ChatResponse), if it is still kept."""
        row = (
            self._conn()
            .execute(
                "SELECT response FROM replies WHERE conversation_id = ? AND request_id = ?",
                (conversation_id, request_id),
            )
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def record(self, conversation_id: str, *turns: Turn, reply: tuple[str, bytes] | None = None) -> int:
        """Append turns, and with `reply` (request id, answer) the answer, in one transaction; return how
        many turns the conversation now keeps."""
        db = self._conn()
        self._clock += 1
        with _transaction(db):
            db.execute(
                "INSERT INTO conversations (id, last_used) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET last_used = excluded.last_used",
                (conversation_id, self._clock),
            )
            db.executemany(
                "INSERT INTO turns (conversation_id, role, text) VALUES (?, ?, ?)",
                [(conversation_id, t.role, t.text) for t in turns],
            )
            if reply is not None:
                db.execute(
                    "INSERT OR IGNORE INTO replies (conversation_id, request_id, response) VALUES (?, ?, ?)",
                    (conversation_id, *reply),
                )
            for table in ("turns", "replies"):
                db.execute(
                    f"DELETE FROM {table} WHERE conversation_id = ? AND seq NOT IN "
                    f"(SELECT seq FROM {table} WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?)",
                    (conversation_id, conversation_id, self._max_turns),
                )
            evicted = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM conversations ORDER BY last_used DESC LIMIT -1 OFFSET ?",
                    (self._max_conversations,),
                )
            ]
            for old in evicted:
                db.execute("DELETE FROM turns WHERE conversation_id = ?", (old,))
                db.execute("DELETE FROM replies WHERE conversation_id = ?", (old,))
                db.execute("DELETE FROM conversations WHERE id = ?", (old,))
        row = db.execute(
            "SELECT COUNT(*) FROM turns WHERE conversation_id = ?", (conversation_id,)
        ).fetchone()
        return int(row[0])

    def save_message(self, conversation_id: str, message: TakeMessage) -> int:
        """Store a message the agent took; return its id."""
        cursor = self._conn().execute(
            "INSERT INTO messages (conversation_id, name, number, reason, created_at) VALUES (?, ?, ?, ?, ?)",
            (conversation_id, message.name, message.number, message.reason, time.time()),
        )
        return int(cursor.lastrowid or 0)

    def messages(self) -> list[tuple[str, TakeMessage]]:
        rows = self._conn().execute("SELECT conversation_id, name, number, reason FROM messages ORDER BY id")
        return [(cid, TakeMessage(name, number, reason)) for cid, name, number, reason in rows]

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM conversations").fetchone()[0])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class _transaction:  # noqa: N801 (used like a function, as sqlite3's own context managers are)
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
