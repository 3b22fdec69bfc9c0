"""The schema as the last release before migrations created it (see ../baseline.py).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from voice_gateway.storage.migrations import baseline

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # create_all of the frozen copy makes exactly the tables, indexes and constraints that release made.
    baseline.metadata.create_all(op.get_bind())


def downgrade() -> None:
    baseline.metadata.drop_all(op.get_bind())
