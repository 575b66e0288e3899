"""Patrol passes: the route a patrol camera drove, one per uploaded video with a GPS track, so the
service can tell "patrolled and clean" from "not patrolled"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models.base import UTCDateTime, utcnow


class PatrolPass(SQLModel, table=True):
    """One drive past the city's streets, as its camera saw it.

    ``route`` is a GeoJSON LineString ([lon, lat] positions, thinned to at most a few metres apart) and
    ``route_t`` the seconds from ``started_at`` at each of its positions; ``mount`` the side the camera
    faced (forward, left, right; None: unknown, taken as forward). ``min_lat`` … ``max_lon`` bound the
    route (degrees), for finding the passes near a place.
    """

    __tablename__ = "patrol_passes"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200, unique=True, sa_type=sa.String(200))
    job_id: int | None = Field(default=None, foreign_key="jobs.id", index=True, ondelete="SET NULL")
    started_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ended_at: datetime = Field(sa_type=UTCDateTime, index=True)
    mount: str | None = Field(default=None, max_length=16, sa_type=sa.String(16))
    route: dict[str, Any] = Field(sa_type=sa.JSON)
    route_t: list[float] = Field(sa_type=sa.JSON)
    length_m: float = 0.0
    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CoveringPass(SQLModel):
    """A pass that covered a place: when it drove (``started_at`` … ``ended_at``) and the moment it covered
    it (``covered_at``), the camera side (``mount``) and the job of its video (None once deleted)."""

    id: int
    source: str
    job_id: int | None
    mount: str | None
    started_at: datetime
    ended_at: datetime
    covered_at: datetime


class CoveringCamera(SQLModel):
    """A fixed camera that faces a place and was live some time in the range asked about (its live hours
    are derived from the registry: see ``service.reports.cameras``)."""

    id: int
    name: str
    schedule: list[str] | None
    enabled: bool


class HotspotCoverage(SQLModel):
    """``GET /api/hotspots/{id}/coverage``: the passes (at most ``limit``, earliest first) that covered the
    hotspot between ``since`` and ``until`` (None: unbounded), how many there were in all (``total``), and
    the fixed cameras facing it that were live then (``cameras``, by id)."""

    hotspot_id: int
    since: datetime | None
    until: datetime | None
    total: int
    passes: list[CoveringPass]
    cameras: list[CoveringCamera]
