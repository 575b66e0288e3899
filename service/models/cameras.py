"""Fixed street cameras: the registry and what the API shows of each camera's runtime state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
from pydantic import AfterValidator, ConfigDict, NonNegativeFloat, model_validator
from sqlmodel import Field, SQLModel

from service.geometry import polygon_problem
from service.inputs import CleanInput
from service.models.base import NULLABLE_JSON, EnumText, Hours, UTCDateTime, utcnow
from vision import LIVE_SCHEMES, StreamState


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
    schedule: Hours | None = Field(default=None, max_length=24, sa_type=NULLABLE_JSON)
    regions: Polygons | None = Field(default=None, max_length=32, sa_type=NULLABLE_JSON)
    ignore_regions: Polygons | None = Field(default=None, max_length=32, sa_type=NULLABLE_JSON)
    dwell_s: DwellSeconds | None = Field(default=None, sa_type=NULLABLE_JSON)
    enabled: bool = True


class CameraCreate(CleanInput, CameraBase):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # type: ignore[assignment]  # a SQLModelConfig


_CAMERA_NOT_NULL = frozenset({"name", "url", "lat", "lon", "offset_m", "fps", "transport", "enabled"})


class CameraUpdate(CleanInput):
    """``PATCH /api/cameras/{id}``: the fields given replace the camera's; null clears an optional one."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # type: ignore[assignment]  # a SQLModelConfig

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
    """A registered camera; ``down_since``: when its stream was found down (``camera.down`` sent),
    None while it is up or not known to be down."""

    __tablename__ = "cameras"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    down_since: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CameraPublic(CameraBase):
    """A camera with its runtime state: ``status``, ``last_frame_at`` (the newest frame read),
    ``frames`` (frames the detector processed), ``reconnects`` (drops and failed connections),
    ``last_error``, ``in_schedule`` (False while its schedule keeps it off), ``observations`` (reported
    since start), ``lag_s`` (seconds from reading the newest processed frame to its detections),
    ``dropped`` (sampled frames replaced by a newer one before the detector was free: overload),
    ``down_since`` (when its stream was found down; None while up)."""

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
    down_since: datetime | None


class CamerasPublic(SQLModel):
    items: list[CameraPublic]
    total: int
