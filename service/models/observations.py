"""Observations: the stored sightings, the ``POST /api/observations`` items and what ingest answers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import ConfigDict, field_validator, model_validator
from sqlmodel import Field, SQLModel

from service.evidence import is_key
from service.inputs import CleanInput, Text, UtcTime
from service.models.base import EnumText, UTCDateTime
from service.models.signs import Facade
from vision import Observation

MAX_SECONDS = 1e6
"""The largest t_first/t_last/t_best accepted (about 11 days of video)."""
MAX_PIXEL = 100_000
"""The largest bbox coordinate accepted, in pixels."""


class ObservationBase(SQLModel):
    """The observation contract (see ``vision.Observation``): times t_* in seconds from the
    video start, ``bbox`` [x1, y1, x2, y2] pixels, ``gps_accuracy_m`` the fix's standard error in metres
    (None: unknown, the ``GPS_SIGMA_M`` setting applies), ``crop`` and ``keyframe`` (the whole best frame)
    evidence-store keys (see ``service.evidence``). Signs only (see ``vision.Observation``): ``text`` read on
    the sign, its ``text_confidence`` 0..1, and the encoded appearance ``signature``."""

    track_id: str = Field(min_length=1, max_length=128, sa_type=sa.String(128))
    category: str = Field(min_length=1, max_length=64, sa_type=sa.String(64))
    label: str = Field(max_length=128, sa_type=sa.String(128))
    confidence: float = Field(ge=0, le=1)
    t_first: float = Field(ge=0, le=MAX_SECONDS)
    t_last: float = Field(ge=0, le=MAX_SECONDS)
    t_best: float = Field(ge=0, le=MAX_SECONDS)
    observed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bbox: list[float] = Field(sa_type=sa.JSON)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    gps_accuracy_m: float | None = Field(default=None, gt=0, le=10_000)
    crop: str | None = Field(default=None, max_length=500, sa_type=sa.String(500))
    keyframe: str | None = Field(default=None, max_length=500, sa_type=sa.String(500))
    text: str | None = Field(default=None, max_length=200, sa_type=sa.String(200))
    text_confidence: float | None = Field(default=None, ge=0, le=1)
    signature: str | None = Field(default=None, max_length=600, sa_type=sa.String(600))


class ObservationCreate(CleanInput, ObservationBase):
    """One item of ``POST /api/observations``, validated on its own so one bad item spoils nothing
    else. ``crop``/``keyframe`` are keys ``POST /api/evidence`` returned, or null."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)  # type: ignore[assignment]  # a SQLModelConfig

    observed_at: UtcTime | None = None

    @field_validator("bbox")
    @classmethod
    def _box(cls, value: list[float]) -> list[float]:
        if len(value) != 4:
            raise ValueError("bbox must be [x1, y1, x2, y2]")
        if not all(0 <= v <= MAX_PIXEL for v in value):
            raise ValueError(f"bbox coordinates must be pixels from 0 to {MAX_PIXEL}")
        if value[2] < value[0] or value[3] < value[1]:
            raise ValueError("bbox needs x2 >= x1 and y2 >= y1")
        return value

    @field_validator("crop", "keyframe")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and not is_key(value):
            raise ValueError(
                "not an evidence key (ab/<sha256>.jpg or .png): send the image to POST /api/evidence "
                "and use the key it returns"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ObservationCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if not self.t_first <= self.t_best <= self.t_last:
            raise ValueError("times must satisfy t_first <= t_best <= t_last")
        return self

    def observation(self) -> Observation:
        """The item as the one observation type ingest takes (``observed_at`` ISO-8601 UTC)."""
        values = self.model_dump(include=set(ObservationBase.model_fields))
        values["observed_at"] = self.observed_at.isoformat() if self.observed_at else None
        return Observation(**values)


class ObservationRow(ObservationBase, table=True):
    """A stored observation; ``seen_at`` is ``observed_at`` or, without it, ``received_at``.

    ``case_id`` is None when a vending zone (``zone_hotspot_id``) made it no violation, or when it is a
    sign (``sign_id``: its register entry) that no sign rule made a case of; ``rejected``
    when a reviewer said it is not the case's object: it stays with the case but no longer counts,
    and the training export takes it as a hard negative. ``model`` and ``model_sha256`` name the
    detector weights that found it, ``source_sha256`` the video it came from (each None where the
    service does not know it: observations posted by a client). ``facade``: for a sign, the side of the
    direction of travel it stood on (``service.signs.facade_side``), None where the view did not tell.
    """

    __tablename__ = "observations"
    __table_args__ = (sa.UniqueConstraint("source", "track_id", name="uq_observations_source_track"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200, sa_type=sa.String(200))
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True, ondelete="CASCADE")
    zone_hotspot_id: int | None = Field(default=None, foreign_key="hotspots.id", ondelete="SET NULL")
    sign_id: int | None = Field(default=None, foreign_key="signs.id", index=True, ondelete="SET NULL")
    received_at: datetime = Field(sa_type=UTCDateTime)
    seen_at: datetime = Field(sa_type=UTCDateTime)
    uploaded_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    model: str | None = Field(default=None, max_length=200, sa_type=sa.String(200))
    model_sha256: str | None = Field(default=None, sa_type=sa.String(64))
    source_sha256: str | None = Field(default=None, sa_type=sa.String(64))
    rejected: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    facade: Facade | None = Field(default=None, sa_type=EnumText(Facade, 8))


class ObservationPublic(ObservationBase):
    id: int
    source: str
    case_id: int | None
    sign_id: int | None = None
    seen_at: datetime
    received_at: datetime
    rejected: bool = False
    crop_url: str | None
    keyframe_url: str | None


class EvidencePublic(SQLModel):
    """A stored evidence image: its store ``key`` and ``size`` in bytes."""

    key: str
    size: int


class IngestRequest(SQLModel):
    """``observations`` items are checked one by one (see ``ObservationCreate``). ``mount`` (where the camera
    faced: forward, left or right; None: forward) and ``frame_width`` (pixels of the frames the boxes are
    in) tell the side of the street each sign stands on; without them a forward camera's signs have none."""

    source: Text = Field(min_length=1, max_length=200)
    observations: list[Any]
    mount: Literal["forward", "left", "right"] | None = None
    frame_width: int | None = Field(default=None, ge=1, le=MAX_PIXEL)


class Outcome(StrEnum):
    """What ingest did with one observation."""

    created = "created"  # it opened a new case
    joined = "joined"  # it joined an open case (or late evidence of a resolved one)
    recurrence = "recurrence"  # it reopened a recently resolved case (回头看)
    duplicate = "duplicate"  # its source sent it before: nothing changed
    vending_zone = "vending_zone"  # it stands in a vending point of its category: no violation, no case
    registered = "registered"  # a sign kept in the register (``sign_id``) that no sign rule made a case of


class IngestResult(SQLModel):
    """``outcome``: what happened to the item (None on error); ``sign_id``: the register entry of a sign."""

    track_id: str | None
    case_id: int | None
    sign_id: int | None = None
    error: str | None
    outcome: Outcome | None = None


class IngestResponse(SQLModel):
    accepted: int
    results: list[IngestResult]
