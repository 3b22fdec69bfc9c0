"""Calls say where they came from (channel: phone, or browser for the console's "Talk to your agent"), and
an index on when they started serves the console's date-range search newest first.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        channel = sa.Column("channel", sa.String(length=16), nullable=False, server_default="phone")
        batch_op.add_column(channel)
        batch_op.create_index("ix_calls_started", ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_started")
        batch_op.drop_column("channel")
