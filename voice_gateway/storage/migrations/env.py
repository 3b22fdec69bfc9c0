"""Alembic's entry point: migrate the connection the caller passed in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from voice_gateway.storage.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    # Only voice_gateway.storage.migrate runs these scripts: it holds the lock that makes upgrading safe.
    raise RuntimeError("run migrations through voice_gateway.storage.migrate, which passes a connection")

context.configure(
    connection=connection,
    # The models, for autogenerate and for the test that they and the revisions agree.
    target_metadata=metadata,
    # SQLite can alter little in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
