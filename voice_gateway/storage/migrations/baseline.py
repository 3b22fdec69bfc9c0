"""The schema exactly as the last release before migrations created it, frozen: never edit this file.

Revision 0001 creates it, and a database that release made (its tables, no `alembic_version`) is checked
against it before being stamped 0001. Later changes belong in new revisions, not here.
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

metadata = MetaData()

_conversations = Table(
    "wa_conversations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contact", String(128), nullable=False, unique=True),
    Column("created_at", String(40), nullable=False),
    Column("last_message_at", String(40), nullable=False),
)

_messages = Table(
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
    Column("media", Text),
    Column("error_code", String(64)),
    Column("auto_reply", String(16)),
    Column("sent_at", String(40)),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("provider", "provider_id", name="uq_wa_messages_provider_id"),
)
Index("ix_wa_messages_contact_created", _messages.c.contact, _messages.c.created_at)

_status_events = Table(
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
Index("ix_wa_status_events_message", _status_events.c.message_id)
Index("ix_wa_status_events_orphans", _status_events.c.provider, _status_events.c.provider_id)

Table(
    "wa_webhook_events",
    metadata,
    Column("provider", String(16), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("received_at", String(40), nullable=False),
    PrimaryKeyConstraint("provider", "event_id"),
)

_calls = Table(
    "calls",
    metadata,
    Column("call_sid", String(64), primary_key=True),
    Column("stream_sid", String(64), nullable=False),
    Column("caller", String(128), nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("ended_at", String(40)),
    Column("outcome", Text),
)
Index("ix_calls_caller_started", _calls.c.caller, _calls.c.started_at)

_call_transcripts = Table(
    "call_transcripts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_sid", String(64), ForeignKey("calls.call_sid"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("at", String(40), nullable=False),
)
Index("ix_call_transcripts_call", _call_transcripts.c.call_sid, _call_transcripts.c.id)

_call_turns = Table(
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
Index("ix_call_turns_call", _call_turns.c.call_sid, _call_turns.c.id)
