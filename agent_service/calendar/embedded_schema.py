"""The embedded calendar's tables and their versions.

Versioned like the gateway's Alembic revisions, in a smaller form the agent can carry without Alembic:
`STEPS[n]` brings version n to n+1, and `upgrade` runs the missing steps in one transaction that holds
an exclusive lock (PostgreSQL: a transaction advisory lock; SQLite: BEGIN IMMEDIATE), so agent replicas
that start together on an empty database create it once and all see the same version.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    text,
)

from agent_service.errors import CalendarRejected

metadata = MetaData()

schema_version = Table("calendar_schema", metadata, Column("version", Integer, nullable=False))

appointments = Table(
    "calendar_appointments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("starts_at", BigInteger, nullable=False),  # epoch seconds, UTC
    Column("ends_at", BigInteger, nullable=False),
    Column("name", String(200), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("phone_key", String(16), nullable=False),
    Column("service", String(200), nullable=False),
    Column("source", String(128), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # booked, cancelled
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    Index("calendar_appointments_by_start", "status", "starts_at"),
    Index("calendar_appointments_by_phone", "phone_key", "starts_at"),
)

# One row every write locks (SELECT … FOR UPDATE on PostgreSQL), so overlap checks and writes from
# several agents are serialised; SQLite's BEGIN IMMEDIATE serialises them already.
write_lock = Table("calendar_write_lock", metadata, Column("id", Integer, primary_key=True))

PG_LOCK_KEY = 0x41674361  # "AgCa": the schema upgrade's advisory lock


def _v1(conn: Connection) -> None:
    for table in (appointments, write_lock):
        table.create(conn, checkfirst=True)
    conn.execute(write_lock.insert().values(id=1))


STEPS: tuple[Callable[[Connection], None], ...] = (_v1,)
VERSION = len(STEPS)


class SchemaTooNew(CalendarRejected):
    """The database was written by a newer agent; this one must not touch it."""


def upgrade(conn: Connection) -> int:
    """Bring the database to VERSION inside the caller's transaction; return the version found."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
    schema_version.create(conn, checkfirst=True)
    found = conn.execute(select(schema_version.c.version)).scalar()
    current = int(found or 0)
    if current > VERSION:
        raise SchemaTooNew(f"the calendar database is at version {current}; this agent knows {VERSION}")
    for step in STEPS[current:]:
        step(conn)
    if found is None:
        conn.execute(schema_version.insert().values(version=VERSION))
    elif current != VERSION:
        conn.execute(schema_version.update().values(version=VERSION))
    return current
