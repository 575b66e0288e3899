"""一点一策: one plan per hotspot (measures, responsible unit, milestones).

Revision ID: 0012_plans
Revises: 0010_register
Create Date: 2025-06-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_plans"
down_revision = "0010_register"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotspot_plans",
        sa.Column("hotspot_id", sa.Integer(), sa.ForeignKey("hotspots.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=True),
        sa.Column("milestones", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("hotspot_plans")
