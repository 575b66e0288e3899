"""Evidence chain: the hash-chained record of observations and decisions, and where each
observation came from (detector weights, source video).

Revision ID: 0008_evidence
Revises: 0007_integrations
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_evidence"
down_revision = "0007_integrations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_chain",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_evidence_chain_case_id", "evidence_chain", ["case_id"])
    op.create_index("ix_evidence_chain_kind_ref", "evidence_chain", ["kind", "ref_id"])
    op.add_column("observations", sa.Column("model", sa.String(length=200), nullable=True))
    op.add_column("observations", sa.Column("model_sha256", sa.String(length=64), nullable=True))
    op.add_column("observations", sa.Column("source_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("source_sha256")
        batch.drop_column("model_sha256")
        batch.drop_column("model")
    op.drop_table("evidence_chain")
