"""Proposed runs: pull/merge request numbers on events, pipelines and runs; the pipeline's
report back to the VCS; a repository's VCS API settings

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 14:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_comments",
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"]),
        sa.PrimaryKeyConstraint("repository_id", "pr_number"),
    )
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vcs_api_url", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("vcs_project", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("vcs_token_enc", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pr_number", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("action", sa.String(length=30), nullable=False, server_default="")
        )
    with op.batch_alter_table("pipelines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="TRACKED")
        )
        batch_op.add_column(sa.Column("pr_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("report_state", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("report_error", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("report_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("report_seq", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("report_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("comment_id", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_pipelines_pr_number"), ["pr_number"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_pipelines_report_due_at"), ["report_due_at"], unique=False
        )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pr_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reported_status", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("reported_status")
        batch_op.drop_column("pr_number")
    with op.batch_alter_table("pipelines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipelines_report_due_at"))
        batch_op.drop_index(batch_op.f("ix_pipelines_pr_number"))
        for column in (
            "comment_id",
            "report_due_at",
            "report_seq",
            "report_attempts",
            "report_error",
            "report_state",
            "note",
            "pr_number",
            "kind",
        ):
            batch_op.drop_column(column)
    op.drop_table("review_comments")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("action")
        batch_op.drop_column("pr_number")
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_column("vcs_token_enc")
        batch_op.drop_column("vcs_project")
        batch_op.drop_column("vcs_api_url")
