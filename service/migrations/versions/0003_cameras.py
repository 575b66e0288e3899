"""Fixed street cameras: stream URL, position and heading, sample rate, schedule, image regions, dwell times.

Revision ID: 0003_cameras
Revises: 0001_initial
Create Date: 2025-05-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_cameras"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("heading_deg", sa.Float(), nullable=True),
        sa.Column("offset_m", sa.Float(), nullable=False),
        sa.Column("fps", sa.Float(), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=True),
        sa.Column("regions", sa.JSON(), nullable=True),
        sa.Column("ignore_regions", sa.JSON(), nullable=True),
        sa.Column("dwell_s", sa.JSON(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cameras_name", "cameras", ["name"], unique=True)


def downgrade() -> None:
    op.drop_table("cameras")
