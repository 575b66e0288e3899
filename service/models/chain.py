"""The evidence chain: an append-only list of records (observations, case decisions, evidence
deleted by retention), each entry carrying the hash of the one before it (see ``service.chain``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models.base import EnumText, UTCDateTime


class EntryKind(StrEnum):
    """What a chain entry records: an ``observations`` row, a ``case_events`` row, or a store file
    deleted by retention (``deletion``, no row)."""

    observation = "observation"
    case_event = "case_event"
    deletion = "deletion"


class ChainEntry(SQLModel, table=True):
    """One entry at position ``seq`` (1, 2, ...): ``record`` is the canonical JSON of what it records
    (``ref_id`` names the row), ``prev_hash`` the ``hash`` of entry ``seq - 1`` (64 zeros for the
    first) and ``hash`` the SHA-256 (hex) over all of it (``service.chain.entry_hash``)."""

    __tablename__ = "evidence_chain"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: EntryKind = Field(sa_type=EnumText(EntryKind))
    ref_id: int | None = Field(default=None)
    case_id: int | None = Field(default=None, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    record: str = Field(sa_type=sa.Text)
    prev_hash: str = Field(sa_type=sa.String(64))
    hash: str = Field(sa_type=sa.String(64))

    __table_args__ = (sa.Index("ix_evidence_chain_kind_ref", "kind", "ref_id"),)
