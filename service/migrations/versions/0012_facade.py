"""The side of the street a register entry (and each sighting of a sign) stands on, in the direction of
travel: ``left`` or ``right`` (null where no view told).

Revision ID: 0012_facade
Revises: 0010_register
Create Date: 2025-06-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_facade"
down_revision = "0010_register"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("signs", "observations"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("facade", sa.String(length=8), nullable=True))


def downgrade() -> None:
    for table in ("signs", "observations"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("facade")
