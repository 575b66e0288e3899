"""Hotspots: the places the action plan names (road markets, strict streets, school zones, public
places, vending points), and the request that locates one."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict, field_validator, model_validator
from sqlmodel import Field, SQLModel

from service.geometry import validate_geometry
from service.inputs import CleanInput, RowId
from service.models.base import NULLABLE_JSON, EnumText, UTCDateTime, check_hours, utcnow


class HotspotKind(StrEnum):
    road_market = "road_market"
    strict_street = "strict_street"
    school_zone = "school_zone"
    public_place = "public_place"
    vending_zone = "vending_zone"


DEFAULT_BUFFER_M: dict[HotspotKind, float] = {HotspotKind.strict_street: 20.0}
"""``buffer_m`` when an imported hotspot gives none: a strict street counts 20 m either side of its line."""
HOURS_KINDS = frozenset({HotspotKind.school_zone, HotspotKind.vending_zone})
"""The kinds with ``active_hours``."""


class HotspotBase(SQLModel):
    """A place the action plan names; ``geometry`` is a GeoJSON geometry dict or None (unlocated).

    ``buffer_m`` widens the geometry (half-width of a strict street, radius around a point);
    ``active_hours`` are local "HH:MM-HH:MM" ranges: a school zone's school-run hours (a case near it
    outside them is not tied to it), a vending zone's permitted hours (vending there outside them is
    a violation; inside them never); ``batch`` and ``start_date``
    are the road-market campaign batch (1 or 2) and its start.
    """

    key: str = Field(max_length=64, unique=True, index=True, sa_type=sa.String(64))
    name: str = Field(max_length=200, sa_type=sa.String(200))
    kind: HotspotKind = Field(sa_type=EnumText(HotspotKind, 32))
    batch: int | None = None
    start_date: date | None = None
    geometry: dict[str, Any] | None = Field(default=None, sa_type=NULLABLE_JSON)
    buffer_m: float = Field(default=0.0, ge=0)
    active_hours: list[str] | None = Field(default=None, sa_type=NULLABLE_JSON)
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
        if self.active_hours is not None and kind not in HOURS_KINDS:
            raise ValueError("only a school_zone or a vending_zone has active_hours")


class HotspotCreate(CleanInput, HotspotBase):
    """One imported hotspot: a GeoJSON feature's properties plus its geometry (validated)."""

    model_config = ConfigDict(extra="ignore")  # type: ignore[assignment]  # a SQLModelConfig

    buffer_m: float | None = Field(default=None, ge=0, le=5000)  # type: ignore[assignment]  # None: by kind

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

    def point(self) -> tuple[float, float]:
        """(lat, lon) of a request that gives them."""
        if self.lat is None or self.lon is None:
            raise ValueError("no lat and lon given")
        return self.lat, self.lon
