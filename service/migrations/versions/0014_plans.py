"""一点一策: one plan per hotspot (measures, responsible unit, milestones); the campaign calendar
(phases, road-market batch starts) kept in the database for admins to edit.

Revision ID: 0014_plans
Revises: 0013_events
Create Date: 2025-06-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_plans"
down_revision = "0013_events"
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

    op.create_table(
        "campaign_phases",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
    )
    op.create_table(
        "campaign_batches",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("start", sa.Date(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("campaign_batches")
    op.drop_table("campaign_phases")
    op.drop_table("hotspot_plans")
