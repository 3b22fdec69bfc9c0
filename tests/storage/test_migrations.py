"""Schema migrations on SQLite and a real PostgreSQL: a fresh database, one the release before made,
several processes starting at once, the `migrate` command, and a new revision written by the helper."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, inspect, select, text

from tests.procs import ROOT
from voice_gateway.storage import schema
from voice_gateway.storage.database import open_engine
from voice_gateway.storage.migrate import SchemaMismatch, head_revision
from voice_gateway.storage.migrations import baseline
from voice_gateway.storage.schema import open_database

AT = "2026-01-01T00:00:00.000000+00:00"
BEFORE = baseline.metadata.tables
CONVERSATION = {"contact": "+4915100000001", "created_at": AT, "last_message_at": AT}
MESSAGE = {
    "id": "m1",
    "conversation_id": 1,
    "contact": "+4915100000001",
    "direction": "inbound",
    "provider": "baileys",
    "provider_id": "WA1",
    "status": "received",
    "text": "hello",
    "created_at": AT,
    "updated_at": AT,
}
CALL = {"call_sid": "CA1", "stream_sid": "MZ1", "caller": "+4915100000001", "started_at": AT}
LINE = {"call_sid": "CA1", "role": "caller", "text": "hi", "at": AT}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    found: str = request.getfixturevalue("postgres_url")
    return found


def _state(conn: Connection) -> tuple[list[str], list[Any]]:
    recorded = inspect(conn).has_table("alembic_version")
    revisions = (
        [r for (r,) in conn.execute(text("SELECT version_num FROM alembic_version"))] if recorded else []
    )
    return revisions, compare_metadata(MigrationContext.configure(conn), schema.metadata)


async def state(url: str) -> tuple[list[str], list[Any]]:
    """The revisions recorded, and how the schema differs from the models (empty: they agree)."""
    engine = open_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_state)
    finally:
        await engine.dispose()


async def make_as_the_release_before(url: str, drop_column: str | None = None) -> None:
    """What the last release without migrations left behind: its create_all, then some rows."""
    engine = open_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(baseline.metadata.create_all)
            if drop_column is not None:
                table, column = drop_column.split(".")
                await conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
            await conn.execute(insert(BEFORE["wa_conversations"]), CONVERSATION)
            if drop_column is None:
                await conn.execute(insert(BEFORE["wa_messages"]), MESSAGE)
            await conn.execute(insert(BEFORE["calls"]), CALL)
            await conn.execute(insert(BEFORE["call_transcripts"]), LINE)
    finally:
        await engine.dispose()


def run_migrate(url: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": url}
    command = [sys.executable, "-m", "voice_gateway", "migrate"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


async def test_a_fresh_database_is_migrated_to_head(url: str) -> None:
    await (await open_database(url)).dispose()
    revisions, _ = await state(url)
    assert revisions == [head_revision()]


async def test_the_models_and_the_migrated_schema_agree(url: str) -> None:
    # A change to schema.py without a revision (or a revision that does something else) fails here.
    await (await open_database(url)).dispose()
    _, differences = await state(url)
    assert differences == []


async def test_a_database_from_the_release_before_migrations_is_stamped_and_upgraded_keeping_its_rows(
    url: str,
) -> None:
    await make_as_the_release_before(url)
    engine = await open_database(url)
    try:
        async with engine.begin() as conn:
            assert (await conn.execute(select(schema.messages))).mappings().one()["text"] == "hello"
            assert (await conn.execute(select(schema.calls.c.call_sid))).scalars().all() == ["CA1"]
            assert (await conn.execute(select(schema.call_transcripts.c.text))).scalars().all() == ["hi"]
            # Ids carry on where the old release left them.
            added = await conn.execute(
                insert(schema.conversations).returning(schema.conversations.c.id),
                {**CONVERSATION, "contact": "+4915100000002"},
            )
            assert added.scalar_one() == 2
    finally:
        await engine.dispose()
    assert await state(url) == ([head_revision()], [])


async def test_tables_from_before_that_do_not_match_revision_0001_are_refused_and_left_alone(
    url: str,
) -> None:
    await make_as_the_release_before(url, drop_column="wa_messages.auto_reply")
    with pytest.raises(SchemaMismatch, match="wa_messages lacks auto_reply"):
        await open_database(url)
    revisions, _ = await state(url)
    assert revisions == []


CHILD = """
import asyncio, sys
from voice_gateway.storage.schema import open_database

async def main() -> None:
    engine = await open_database(sys.argv[1])
    await engine.dispose()

print("ready", flush=True)
sys.stdin.readline()
asyncio.run(main())
"""


def test_processes_starting_together_on_an_empty_database_all_come_up(url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    try:
        # Every child has imported everything before any is let go: they reach the database together.
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.close()
        outcomes = [(proc.wait(60), proc.stderr.read() if proc.stderr else "") for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
    assert outcomes == [(0, "")] * len(procs)
    assert asyncio.run(state(url)) == ([head_revision()], [])


def test_the_migrate_command_prints_the_revision_it_reached_and_can_run_again(url: str) -> None:
    for _ in range(2):
        result = run_migrate(url)
        assert (result.returncode, result.stderr) == (0, "")
        assert result.stdout.startswith("voice_gateway: DATABASE_URL (")
        assert result.stdout.endswith(f") is at revision {head_revision()}\n")
        assert result.stdout.count("\n") == 1


def test_the_migrate_command_reports_a_schema_it_cannot_stamp_in_one_line_and_exits_2(url: str) -> None:
    asyncio.run(make_as_the_release_before(url, drop_column="wa_messages.auto_reply"))
    result = run_migrate(url)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("voice_gateway: cannot migrate DATABASE_URL (")
    assert "SchemaMismatch: " in result.stderr and "wa_messages lacks auto_reply" in result.stderr
    assert result.stderr.count("\n") == 1


def test_the_migrate_command_with_an_unreachable_database_exits_2_with_one_line_hiding_the_password() -> None:
    # Port 9 on loopback: nothing listens there.
    result = run_migrate("postgresql://agent:s3cret-pw@127.0.0.1:9/agentlocator")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("voice_gateway: cannot open DATABASE_URL (postgresql+asyncpg://agent:***@")
    assert "s3cret-pw" not in result.stderr


UPGRADE = """
import asyncio, sys
from voice_gateway.storage.database import open_engine
from voice_gateway.storage.migrate import upgrade

async def main() -> None:
    engine = open_engine(sys.argv[1])
    try:
        print(await upgrade(engine))
    finally:
        await engine.dispose()

asyncio.run(main())
"""


def test_the_helper_writes_the_next_revision_from_a_change_to_the_models(tmp_path: Path) -> None:
    # On a copy of the package, so the real versions/ folder is never touched.
    copy = tmp_path / "voice_gateway"
    shutil.copytree(ROOT / "voice_gateway", copy, ignore=shutil.ignore_patterns("__pycache__"))
    models = copy / "storage" / "schema.py"
    before = '    Column("outcome", Text),\n'
    assert models.read_text().count(before) == 1
    models.write_text(models.read_text().replace(before, before + '    Column("note", Text),\n'))

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ["PATH"]}
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    written = run(sys.executable, "-m", "voice_gateway.storage.migrations", "add a note to calls")
    assert written.returncode == 0, written.stderr
    head = head_revision()
    following = f"{int(head) + 1:04d}"
    versions = copy / "storage" / "migrations" / "versions"
    source = (versions / f"r{following}_add_a_note_to_calls.py").read_text()
    assert f'revision: str = "{following}"' in source and f'down_revision: str | None = "{head}"' in source
    assert 'add_column(sa.Column("note", sa.Text(), nullable=True))' in source
    # The copy's gateway applies it.
    database = tmp_path / "gateway.db"
    applied = run(sys.executable, "-c", UPGRADE, f"sqlite:///{database}")
    assert (applied.returncode, applied.stdout) == (0, f"{following}\n"), applied.stderr
    with sqlite3.connect(database) as conn:
        assert "note" in {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
