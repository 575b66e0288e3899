"""Webhook events of cameras and deadlines: when a camera's stream was found down (``cameras.down_since``)
and when a dispatched case was reported past its deadline (``case_assignments.overdue_at``).

Revision ID: 0013_events
Revises: 0012_facade
Create Date: 2025-06-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_events"
down_revision = "0012_facade"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cameras", sa.Column("down_since", sa.DateTime(), nullable=True))
    op.add_column("case_assignments", sa.Column("overdue_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_assignments") as batch:
        batch.drop_column("overdue_at")
    with op.batch_alter_table("cameras") as batch:
        batch.drop_column("down_since")
