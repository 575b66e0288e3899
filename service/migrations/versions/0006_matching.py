"""Matching that knows GPS is noisy: each observation's fix accuracy, each case's position error.

Data: a located case gets the standard error its observations would have given with the default
fix accuracy (4 m over the square root of their count).

Revision ID: 0006_matching
Revises: 0005_patrols
Create Date: 2025-05-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_matching"
down_revision = "0005_patrols"
branch_labels = None
depends_on = None

DEFAULT_SIGMA_M = 4.0


def upgrade() -> None:
    op.add_column("observations", sa.Column("gps_accuracy_m", sa.Float(), nullable=True))
    op.add_column("cases", sa.Column("position_sigma_m", sa.Float(), nullable=True))
    cases = sa.table(
        "cases", sa.column("id"), sa.column("lat"), sa.column("observation_count"), sa.column("position_sigma_m")
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(cases.c.id, cases.c.observation_count).where(cases.c.lat.is_not(None))).all()
    for case_id, count in rows:
        sigma = DEFAULT_SIGMA_M / max(count or 1, 1) ** 0.5
        bind.execute(cases.update().where(cases.c.id == case_id).values(position_sigma_m=sigma))


def downgrade() -> None:
    op.drop_column("cases", "position_sigma_m")
    op.drop_column("observations", "gps_accuracy_m")
