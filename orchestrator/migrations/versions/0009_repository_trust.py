"""Trust for proposed runs: per repository, whether proposed runs get secrets, whether pull
requests from forks are planned, the authors whose branches are trusted, and whether viewers
may read proposed runs' logs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        for name in ("proposed_secrets", "plan_fork_prs", "proposed_logs_public"):
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
            )
        batch_op.add_column(
            sa.Column("trusted_authors", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        for name in (
            "trusted_authors",
            "proposed_logs_public",
            "plan_fork_prs",
            "proposed_secrets",
        ):
            batch_op.drop_column(name)
