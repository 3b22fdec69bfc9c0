"""Outbound messages keep the API client's Idempotency-Key (unique) and a hash of its request; an index
finds sends whose outcome is unknown by status and age.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("wa_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_wa_messages_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index("uq_wa_messages_idempotency_key", ["idempotency_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("wa_messages", schema=None) as batch_op:
        batch_op.drop_index("uq_wa_messages_idempotency_key")
        batch_op.drop_index("ix_wa_messages_status_created")
        batch_op.drop_column("request_hash")
        batch_op.drop_column("idempotency_key")
