"""A stack's last drift slot is read from its drift checks (the (stack, slot) key indexes
them), not kept on the stack: a busy drift tick no longer rewrites 50,000 stack rows (issue 21)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.drop_column("last_drift_slot")


def downgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.add_column(sa.Column("last_drift_slot", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE stacks SET last_drift_slot = "
        "(SELECT max(slot) FROM drift_checks WHERE drift_checks.stack_id = stacks.id)"
    )
