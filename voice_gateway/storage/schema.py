"""Tables for WhatsApp, calls and their transcripts; the same definitions serve SQLite and PostgreSQL.

These are the models: change them together with a new revision in migrations/versions/ (README, Migrations).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.storage.database import open_engine
from voice_gateway.storage.migrate import upgrade

metadata = MetaData()

# Timestamps are fixed-width ISO-8601 UTC text: they sort correctly as text on both databases.
conversations = Table(
    "wa_conversations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contact", String(128), nullable=False, unique=True),
    Column("created_at", String(40), nullable=False),
    Column("last_message_at", String(40), nullable=False),
)

messages = Table(
    "wa_messages",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("conversation_id", Integer, ForeignKey("wa_conversations.id"), nullable=False),
    Column("contact", String(128), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("provider_id", String(128)),
    Column("status", String(16), nullable=False),
    Column("text", Text),
    Column("media", Text),  # JSON summary; never the inline bytes
    Column("error_code", String(64)),
    # Inbound only, when auto-reply is on: pending until the answer is handed to a provider.
    Column("auto_reply", String(16)),
    Column("sent_at", String(40)),  # the provider's timestamp of an inbound message, when it gave one
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    # Outbound only: the API client's Idempotency-Key and a SHA-256 of the request it came with.
    Column("idempotency_key", String(200)),
    Column("request_hash", String(64)),
    # A redelivered webhook carries the same provider id: the second insert is refused here, atomically.
    UniqueConstraint("provider", "provider_id", name="uq_wa_messages_provider_id"),
)
Index("ix_wa_messages_contact_created", messages.c.contact, messages.c.created_at)
# A retried request with the same key finds the first one; two at once cannot both insert (NULLs never clash).
Index("uq_wa_messages_idempotency_key", messages.c.idempotency_key, unique=True)
# Sends whose outcome is unknown (queued, no provider id) are looked for by age.
Index("ix_wa_messages_status_created", messages.c.status, messages.c.created_at)

# Every status report we received, applied or not; message_id is NULL while the report is an orphan
# (it arrived before we learnt which message the provider id belongs to) and is filled in later.
status_events = Table(
    "wa_status_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), ForeignKey("wa_messages.id")),
    Column("provider", String(16), nullable=False),
    Column("provider_id", String(128)),
    Column("status", String(16), nullable=False),
    Column("raw_status", String(64), nullable=False),
    Column("error_code", String(64)),
    Column("applied", Integer, nullable=False),
    Column("at", String(40), nullable=False),
    Column("received_at", String(40), nullable=False),
)
Index("ix_wa_status_events_message", status_events.c.message_id)
Index("ix_wa_status_events_orphans", status_events.c.provider, status_events.c.provider_id)

webhook_events = Table(
    "wa_webhook_events",
    metadata,
    Column("provider", String(16), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("received_at", String(40), nullable=False),
    PrimaryKeyConstraint("provider", "event_id"),
)

# Phone calls the gateway carried in AI mode, and what was said (final transcripts only), kept beside
# the WhatsApp messages so one contact's history covers both channels.
calls = Table(
    "calls",
    metadata,
    Column("call_sid", String(64), primary_key=True),
    Column("stream_sid", String(64), nullable=False),
    Column("caller", String(128), nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("ended_at", String(40)),
    Column("outcome", Text),
    # phone (a Twilio call) or browser (the console's "Talk to your agent").
    Column("channel", String(16), nullable=False, server_default="phone"),
)
Index("ix_calls_caller_started", calls.c.caller, calls.c.started_at)
Index("ix_calls_started", calls.c.started_at)

call_transcripts = Table(
    "call_transcripts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), ForeignKey("calls.call_sid"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("at", String(40), nullable=False),
)
Index("ix_call_transcripts_call", call_transcripts.c.call_sid, call_transcripts.c.id)

# Per-turn latency stages as the agent measured them (its Metrics after each turn), for the console's chart.
call_turns = Table(
    "call_turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), ForeignKey("calls.call_sid"), nullable=False),
    Column("endpointing_ms", Integer, nullable=False),
    Column("stt_ms", Integer, nullable=False),
    Column("llm_ms", Integer, nullable=False),
    Column("tts_ms", Integer, nullable=False),
    Column("total_ms", Integer, nullable=False),
    Column("at", String(40), nullable=False),
)
Index("ix_call_turns_call", call_turns.c.call_sid, call_turns.c.id)

# Messages the agent took for the business (voice_gateway/messages/): one row per message id, so a message
# sent again (a resumed call stream, a retried chat) is stored once; and its WhatsApp to the owner.
owner_messages = Table(
    "owner_messages",
    metadata,
    Column("id", String(64), primary_key=True),  # the agent's TakenMessage.message_id
    Column("channel", String(16), nullable=False),  # voice | whatsapp | api
    Column("conversation_id", String(128), nullable=False),  # the call sid, or the chat's id
    Column("caller", String(128), nullable=False),  # caller ID or WhatsApp contact; "" when unknown
    Column("name", String(200), nullable=False),
    Column("number", String(32), nullable=False),  # "" when the caller gave none and had no caller ID
    Column("number_is_caller_id", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("taken_at", String(40), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("status", String(16), nullable=False),  # new | handled
    Column("handled_at", String(40)),
    # The owner's WhatsApp: off (no OWNER_WHATSAPP), pending, sent or failed; each attempt is its own
    # wa_messages row (notify_message_id: the latest), made only once the one before is known unsent.
    Column("notify_state", String(16), nullable=False),
    Column("notify_attempts", Integer, nullable=False),
    Column("notify_next_at", String(40)),
    Column("notify_error", Text),
    Column("notify_message_id", String(64)),
    Column("notified_at", String(40)),
)
Index("ix_owner_messages_status_created", owner_messages.c.status, owner_messages.c.created_at)
Index("ix_owner_messages_notify_due", owner_messages.c.notify_state, owner_messages.c.notify_next_at)

# The business's knowledge, one row per version the console saved or the knowledge file seeded
# (voice_gateway/knowledge/): rows are only ever added; the newest is what the agent answers from.
knowledge_versions = Table(
    "knowledge_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),  # 1, 2, 3 … with no gaps
    Column("document", Text, nullable=False),  # the YAML, in the knowledge file's format
    Column("digest", String(64), nullable=False),  # sha256 of the document
    Column("source", String(16), nullable=False),  # file | console | restore
    Column("note", String(200), nullable=False),  # e.g. "restored version 3", the file's path
    Column("saved_at", String(40), nullable=False),
)


async def open_database(url: str) -> AsyncEngine:
    """An engine for `url` on the newest schema: migrated first if it is behind (each user may be first)."""
    engine = open_engine(url)
    try:
        await upgrade(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine
