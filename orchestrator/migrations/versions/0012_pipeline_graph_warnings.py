"""The standing conflicts of the stack graph at a pipeline's commit (two stacks writing one
state, cycles), shown on the pipeline that plans around them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "pipelines",
        sa.Column("graph_warnings", sa.JSON(), nullable=False, server_default="[]"),
    )


def downgrade() -> None:
    op.drop_column("pipelines", "graph_warnings")
