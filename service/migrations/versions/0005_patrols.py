"""Patrol passes: the route each uploaded video's GPS track drove.

Revision ID: 0005_patrols
Revises: 0004_security
Create Date: 2025-05-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_patrols"
down_revision = "0004_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patrol_passes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(length=200), nullable=False, unique=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("mount", sa.String(length=16), nullable=True),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("route_t", sa.JSON(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_patrol_passes_job_id", "patrol_passes", ["job_id"])
    op.create_index("ix_patrol_passes_started_at", "patrol_passes", ["started_at"])
    op.create_index("ix_patrol_passes_ended_at", "patrol_passes", ["ended_at"])


def downgrade() -> None:
    op.drop_table("patrol_passes")
