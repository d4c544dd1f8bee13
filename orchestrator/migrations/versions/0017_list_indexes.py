"""Indexes for the API's lists and the drift tick (issue 21): runs by stack, state and
pipeline newest first, pipelines by repository and branch newest first, stacks by
repository; drift checks lose the stack index their (stack, slot) key already gives

Revision ID: 0017
Revises: 0016 (merged after the hand-off files)
Create Date: 2026-12-06 08:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_runs_stack_id", "runs")
    op.drop_index("ix_runs_state", "runs")
    op.create_index("ix_runs_stack_id_id", "runs", ["stack_id", "id"])
    op.create_index("ix_runs_state_id", "runs", ["state", "id"])
    op.create_index("ix_runs_pipeline_id_id", "runs", ["pipeline_id", "id"])
    op.create_index("ix_pipelines_repository_id_id", "pipelines", ["repository_id", "id"])
    op.create_index("ix_pipelines_branch_id", "pipelines", ["branch", "id"])
    op.create_index("ix_stacks_repository_id", "stacks", ["repository_id"])
    op.drop_index("ix_drift_checks_stack_id", "drift_checks")


def downgrade() -> None:
    op.create_index("ix_drift_checks_stack_id", "drift_checks", ["stack_id"])
    op.drop_index("ix_stacks_repository_id", "stacks")
    op.drop_index("ix_pipelines_branch_id", "pipelines")
    op.drop_index("ix_pipelines_repository_id_id", "pipelines")
    op.drop_index("ix_runs_pipeline_id_id", "runs")
    op.drop_index("ix_runs_state_id", "runs")
    op.drop_index("ix_runs_stack_id_id", "runs")
    op.create_index("ix_runs_state", "runs", ["state"])
    op.create_index("ix_runs_stack_id", "runs", ["stack_id"])
