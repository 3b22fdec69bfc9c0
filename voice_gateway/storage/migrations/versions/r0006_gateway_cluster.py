"""What several gateways on one PostgreSQL share: gateway_hosts (heartbeats), gateway_lines (which gateway
carries which call; the concurrent-call cap counts them), console_sessions and rate_buckets. SQLite has them
too and leaves them empty.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_console_sessions_expires", ["expires_at"], unique=False)

    op.create_table(
        "gateway_hosts",
        sa.Column("gateway_id", sa.String(length=128), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("gateway_id"),
    )
    op.create_table(
        "gateway_lines",
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reserved_until", sa.Float(), nullable=False),
        sa.Column("caller", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("call_sid"),
    )
    with op.batch_alter_table("gateway_lines", schema=None) as batch_op:
        batch_op.create_index("ix_gateway_lines_gateway", ["gateway_id"], unique=False)

    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.Column("blocked_until", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("rate_buckets", schema=None) as batch_op:
        batch_op.create_index("ix_rate_buckets_updated", ["updated"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_buckets", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_buckets_updated")

    op.drop_table("rate_buckets")
    with op.batch_alter_table("gateway_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_gateway_lines_gateway")

    op.drop_table("gateway_lines")
    op.drop_table("gateway_hosts")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_console_sessions_expires")

    op.drop_table("console_sessions")
