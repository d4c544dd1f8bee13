"""Drift checks per stack and schedule slot; drift settings and status on stacks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 04:02:39.912934
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stack_id", sa.String(length=500), nullable=False),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reconcile_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["stack_id"],
            ["stacks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stack_id", "slot"),
    )
    with op.batch_alter_table("drift_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_checks_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drift_checks_stack_id"), ["stack_id"], unique=False)

    with op.batch_alter_table("stacks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("drift_schedules", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("drift_reconcile", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("drift_override", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("drift_status", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("last_drift_check_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_drift_slot", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stacks", schema=None) as batch_op:
        batch_op.drop_column("last_drift_slot")
        batch_op.drop_column("last_drift_check_at")
        batch_op.drop_column("drift_status")
        batch_op.drop_column("drift_override")
        batch_op.drop_column("drift_reconcile")
        batch_op.drop_column("drift_schedules")

    with op.batch_alter_table("drift_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_checks_stack_id"))
        batch_op.drop_index(batch_op.f("ix_drift_checks_run_id"))

    op.drop_table("drift_checks")
