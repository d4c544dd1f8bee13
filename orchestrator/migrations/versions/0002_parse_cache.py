"""Parse cache, the reason a run was created, push processing attempts, state lock owner

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:43:19.915023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parse_cache",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.add_column("runs", sa.Column("trigger_reason", sa.Text(), server_default="", nullable=False))
    op.add_column("events", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("state_locks", sa.Column("run_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("state_locks") as batch:
        batch.drop_column("run_id")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("attempts")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("trigger_reason")
    op.drop_table("parse_cache")
