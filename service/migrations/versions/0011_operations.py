"""Campaign operations: units (brigades, outside departments), users' units, case assignments with
deadlines and escalation, disposals and verifications.

Revision ID: 0011_operations
Revises: 0009_review
Create Date: 2025-06-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_operations"
down_revision = "0009_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("hotspots", sa.JSON(), nullable=False),
        sa.Column("territory", sa.JSON(), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("head_user_id", sa.Integer(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_units_key", "units", ["key"], unique=True)
    op.add_column("users", sa.Column("unit_id", sa.Integer(), nullable=True))  # units are disabled, never deleted
    op.create_index("ix_users_unit_id", "users", ["unit_id"])
    op.create_table(
        "case_assignments",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("escalate_at", sa.DateTime(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("escalated_to", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_index("ix_case_assignments_unit_id", "case_assignments", ["unit_id"])
    op.create_index("ix_case_assignments_due_at", "case_assignments", ["due_at"])
    op.create_index("ix_case_assignments_escalate_at", "case_assignments", ["escalate_at"])
    op.create_table(
        "disposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fine_yuan", sa.Float(), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("photo", sa.String(length=80), nullable=True),
    )
    op.create_index("ix_disposals_case_id", "disposals", ["case_id"])
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("photo", sa.String(length=80), nullable=True),
        sa.Column(
            "patrol_pass_id", sa.Integer(), sa.ForeignKey("patrol_passes.id", ondelete="SET NULL"), nullable=True
        ),
    )
    op.create_index("ix_verifications_case_id", "verifications", ["case_id"])


def downgrade() -> None:
    op.drop_table("verifications")
    op.drop_table("disposals")
    op.drop_table("case_assignments")
    op.drop_index("ix_users_unit_id", "users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("unit_id")
    op.drop_index("ix_units_key", "units")
    op.drop_table("units")
