"""The outdoor-ad register: one entry per physical sign; observations keep the text read on a sign, its
appearance signature and their register entry.

Revision ID: 0010_register
Revises: 0011_operations
Create Date: 2025-06-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_register"
down_revision = "0011_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("position_sigma_m", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("text", sa.String(length=200), nullable=True),
        sa.Column("text_confidence", sa.Float(), nullable=True),
        sa.Column("hotspot_id", sa.Integer(), sa.ForeignKey("hotspots.id", ondelete="SET NULL"), nullable=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("sighting_count", sa.Integer(), nullable=False),
        sa.Column("new", sa.Boolean(), nullable=False),
        sa.Column("permit_number", sa.String(length=64), nullable=True),
        sa.Column("permit_expiry", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("signature", sa.String(length=600), nullable=True),
        sa.Column("crop", sa.String(length=500), nullable=True),
        sa.Column("best_score", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_signs_status", "signs", ["status"])
    op.create_index("ix_signs_hotspot_id", "signs", ["hotspot_id"])
    op.create_index("ix_signs_last_seen", "signs", ["last_seen"])
    op.create_index("ix_signs_kind_lat", "signs", ["kind", "lat"])
    with op.batch_alter_table("observations") as batch:
        batch.add_column(sa.Column("text", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("text_confidence", sa.Float(), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(length=600), nullable=True))
        batch.add_column(sa.Column("sign_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_observations_sign_id_signs", "signs", ["sign_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_observations_sign_id", ["sign_id"])


def downgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.drop_index("ix_observations_sign_id")
        batch.drop_constraint("fk_observations_sign_id_signs", type_="foreignkey")
        for column in ("sign_id", "signature", "text_confidence", "text"):
            batch.drop_column(column)
    op.drop_table("signs")
