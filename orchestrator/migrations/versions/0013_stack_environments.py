"""Stack instances per environment (DESIGN §3, "Environments"): the environment of a stack
row and the -backend-config and -var-file files Terraform is given for it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.add_column(sa.Column("environment", sa.String(63), nullable=True))
        batch.add_column(sa.Column("backend_files", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("var_files", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.drop_column("var_files")
        batch.drop_column("backend_files")
        batch.drop_column("environment")
