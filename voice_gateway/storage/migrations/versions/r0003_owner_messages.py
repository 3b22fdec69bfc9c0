"""Messages the agent took for the business (owner_messages): one row per message id, its status (new,
handled) and the state of the owner's WhatsApp notification; indexed for the newest-first list by status
and for the notifications that are due.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "owner_messages",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("caller", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("number_is_caller_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("taken_at", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handled_at", sa.String(length=40), nullable=True),
        sa.Column("notify_state", sa.String(length=16), nullable=False),
        sa.Column("notify_attempts", sa.Integer(), nullable=False),
        sa.Column("notify_next_at", sa.String(length=40), nullable=True),
        sa.Column("notify_error", sa.Text(), nullable=True),
        sa.Column("notify_message_id", sa.String(length=64), nullable=True),
        sa.Column("notified_at", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("owner_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_owner_messages_notify_due", ["notify_state", "notify_next_at"], unique=False
        )
        batch_op.create_index("ix_owner_messages_status_created", ["status", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("owner_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_owner_messages_status_created")
        batch_op.drop_index("ix_owner_messages_notify_due")

    op.drop_table("owner_messages")
