"""Database tables (SQLModel) and the API schemas built on them: ``XBase`` / ``XCreate`` / ``X`` / ``XPublic``.

Times are timezone-aware UTC in Python and naive UTC in the database; distances are metres;
``lat``/``lon`` are WGS-84 degrees.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import ConfigDict, ValidationError, field_validator, model_validator
from sqlmodel import Field, SQLModel

from service.geometry import validate_geometry


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes stored as naive UTC, so SQLite and PostgreSQL read back the same value."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class EnumText(sa.types.TypeDecorator):
    """A ``StrEnum`` stored as its plain string value (no database enum type to migrate)."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 16) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(timezone.utc)


def validation_message(exc: ValidationError) -> str:
    """One line naming each failing field and why."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


_NULLABLE_JSON = sa.JSON(none_as_null=True)  # Python None is SQL NULL, not JSON 'null'


class Role(StrEnum):
    admin = "admin"
    reviewer = "reviewer"
    uploader = "uploader"


class HotspotKind(StrEnum):
    road_market = "road_market"
    strict_street = "strict_street"
    school_zone = "school_zone"
    public_place = "public_place"
    vending_zone = "vending_zone"


DEFAULT_BUFFER_M: dict[HotspotKind, float] = {HotspotKind.strict_street: 20.0}
"""``buffer_m`` when an imported hotspot gives none: a strict street counts 20 m either side of its line."""
_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


class CaseStatus(StrEnum):
    new = "new"
    confirmed = "confirmed"
    dispatched = "dispatched"
    resolved = "resolved"
    closed = "closed"
    rejected = "rejected"
    reopened = "reopened"


class CaseAction(StrEnum):
    """What a ``CaseEvent`` records."""

    created = "created"
    recurrence = "recurrence"
    review = "review"
    status = "status"
    recategorize = "recategorize"
    hotspot = "hotspot"


# --- users and tokens -------------------------------------------------------------------------


class UserBase(SQLModel):
    name: str = Field(max_length=64, unique=True, index=True, sa_type=sa.String(64))
    role: Role = Field(sa_type=EnumText(Role))


class UserCreate(UserBase):
    password: str | None = Field(default=None, min_length=8, max_length=256)


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, sa_type=sa.String(256))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserPublic(UserBase):
    id: int


class ApiToken(SQLModel, table=True):
    """An API token, kept only as its SHA-256 hex digest."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(unique=True, index=True, sa_type=sa.String(64))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- hotspots ---------------------------------------------------------------------------------


class HotspotBase(SQLModel):
    """A place the action plan names; ``geometry`` is a GeoJSON geometry dict or None (unlocated).

    ``buffer_m`` widens the geometry (half-width of a strict street, radius around a point);
    ``active_hours`` (school zones) are local "HH:MM-HH:MM" ranges; ``batch`` and ``start_date``
    are the road-market campaign batch (1 or 2) and its start.
    """

    key: str = Field(max_length=64, unique=True, index=True, sa_type=sa.String(64))
    name: str = Field(max_length=200, sa_type=sa.String(200))
    kind: HotspotKind = Field(sa_type=EnumText(HotspotKind, 32))
    batch: int | None = None
    start_date: date | None = None
    geometry: dict[str, Any] | None = Field(default=None, sa_type=_NULLABLE_JSON)
    buffer_m: float = Field(default=0.0, ge=0)
    active_hours: list[str] | None = Field(default=None, sa_type=_NULLABLE_JSON)
    note: str | None = Field(default=None, max_length=1000, sa_type=sa.String(1000))

    def check_shape(self) -> None:
        """Raise ValueError when geometry, buffer, batch or hours do not suit the kind."""
        kind, geom = self.kind, self.geometry
        if (kind == HotspotKind.road_market) != (self.batch is not None):
            raise ValueError("a road_market needs batch 1 or 2; other kinds have none")
        if self.batch is not None and self.batch not in (1, 2):
            raise ValueError("batch must be 1 or 2")
        if kind == HotspotKind.strict_street and geom and geom["type"] == "Point":
            raise ValueError("a strict_street is a LineString (or Polygon), not a Point")
        if kind == HotspotKind.vending_zone and geom and geom["type"] != "Polygon" and not self.buffer_m:
            raise ValueError("a vending_zone Point or LineString needs buffer_m > 0")
        if self.active_hours is not None and kind != HotspotKind.school_zone:
            raise ValueError("only a school_zone has active_hours")


class HotspotCreate(HotspotBase):
    """One imported hotspot: a GeoJSON feature's properties plus its geometry (validated)."""

    model_config = ConfigDict(extra="ignore")

    buffer_m: float | None = Field(default=None, ge=0, le=5000)

    @field_validator("geometry", mode="before")
    @classmethod
    def _geometry(cls, value: Any) -> dict[str, Any] | None:
        return None if value is None else validate_geometry(value)

    @field_validator("active_hours")
    @classmethod
    def _hours(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if not _HOURS.match(item):
                raise ValueError(f"active hours {item!r}: expected HH:MM-HH:MM")
        return value

    @model_validator(mode="after")
    def _shape(self) -> HotspotCreate:
        if self.buffer_m is None:
            self.buffer_m = DEFAULT_BUFFER_M.get(self.kind, 0.0)
        self.check_shape()
        return self


class Hotspot(HotspotBase, table=True):
    __tablename__ = "hotspots"

    id: int | None = Field(default=None, primary_key=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LocateRequest(SQLModel):
    """Exactly one of: ``lat``+``lon`` (a point), ``geometry`` (GeoJSON), ``case_id`` (the case's position)."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    geometry: dict[str, Any] | None = None
    case_id: int | None = None
    buffer_m: float | None = Field(default=None, ge=0, le=5000)

    @model_validator(mode="after")
    def _one_source(self) -> LocateRequest:
        given = [self.lat is not None or self.lon is not None, self.geometry is not None, self.case_id is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of lat+lon, geometry, case_id")
        if given[0] and (self.lat is None or self.lon is None):
            raise ValueError("lat and lon go together")
        return self


# --- cases ------------------------------------------------------------------------------------


class CaseBase(SQLModel):
    """One real-world violation: observations merged in space, with its nearest hotspot.

    ``lat``/``lon`` are the mean of its observations (None for a case of positionless
    observations, which then names its ``source``).
    """

    category: str = Field(max_length=64, sa_type=sa.String(64))
    status: CaseStatus = Field(default=CaseStatus.new, index=True, sa_type=EnumText(CaseStatus))
    lat: float | None = None
    lon: float | None = None
    source: str | None = Field(default=None, max_length=200, index=True, sa_type=sa.String(200))
    hotspot_id: int | None = Field(default=None, foreign_key="hotspots.id", index=True, ondelete="SET NULL")
    hotspot_distance_m: float | None = None
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime, index=True)
    observation_count: int = 0
    recurrence_count: int = 0
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Case(CaseBase, table=True):
    """``cell_x``/``cell_y`` index the case on the dedup grid (see ``service.cases.grid_cell``)."""

    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_category_cell", "category", "cell_x", "cell_y"),)

    id: int | None = Field(default=None, primary_key=True)
    cell_x: int | None = None
    cell_y: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CasePublic(CaseBase):
    id: int
    hotspot_name: str | None = None
    located: bool


class CasesPublic(SQLModel):
    items: list[CasePublic]
    total: int


class CaseEvent(SQLModel, table=True):
    """The audit trail: one row per change of a case, with who (None: the system) and when."""

    __tablename__ = "case_events"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True, ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    action: CaseAction = Field(sa_type=EnumText(CaseAction))
    from_status: CaseStatus | None = Field(default=None, sa_type=EnumText(CaseStatus))
    to_status: CaseStatus | None = Field(default=None, sa_type=EnumText(CaseStatus))
    note: str | None = Field(default=None, max_length=2000, sa_type=sa.String(2000))
    detail: dict[str, Any] | None = Field(default=None, sa_type=_NULLABLE_JSON)


class CaseEventPublic(SQLModel):
    at: datetime
    user: str | None
    action: CaseAction
    from_status: CaseStatus | None
    to_status: CaseStatus | None
    note: str | None
    detail: dict[str, Any] | None


class ReviewRequest(SQLModel):
    """``recategorize`` needs ``category``; ``confirm``/``reject`` may carry one too."""

    decision: Literal["confirm", "reject", "recategorize"]
    category: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _category_for_recategorize(self) -> ReviewRequest:
        if self.decision == "recategorize" and not self.category:
            raise ValueError("recategorize needs a category")
        return self


class StatusRequest(SQLModel):
    status: CaseStatus
    note: str | None = Field(default=None, max_length=2000)


# --- observations -----------------------------------------------------------------------------


class ObservationBase(SQLModel):
    """The observation contract (see ``vision.observe.Observation``): times t_* in seconds from the
    video start, ``bbox`` [x1, y1, x2, y2] pixels, ``crop`` a relative path."""

    track_id: str = Field(min_length=1, max_length=128, sa_type=sa.String(128))
    category: str = Field(min_length=1, max_length=64, sa_type=sa.String(64))
    label: str = Field(max_length=128, sa_type=sa.String(128))
    confidence: float = Field(ge=0, le=1)
    t_first: float = Field(ge=0)
    t_last: float = Field(ge=0)
    t_best: float = Field(ge=0)
    observed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bbox: list[float] = Field(sa_type=sa.JSON)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    crop: str | None = Field(default=None, max_length=500, sa_type=sa.String(500))


class ObservationCreate(ObservationBase):
    """One item of ``POST /api/observations``, validated on its own so one bad item spoils nothing else."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    @field_validator("observed_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

    @field_validator("bbox")
    @classmethod
    def _box(cls, value: list[float]) -> list[float]:
        if len(value) != 4:
            raise ValueError("bbox must be [x1, y1, x2, y2]")
        if value[2] < value[0] or value[3] < value[1]:
            raise ValueError("bbox needs x2 >= x1 and y2 >= y1")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ObservationCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if not self.t_first <= self.t_best <= self.t_last:
            raise ValueError("times must satisfy t_first <= t_best <= t_last")
        return self


class Observation(ObservationBase, table=True):
    """A stored observation; ``seen_at`` is ``observed_at`` or, without it, ``received_at``.

    ``case_id`` is None when a vending zone (``zone_hotspot_id``) made it no violation.
    """

    __tablename__ = "observations"
    __table_args__ = (sa.UniqueConstraint("source", "track_id", name="uq_observations_source_track"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200, sa_type=sa.String(200))
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True, ondelete="CASCADE")
    zone_hotspot_id: int | None = Field(default=None, foreign_key="hotspots.id", ondelete="SET NULL")
    received_at: datetime = Field(sa_type=UTCDateTime)
    seen_at: datetime = Field(sa_type=UTCDateTime)
    uploaded_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class ObservationPublic(ObservationBase):
    id: int
    source: str
    case_id: int | None
    seen_at: datetime
    received_at: datetime
    crop_url: str | None


class CaseDetail(CasePublic):
    observations: list[ObservationPublic]
    events: list[CaseEventPublic]


class IngestRequest(SQLModel):
    """``observations`` items are checked one by one (see ``ObservationCreate``)."""

    source: str = Field(min_length=1, max_length=200)
    observations: list[Any]


class IngestResult(SQLModel):
    """``outcome``: created | joined | recurrence | duplicate | vending_zone (None on error)."""

    track_id: str | None
    case_id: int | None
    error: str | None
    outcome: str | None = None


class IngestResponse(SQLModel):
    accepted: int
    results: list[IngestResult]
