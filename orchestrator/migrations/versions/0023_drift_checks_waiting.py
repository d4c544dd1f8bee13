"""Drift checks waiting for their runs, by when they were claimed (issue 21): a tick claims
checks without runs, their runs are created later in batches over the spread, and every tick
finds the checks whose batch never came (drift/dispatch.overdue) through this partial index,
not a scan of every check. The checks' run index keeps only the checks with a run: a tick's
claim inserts 50,000 checks without one, and no longer writes an index entry for each

Revision ID: 0023
Revises: 0020 (the events' claimed_at)
Create Date: 2026-12-06 14:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0020"
branch_labels = None
depends_on = None

WAITING = sa.text("status = 'queued' AND run_id IS NULL")
HAS_RUN = sa.text("run_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_drift_checks_run_id", "drift_checks")
    op.create_index(
        "ix_drift_checks_run_id",
        "drift_checks",
        ["run_id"],
        postgresql_where=HAS_RUN,
        sqlite_where=HAS_RUN,
    )
    op.create_index(
        "ix_drift_checks_waiting_created_at",
        "drift_checks",
        ["created_at"],
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_drift_checks_waiting_created_at", "drift_checks")
    op.drop_index("ix_drift_checks_run_id", "drift_checks")
    op.create_index("ix_drift_checks_run_id", "drift_checks", ["run_id"])
