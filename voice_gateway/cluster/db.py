"""The few things every shared part asks PostgreSQL: its clock, and whether a URL names it."""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from voice_gateway.storage.database import async_url

FAILURES = Counter(
    "agentlocator_cluster_failures",
    "Shared-state operations on PostgreSQL that failed (the gateway carried on alone)",
    ["what"],
)
NOW = text("SELECT extract(epoch FROM clock_timestamp())::float8")


def is_postgres(url: str) -> bool:
    return make_url(async_url(url)).get_backend_name() == "postgresql"


def plain_dsn(url: str) -> str:
    """The URL as asyncpg itself takes it (no SQLAlchemy driver name), for LISTEN/NOTIFY connections."""
    return make_url(async_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


async def db_now(conn: AsyncConnection) -> float:
    # One clock for every gateway: theirs may disagree, and a heartbeat compared across hosts must not.
    return float((await conn.execute(NOW)).scalar_one())
