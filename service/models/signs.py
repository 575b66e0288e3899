"""The outdoor-ad register (户外广告设施台账): one entry per physical sign, and the requests that edit it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import model_validator
from sqlmodel import Field, SQLModel

from service.inputs import CleanInput, RowId, Text
from service.models.base import EnumText, UTCDateTime, utcnow


class SignStatus(StrEnum):
    unverified = "unverified"  # seen, nobody has checked it yet
    approved = "approved"  # it has a permit (``permit_number``, until ``permit_expiry``)
    violation = "violation"  # a reviewer found it illegal
    removed = "removed"  # it is gone


class Facade(StrEnum):
    """The side of the street a sign stands on, seen in the patrol's direction of travel."""

    left = "left"
    right = "right"


class SignBase(SQLModel):
    """One physical sign as the patrols saw it.

    ``kind`` is the detector label (``shop_sign``, ``projecting_sign``, …); ``lat``/``lon`` the inverse-variance
    mean of its sightings' fixes and ``position_sigma_m`` its standard error in metres (None without GPS: then
    ``source`` names the one video or camera it was seen in). ``text`` is the most confident reading of it,
    ``crop`` (an evidence-store key) its best view. ``new``: it appeared where an earlier patrol pass saw none.
    ``facade``: the side of the direction of travel it stands on, as its best view with a side showed it (None:
    no sighting told, e.g. a fixed camera's, or one posted without the camera's mount and frame width).
    """

    kind: str = Field(max_length=128, sa_type=sa.String(128))
    status: SignStatus = Field(default=SignStatus.unverified, index=True, sa_type=EnumText(SignStatus))
    lat: float | None = None
    lon: float | None = None
    position_sigma_m: float | None = None
    source: str | None = Field(default=None, max_length=200, sa_type=sa.String(200))
    text: str | None = Field(default=None, max_length=200, sa_type=sa.String(200))
    text_confidence: float | None = None
    facade: Facade | None = Field(default=None, sa_type=EnumText(Facade, 8))
    hotspot_id: int | None = Field(default=None, foreign_key="hotspots.id", index=True, ondelete="SET NULL")
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime, index=True)
    sighting_count: int = 0
    new: bool = False
    permit_number: str | None = Field(default=None, max_length=64, sa_type=sa.String(64))
    permit_expiry: date | None = None
    note: str | None = Field(default=None, max_length=1000, sa_type=sa.String(1000))


class Sign(SignBase, table=True):
    """``signature`` is the encoded appearance signature of the best view (``vision.appearance``), and
    ``best_score`` how good that view is (confidence times the square root of the box area in pixels)."""

    __tablename__ = "signs"
    __table_args__ = (sa.Index("ix_signs_kind_lat", "kind", "lat"),)

    id: int | None = Field(default=None, primary_key=True)
    signature: str | None = Field(default=None, max_length=600, sa_type=sa.String(600))
    crop: str | None = Field(default=None, max_length=500, sa_type=sa.String(500))
    best_score: float = 0.0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SignPublic(SignBase):
    id: int
    crop_url: str | None
    hotspot_name: str | None = None


class SignsPublic(SQLModel):
    items: list[SignPublic]
    total: int


class SightingPublic(SQLModel):
    """One sighting of a sign: an observation's fields the register shows."""

    id: int
    source: str
    track_id: str
    label: str
    t_best: float
    bbox: list[float]
    seen_at: datetime
    lat: float | None
    lon: float | None
    text: str | None
    text_confidence: float | None
    facade: Facade | None
    case_id: int | None
    crop_url: str | None


class SignDetail(SignPublic):
    observations: list[SightingPublic]


class SignUpdate(CleanInput):
    """``PATCH /api/signs/{id}``: the fields given change. ``approved`` needs a permit number (given here or
    already on the entry)."""

    status: SignStatus | None = None
    permit_number: Text | None = Field(default=None, min_length=1, max_length=64)
    permit_expiry: date | None = None
    text: Text | None = Field(default=None, max_length=200)
    note: Text | None = Field(default=None, max_length=1000)


class MergeRequest(CleanInput):
    """``POST /api/signs/{id}/merge``: the entry whose sightings take in this one's."""

    into: RowId


class SplitRequest(CleanInput):
    """``POST /api/signs/{id}/split``: sightings of this entry that are another sign (not all of them)."""

    observation_ids: list[RowId] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _distinct(self) -> SplitRequest:
        if len(set(self.observation_ids)) != len(self.observation_ids):
            raise ValueError("observation_ids repeat")
        return self
