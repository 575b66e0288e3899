"""Database tables (SQLModel) and the API schemas built on them: ``XBase`` / ``XCreate`` / ``X`` / ``XPublic``.

Times are timezone-aware UTC in Python and naive UTC in the database; distances are metres;
``lat``/``lon`` are WGS-84 degrees.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    ConfigDict,
    NonNegativeFloat,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from service.evidence import is_key
from service.geometry import polygon_problem, validate_geometry
from service.inputs import MAX_ID, CleanInput, RowId, Text, UtcTime
from vision import LIVE_SCHEMES, StreamState


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


def check_hours(value: list[str]) -> list[str]:
    """Local "HH:MM-HH:MM" ranges (one may pass midnight); raises ValueError naming a bad one."""
    for item in value:
        if not _HOURS.match(item):
            raise ValueError(f"active hours {item!r}: expected HH:MM-HH:MM")
    return value


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


Password = Annotated[str, Field(min_length=8, max_length=256)]
"""A web login password."""


class UserCreate(CleanInput, UserBase):
    password: Password | None = None


class User(UserBase, table=True):
    """``disabled``: the user can neither log in nor use a token (sessions end when it is set)."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, sa_type=sa.String(256))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    disabled: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class UserPublic(UserBase):
    id: int
    disabled: bool


class ApiToken(SQLModel, table=True):
    """An API token, kept only as its SHA-256 hex digest; it stops working at ``expires_at`` or
    once ``revoked_at`` is set (the row stays, for the record)."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(unique=True, index=True, sa_type=sa.String(64))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    name: str | None = Field(default=None, max_length=100, sa_type=sa.String(100))
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSessionRow(SQLModel, table=True):
    """A logged-in web session, kept server-side under the SHA-256 hex digest of its random id
    (the cookie carries the id): deleting the row ends the session wherever its cookie is."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, sa_type=sa.String(64))
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


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


class HotspotCreate(CleanInput, HotspotBase):
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
        return None if value is None else check_hours(value)

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


class LocateRequest(CleanInput):
    """Exactly one of: ``lat``+``lon`` (a point), ``geometry`` (GeoJSON), ``case_id`` (the case's position)."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    geometry: dict[str, Any] | None = None
    case_id: RowId | None = None
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
    """``cell_x``/``cell_y`` index the case on the dedup grid (see ``service.cases.grid_cell``).

    ``version`` counts the changes of the row: every update is made only if the row still has the
    version it was read with (else SQLAlchemy raises ``StaleDataError``), so two writers never
    silently overwrite each other."""

    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_category_cell", "category", "cell_x", "cell_y"),)

    id: int | None = Field(default=None, primary_key=True)
    cell_x: int | None = None
    cell_y: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})

    @declared_attr
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - a declared attribute takes the class
        return {"version_id_col": cls.__table__.c.version}


class CasePublic(CaseBase):
    """``version``: send it back (or ``expected_status``) with a decision to refuse it if the case changed."""

    id: int
    version: int
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


class Expectation(CleanInput):
    """What the client last saw of the case: a decision on a case whose status (or version) has
    changed since is refused with 409 instead of overwriting the other change."""

    expected_status: CaseStatus | None = None
    version: int | None = Field(default=None, ge=1, le=MAX_ID)


class Decision(CleanInput):
    """A reviewer's decision: ``recategorize`` needs ``category``; ``confirm``/``reject`` may carry one too."""

    decision: Literal["confirm", "reject", "recategorize"]
    category: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _category_for_recategorize(self) -> Decision:
        if self.decision == "recategorize" and not self.category:
            raise ValueError("recategorize needs a category")
        return self


class ReviewRequest(Expectation, Decision):
    """``POST /api/cases/{id}/review``: a decision and, optionally, what the client last saw."""


class StatusRequest(Expectation):
    status: CaseStatus
    note: str | None = Field(default=None, max_length=2000)


# --- observations -----------------------------------------------------------------------------


MAX_SECONDS = 1e6
"""The largest t_first/t_last/t_best accepted (about 11 days of video)."""
MAX_PIXEL = 100_000
"""The largest bbox coordinate accepted, in pixels."""


class ObservationBase(SQLModel):
    """The observation contract (see ``vision.observe.Observation``): times t_* in seconds from the
    video start, ``bbox`` [x1, y1, x2, y2] pixels, ``crop`` and ``keyframe`` (the whole best frame)
    evidence-store keys (see ``service.evidence``)."""

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
    crop: str | None = Field(default=None, max_length=500, sa_type=sa.String(500))
    keyframe: str | None = Field(default=None, max_length=500, sa_type=sa.String(500))


class ObservationCreate(CleanInput, ObservationBase):
    """One item of ``POST /api/observations``, validated on its own so one bad item spoils nothing
    else. ``crop``/``keyframe`` are keys ``POST /api/evidence`` returned, or null."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

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
    keyframe_url: str | None


class EvidencePublic(SQLModel):
    """A stored evidence image: its store ``key`` and ``size`` in bytes."""

    key: str
    size: int


class CaseDetail(CasePublic):
    observations: list[ObservationPublic]
    events: list[CaseEventPublic]


class IngestRequest(SQLModel):
    """``observations`` items are checked one by one (see ``ObservationCreate``)."""

    source: Text = Field(min_length=1, max_length=200)
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


# --- batches and jobs -------------------------------------------------------------------------


class JobStatus(StrEnum):
    """Where a job (one video) or a whole batch stands."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class FileKind(StrEnum):
    video = "video"
    gps = "gps"


class FileStatus(StrEnum):
    """A batch file: a video's job status, ``attached`` (a GPS track in use) or ``rejected``."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    attached = "attached"
    rejected = "rejected"


class Job(SQLModel, table=True):
    """The processing of one distinct video (by SHA-256), whichever batches uploaded it.

    ``video`` and ``gps`` are file names in the upload folder (``video`` None once deleted);
    ``progress`` is 0..1; ``attempts`` counts runs started; ``duration_s`` is the video's length.
    """

    __tablename__ = "jobs"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(unique=True, index=True, sa_type=sa.String(64))
    name: str = Field(max_length=255, sa_type=sa.String(255))
    video: str | None = Field(default=None, max_length=255, sa_type=sa.String(255))
    gps: str | None = Field(default=None, max_length=255, sa_type=sa.String(255))
    duration_s: float | None = None
    status: JobStatus = Field(default=JobStatus.queued, index=True, sa_type=EnumText(JobStatus))
    progress: float = 0.0
    attempts: int = 0
    error: str | None = Field(default=None, max_length=2000, sa_type=sa.String(2000))
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def source(self) -> str:
        """The observation ``source`` of this video: stable for its content."""
        return f"video-{self.sha256[:16]}"


class Batch(SQLModel, table=True):
    """One upload request."""

    __tablename__ = "batches"

    id: int | None = Field(default=None, primary_key=True)
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BatchFile(SQLModel, table=True):
    """One uploaded file of a batch: ``error`` says why it was rejected; a video names its ``job``
    (``duplicate`` when an earlier upload made that job) and the GPS track matched to it."""

    __tablename__ = "batch_files"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batches.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255, sa_type=sa.String(255))
    kind: FileKind = Field(sa_type=EnumText(FileKind))
    size: int = Field(default=0, sa_type=sa.BigInteger)
    sha256: str | None = Field(default=None, sa_type=sa.String(64))
    job_id: int | None = Field(default=None, foreign_key="jobs.id", index=True, ondelete="SET NULL")
    duplicate: bool = False
    gps_name: str | None = Field(default=None, max_length=255, sa_type=sa.String(255))
    error: str | None = Field(default=None, max_length=2000, sa_type=sa.String(2000))


class BatchFilePublic(SQLModel):
    """One file's result: ``size`` in bytes; for a video, its job's ``progress`` (0..1),
    ``attempts``, ``observations`` stored and ``case_ids`` they joined."""

    name: str
    kind: FileKind
    status: FileStatus
    error: str | None
    size: int
    sha256: str | None
    job_id: int | None
    duplicate: bool
    gps: str | None
    progress: float
    attempts: int
    observations: int
    case_ids: list[int]


class BatchPublic(SQLModel):
    """A batch: ``status`` and ``progress`` (0..1) over its videos; ``case_ids`` all their cases."""

    id: int
    status: JobStatus
    progress: float
    created_at: datetime
    files: list[BatchFilePublic]
    observations: int
    case_ids: list[int]


class BatchesPublic(SQLModel):
    items: list[BatchPublic]
    total: int


# --- cameras ----------------------------------------------------------------------------------


class CameraTransport(StrEnum):
    """How RTSP packets travel: ``auto`` tries tcp, then udp."""

    auto = "auto"
    tcp = "tcp"
    udp = "udp"


def _camera_url(value: str) -> str:
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme and scheme not in LIVE_SCHEMES | {"file"}:
        raise ValueError(f"unsupported stream scheme {scheme!r}: use rtsp(s)://, http(s)://, or a video file path")
    return value


def _polygons(value: list[list[list[float]]]) -> list[list[list[float]]]:
    for polygon in value:
        if not 3 <= len(polygon) <= 100:
            raise ValueError("a polygon has 3 to 100 [x, y] points")
        if any(x < 0 or y < 0 for x, y in polygon):
            raise ValueError("polygon points are image pixels, >= 0")
        problem = polygon_problem([[*polygon, polygon[0]]], unit_m=1.0)
        if problem:
            raise ValueError(f"polygon {polygon}: {problem}")
    return value


CameraUrl = Annotated[str, AfterValidator(_camera_url)]
Hours = Annotated[list[str], AfterValidator(check_hours)]
Point = Annotated[list[float], Field(min_length=2, max_length=2)]
Polygons = Annotated[list[list[Point]], AfterValidator(_polygons)]
DwellSeconds = dict[str, NonNegativeFloat]


class CameraBase(SQLModel):
    """A fixed street camera.

    ``url``: rtsp(s)://, http(s)://, or a video file path or file:// URL (looped as if live, for
    testing). ``lat``/``lon``: where it stands; ``heading_deg``: where it looks (degrees clockwise from
    north); observations are placed ``offset_m`` metres along the heading. ``fps``: frames analysed
    per second. ``schedule``: local "HH:MM-HH:MM" ranges it runs in (None: always). ``regions``: polygons
    in image pixels where violations count (None: the whole frame); ``ignore_regions``: where they never
    do. ``dwell_s``: seconds an object must stay, per category, over the service's. ``enabled``: False
    keeps it registered but stopped.
    """

    name: str = Field(min_length=1, max_length=100, unique=True, index=True, sa_type=sa.String(100))
    url: CameraUrl = Field(min_length=1, max_length=1000, sa_type=sa.String(1000))
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    heading_deg: float | None = Field(default=None, ge=0, lt=360)
    offset_m: float = Field(default=0.0, ge=0, le=500)
    fps: float = Field(default=2.0, gt=0, le=30)
    transport: CameraTransport = Field(default=CameraTransport.auto, sa_type=EnumText(CameraTransport))
    schedule: Hours | None = Field(default=None, max_length=24, sa_type=_NULLABLE_JSON)
    regions: Polygons | None = Field(default=None, max_length=32, sa_type=_NULLABLE_JSON)
    ignore_regions: Polygons | None = Field(default=None, max_length=32, sa_type=_NULLABLE_JSON)
    dwell_s: DwellSeconds | None = Field(default=None, sa_type=_NULLABLE_JSON)
    enabled: bool = True


class CameraCreate(CleanInput, CameraBase):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


_CAMERA_NOT_NULL = frozenset({"name", "url", "lat", "lon", "offset_m", "fps", "transport", "enabled"})


class CameraUpdate(CleanInput):
    """``PATCH /api/cameras/{id}``: the fields given replace the camera's; null clears an optional one."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str | None = Field(default=None, min_length=1, max_length=100)
    url: CameraUrl | None = Field(default=None, min_length=1, max_length=1000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    heading_deg: float | None = Field(default=None, ge=0, lt=360)
    offset_m: float | None = Field(default=None, ge=0, le=500)
    fps: float | None = Field(default=None, gt=0, le=30)
    transport: CameraTransport | None = None
    schedule: Hours | None = Field(default=None, max_length=24)
    regions: Polygons | None = Field(default=None, max_length=32)
    ignore_regions: Polygons | None = Field(default=None, max_length=32)
    dwell_s: DwellSeconds | None = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _not_null(self) -> CameraUpdate:
        nulled = sorted(k for k in self.model_fields_set & _CAMERA_NOT_NULL if getattr(self, k) is None)
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null")
        return self


class Camera(CameraBase, table=True):
    __tablename__ = "cameras"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CameraPublic(CameraBase):
    """A camera with its runtime state: ``status``, ``last_frame_at`` (the newest frame read),
    ``frames`` (frames the detector processed), ``reconnects`` (drops and failed connections),
    ``last_error``, ``in_schedule`` (False while its schedule keeps it off), ``observations`` (reported
    since start), ``lag_s`` (seconds from reading the newest processed frame to its detections),
    ``dropped`` (sampled frames replaced by a newer one before the detector was free: overload)."""

    id: int
    status: StreamState
    last_frame_at: datetime | None
    frames: int
    reconnects: int
    last_error: str | None
    in_schedule: bool
    observations: int
    lag_s: float | None
    dropped: int


class CamerasPublic(SQLModel):
    items: list[CameraPublic]
    total: int
