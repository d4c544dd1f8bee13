"""A push event records when a worker took it for processing (issue 16): the reaper retries a
push left `processing` counting from then, not from when it was received

Revision ID: 0020
Revises: 0018 (the drift slots)
Create Date: 2026-12-06 11:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("events", "claimed_at")
