"""A reviewer's working day: cases merged into others, sightings rejected one by one.

Revision ID: 0009_review
Revises: 0008_evidence
Create Date: 2025-06-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_review"
down_revision = "0008_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("observations", sa.Column("rejected", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_cases_merged_into_id", "cases", ["merged_into_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("fk_cases_merged_into_id", type_="foreignkey")
        batch.drop_column("merged_into_id")
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("rejected")
