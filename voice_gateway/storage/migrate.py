"""Bring the gateway's database to the newest schema, safely when several processes start at once.

Every process runs this before using the database (`open_database`); a deployment that prefers a job
runs `python -m voice_gateway migrate` first. Revisions live in `migrations/versions/`.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voice_gateway.settings import Settings, SettingsError
from voice_gateway.storage.database import async_url, database_problem, open_engine
from voice_gateway.storage.migrations import baseline

SCRIPTS = Path(__file__).with_name("migrations")
BASELINE_REVISION = "0001"
# Fixed for good: gateways of every version sharing one PostgreSQL must wait on the same lock.
PG_LOCK_KEY = 0x41674C6F634D6967


class SchemaMismatch(RuntimeError):
    """Tables from before migrations exist but are not the ones revision 0001 describes."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    # ConfigParser would take a % in the path for interpolation.
    config.set_main_option("script_location", str(SCRIPTS).replace("%", "%%"))
    # Module names must not start with a digit, or mypy and imports cannot name them.
    config.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no revisions in {SCRIPTS / 'versions'}")
    return head


async def upgrade(engine: AsyncEngine) -> str:
    """Migrate `engine`'s database to the newest revision, one process at a time; the revision reached."""
    async with engine.connect() as conn, _exclusive(conn):
        return await conn.run_sync(_upgrade)


def _upgrade(conn: Connection) -> str:
    if _made_before_migrations(conn):
        # That release created whichever tables were missing at every start; finish its work, then stamp.
        baseline.metadata.create_all(conn, checkfirst=True)
        conn.commit()
        command.stamp(alembic_config(conn), BASELINE_REVISION)
    # Alembic opens its own transactions only on a connection that is not in one already.
    conn.commit()
    command.upgrade(alembic_config(conn), "head")
    revision = MigrationContext.configure(conn).get_current_revision()
    conn.commit()
    if revision is None:
        raise RuntimeError("the upgrade left no revision recorded")
    return revision


def _made_before_migrations(conn: Connection) -> bool:
    """Whether this is a database the release before migrations made: its tables, no alembic_version."""
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    ours = sorted(present & set(baseline.metadata.tables))
    if "alembic_version" in present or not ours:
        return False
    lacking = []
    for name in ours:
        found = {column["name"] for column in inspector.get_columns(name)}
        if missing := [c.name for c in baseline.metadata.tables[name].columns if c.name not in found]:
            lacking.append(f"{name} lacks {', '.join(missing)}")
    if lacking:
        raise SchemaMismatch(
            f"tables made before migrations do not match revision {BASELINE_REVISION}: {'; '.join(lacking)}"
        )
    return True


@asynccontextmanager
async def _exclusive(conn: AsyncConnection) -> AsyncIterator[None]:
    if conn.dialect.name == "postgresql":
        async with _advisory_lock(conn):
            yield
    else:
        async with _file_lock(conn.engine.url.database):
            yield


@asynccontextmanager
async def _advisory_lock(conn: AsyncConnection) -> AsyncIterator[None]:
    # A session lock outlives the transactions alembic commits, and the server frees it if we die.
    await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
    await conn.commit()
    try:
        yield
    except BaseException:
        # A rollback would keep the lock: drop the connection, so the server frees it and the pool forgets it.
        await conn.invalidate()
        raise
    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
    await conn.commit()


@asynccontextmanager
async def _file_lock(database: str | None) -> AsyncIterator[None]:
    if database in (None, "", ":memory:"):  # no other process can open this one
        yield
        return
    fd = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        # flock blocks: waiting in a thread keeps this process's event loop (and its other work) going.
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def main() -> int:
    """`python -m voice_gateway migrate`: migrate DATABASE_URL, print the revision reached; 2 on error."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"voice_gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    line, ok = asyncio.run(migrate_database(settings.database_url))
    print(f"voice_gateway: {line}", file=sys.stdout if ok else sys.stderr, flush=True)
    return 0 if ok else 2


async def migrate_database(url: str) -> tuple[str, bool]:
    if (problem := await database_problem(url)) is not None:
        return problem, False
    shown = make_url(async_url(url)).render_as_string(hide_password=True)
    engine = open_engine(url)
    try:
        revision = await upgrade(engine)
    except Exception as exc:
        # Driver errors run on with the SQL and a link; the first line says what went wrong.
        reason = (str(exc).strip().splitlines() or [""])[0]
        return f"cannot migrate DATABASE_URL ({shown}): {type(exc).__name__}: {reason}", False
    finally:
        await engine.dispose()
    return f"DATABASE_URL ({shown}) is at revision {revision}", True
