"""The ownership boundary (issue 22): the index of what stacks' states own, the findings of
Argo CD applications managing it, and the checks that found them

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-06 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "boundary_resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stack_id", sa.String(length=500), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=1100), nullable=False),
        sa.ForeignKeyConstraint(["stack_id"], ["stacks.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_boundary_resources_stack_id", "boundary_resources", ["stack_id"])
    op.create_index("ix_boundary_resources_key", "boundary_resources", ["key"])
    op.create_table(
        "boundary_sources",
        sa.Column("stack_id", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("resources", sa.Integer(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["stack_id"], ["stacks.id"]),
        sa.PrimaryKeyConstraint("stack_id"),
    )
    _findings()
    _checks()


def _findings() -> None:
    op.create_table(
        "boundary_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=500), nullable=False),
        sa.Column("direction", sa.String(length=20), nullable=False),
        sa.Column("app", sa.String(length=300), nullable=False),
        sa.Column("group", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=300), nullable=False),
        sa.Column("namespace", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("stack_id", sa.String(length=500), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=False),
        sa.Column("identity", sa.String(length=1100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_boundary_findings_platform", "boundary_findings", ["platform"])
    op.create_index("ix_boundary_findings_app", "boundary_findings", ["app"])
    op.create_index("ix_boundary_findings_stack_id", "boundary_findings", ["stack_id"])


def _checks() -> None:
    op.create_table(
        "boundary_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=500), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=True),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("apps", sa.Integer(), nullable=False),
        sa.Column("objects", sa.Integer(), nullable=False),
        sa.Column("open_findings", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_boundary_checks_platform", "boundary_checks", ["platform"])
    op.create_index("ix_boundary_checks_pipeline_id", "boundary_checks", ["pipeline_id"])


def downgrade() -> None:
    op.drop_table("boundary_checks")
    op.drop_table("boundary_findings")
    op.drop_table("boundary_sources")
    op.drop_table("boundary_resources")
