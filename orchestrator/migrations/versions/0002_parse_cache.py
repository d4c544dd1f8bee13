"""Parse cache and pipeline bookkeeping: run reasons, push attempts, state lock owners,
stack inputs and outputs

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
    op.add_column("stacks", sa.Column("inputs", sa.JSON(), server_default="[]", nullable=False))
    op.add_column(
        "stacks", sa.Column("local_state_reads", sa.JSON(), server_default="[]", nullable=False)
    )
    op.add_column(
        "stacks",
        sa.Column("trigger_always", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("runs", sa.Column("inputs_sha256", sa.String(length=64), nullable=True))
    op.create_table(
        "stack_outputs",
        sa.Column("stack_id", sa.String(length=500), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=False),
        sa.Column("plain", sa.JSON(), nullable=False),
        sa.Column("sensitive_names", sa.JSON(), nullable=False),
        sa.Column("sensitive_enc", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["stack_id"], ["stacks.id"]),
        sa.PrimaryKeyConstraint("stack_id"),
    )


def downgrade() -> None:
    op.drop_table("stack_outputs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("inputs_sha256")
    with op.batch_alter_table("stacks") as batch:
        batch.drop_column("trigger_always")
        batch.drop_column("local_state_reads")
        batch.drop_column("inputs")
    with op.batch_alter_table("state_locks") as batch:
        batch.drop_column("run_id")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("attempts")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("trigger_reason")
    op.drop_table("parse_cache")
