"""State recovery: a stack whose apply could not save its state (terraform wrote
errored.tfstate) stays locked and names the artifact that holds that state

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 02:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state_recovery_artifact", sa.String(300), nullable=True))
        batch_op.add_column(sa.Column("state_recovery_run_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stacks", schema=None) as batch_op:
        batch_op.drop_column("state_recovery_run_id")
        batch_op.drop_column("state_recovery_artifact")
