"""Security: disabled users, named tokens with expiry and revocation, server-side web sessions,
case row versions; evidence references become store keys.

Data: an observation's ``crop``/``keyframe`` that is not an evidence-store key (the service used to
serve any path under its data folder) is copied into the store when it names a JPEG or PNG image
inside the old crops folder (``DATA_DIR/crops``) or the store itself, and cleared otherwise; each
change is logged.

Revision ID: 0004_security
Revises: 0002_batches, 0003_cameras
Create Date: 2025-05-26
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

from service.evidence import EvidenceError, evidence_store, is_key, store_bytes
from service.settings import Settings

revision = "0004_security"
down_revision = ("0002_batches", "0003_cameras")
branch_labels = None
depends_on = None

log = logging.getLogger("streetscan.migrations")


def upgrade() -> None:
    op.add_column("users", sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("api_tokens", sa.Column("name", sa.String(length=100), nullable=True))
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(), nullable=True))
    op.add_column("api_tokens", sa.Column("revoked_at", sa.DateTime(), nullable=True))
    op.add_column("cases", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    migrate_evidence(op.get_bind(), context.config.attributes.get("settings") or Settings())


def downgrade() -> None:
    op.drop_table("web_sessions")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("api_tokens") as batch:
        for column in ("revoked_at", "expires_at", "name"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled")


def migrate_evidence(bind: sa.Connection, settings: Settings) -> None:
    """Turn every image reference that is not a store key into one, or clear it (see the module)."""
    observations = sa.table("observations", sa.column("id"), sa.column("crop"), sa.column("keyframe"))
    rows = bind.execute(
        sa.select(observations.c.id, observations.c.crop, observations.c.keyframe).where(
            sa.or_(observations.c.crop.is_not(None), observations.c.keyframe.is_not(None))
        )
    ).all()
    for obs_id, crop, keyframe in rows:
        changes = {
            field: rescued(settings, reference)
            for field, reference in (("crop", crop), ("keyframe", keyframe))
            if reference is not None and not is_key(reference)
        }
        for field, key in changes.items():
            before = crop if field == "crop" else keyframe
            if key is None:
                log.warning("observation %s: %s %r is no image of the crops folder: cleared", obs_id, field, before)
            else:
                log.info("observation %s: %s %r copied into the evidence store as %s", obs_id, field, before, key)
        if changes:
            bind.execute(observations.update().where(observations.c.id == obs_id).values(**changes))


def rescued(settings: Settings, reference: str) -> str | None:
    """The store key of the image ``reference`` named the old way (a path under the evidence or the
    data folder), when it is a JPEG or PNG inside the old crops folder or the store; else None."""
    allowed = [(settings.data_dir / "crops").resolve(), settings.evidence_dir.resolve()]
    for root in (settings.evidence_dir, settings.data_dir):
        try:
            path = (Path(root) / reference).resolve()
        except (OSError, ValueError):
            continue
        if any(path.is_relative_to(folder) for folder in allowed) and path.is_file():
            try:
                return store_bytes(evidence_store(settings), path.read_bytes())
            except (EvidenceError, OSError):
                return None
    return None
