"""The files each hand-off wrote to the GitOps repository, so that the next hand-off of the
stack removes the ones it no longer writes (a renamed cluster's old folder)

Revision ID: 0016
Revises: 0014 (merged after the UI sessions)
Create Date: 2026-12-06 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("handoffs", sa.Column("written_files", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("handoffs", "written_files")
