"""The hotspot catalog: GeoJSON import and export, locating a hotspot, and nearest-hotspot lookup.

Hotspots may be unlocated (null geometry): they are listed and exported but match nothing until an
admin locates them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from service.geometry import Box, bounds, distance_m, expand, in_box, validate_geometry
from service.models.base import check_hours, row_id, utcnow, validation_message
from service.models.hotspots import Hotspot, HotspotCreate, HotspotKind


class CatalogError(ValueError):
    """A catalog file that cannot be imported; ``errors`` are (the number of the bad ``item`` — a
    GeoJSON feature's index, a KML placemark's or a CSV row's number — or None for the file as a
    whole, and what is wrong)."""

    def __init__(self, errors: list[tuple[int | None, str]], item: str = "feature") -> None:
        super().__init__("; ".join(msg if i is None else f"{item} {i}: {msg}" for i, msg in errors))
        self.errors = errors


@dataclass(frozen=True)
class Shape:
    """A located hotspot ready for distance checks."""

    id: int
    kind: HotspotKind
    geometry: dict[str, Any]
    buffer_m: float
    hours: tuple[tuple[time, time], ...] | None
    box: Box

    @classmethod
    def of(cls, hotspot: Hotspot) -> Shape:
        """The shape of a located hotspot; ValueError for an unlocated one."""
        geometry = hotspot.geometry
        if geometry is None:
            raise ValueError(f"hotspot {hotspot.id} has no place")
        hours = parse_hours(hotspot.active_hours) if hotspot.active_hours else None
        return cls(row_id(hotspot), HotspotKind(hotspot.kind), geometry, hotspot.buffer_m, hours, bounds(geometry))

    def distance_m(self, lat: float, lon: float) -> float:
        """Metres from the point to the buffered geometry; 0 inside it."""
        return max(0.0, distance_m(lat, lon, self.geometry) - self.buffer_m)

    def within_box(self, lat: float, lon: float, margin_m: float) -> bool:
        """Cheap pre-check: is the point within ``margin_m`` (plus buffer) of the bounding box?"""
        return in_box(lat, lon, expand(self.box, margin_m + self.buffer_m))

    def active_at(self, local: time) -> bool:
        """True when no hours are set or ``local`` (local wall time) falls in one of them."""
        return self.hours is None or within_hours(local, self.hours)


def parse_hours(items: list[str]) -> tuple[tuple[time, time], ...]:
    """Validated "HH:MM-HH:MM" ranges as (start, end) local times."""
    return tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in (item.split("-") for item in items))


def within_hours(local: time, hours: tuple[tuple[time, time], ...]) -> bool:
    """Whether ``local`` falls in one of the (start, end) ranges; a range whose end is earlier passes midnight."""
    return any(a <= local < b if a <= b else (local >= a or local < b) for a, b in hours)


def located_shapes(session: Session) -> list[Shape]:
    """Every located hotspot, ordered by id."""
    rows = session.exec(select(Hotspot).where(col(Hotspot.geometry).is_not(None)).order_by(col(Hotspot.id)))
    return [Shape.of(h) for h in rows]


def nearest(
    lat: float, lon: float, shapes: list[Shape], max_m: float, local: time, keep_id: int | None = None
) -> tuple[int, float] | None:
    """(hotspot id, metres) of the nearest shape within ``max_m``, or None.

    A school zone counts only in its active hours at ``local``, unless it is ``keep_id`` (the
    hotspot the case already has): once seen in school hours, a case stays with its school.
    """
    best: tuple[float, int] | None = None
    for shape in shapes:
        if shape.kind == HotspotKind.school_zone and shape.id != keep_id and not shape.active_at(local):
            continue
        if not shape.within_box(lat, lon, max_m):
            continue
        dist = shape.distance_m(lat, lon)
        if dist <= max_m and (best is None or (dist, shape.id) < best):
            best = (dist, shape.id)
    return None if best is None else (best[1], best[0])


def vending_zone_at(lat: float, lon: float, shapes: list[Shape], local: time) -> int | None:
    """The id of a vending zone containing the point and open at ``local`` (local wall time: a zone
    without hours is always open), or None: vending there outside its permitted hours is not exempt."""
    for shape in shapes:
        inside = shape.kind == HotspotKind.vending_zone and shape.within_box(lat, lon, 0.0)
        if inside and shape.active_at(local) and shape.distance_m(lat, lon) == 0.0:
            return shape.id
    return None


def feature(hotspot: Hotspot) -> dict[str, Any]:
    """A hotspot as a GeoJSON Feature (``id`` is its catalog key)."""
    props = hotspot.model_dump(include={"key", "name", "kind", "batch", "buffer_m", "active_hours", "note"})
    props["start_date"] = hotspot.start_date.isoformat() if hotspot.start_date else None
    props["hotspot_id"] = hotspot.id
    props["located"] = hotspot.geometry is not None
    return {"type": "Feature", "id": hotspot.key, "geometry": hotspot.geometry, "properties": props}


def export_collection(session: Session) -> dict[str, Any]:
    """The whole catalog as a GeoJSON FeatureCollection."""
    rows = session.exec(select(Hotspot).order_by(col(Hotspot.id)))
    return {"type": "FeatureCollection", "features": [feature(h) for h in rows]}


def parse_collection(data: Any) -> list[HotspotCreate]:
    """Validate a GeoJSON FeatureCollection; raises CatalogError listing every bad feature."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise CatalogError([(None, "expected a GeoJSON FeatureCollection")])
    features = data.get("features")
    if not isinstance(features, list):
        raise CatalogError([(None, "a FeatureCollection needs a 'features' list")])
    return parse_features(list(enumerate(features)))


def parse_features(features: list[tuple[int, Any]], item: str = "feature") -> list[HotspotCreate]:
    """Validate numbered GeoJSON Features (a ValueError in place of a feature: what made the item
    bad while reading it); raises CatalogError listing every bad ``item`` by its number."""
    items: list[HotspotCreate] = []
    errors: list[tuple[int | None, str]] = []
    keys: set[str] = set()
    for i, feat in features:
        try:
            if isinstance(feat, ValueError):
                raise feat
            if not isinstance(feat, dict) or feat.get("type") != "Feature":
                raise ValueError("not a GeoJSON Feature")
            if "geometry" not in feat:
                raise ValueError("a Feature needs a 'geometry' member (null when unlocated)")
            props = feat.get("properties") or {}
            if not isinstance(props, dict):
                raise ValueError("properties must be an object")
            key = feat.get("id") or props.get("key") or props.get("name")
            values = {**props, "key": str(key) if key else None, "geometry": feat["geometry"]}
            hotspot = HotspotCreate.model_validate(values)
            if hotspot.key in keys:
                raise ValueError(f"duplicate key {hotspot.key!r}")
            keys.add(hotspot.key)
            items.append(hotspot)
        except ValidationError as exc:
            errors.append((i, validation_message(exc)))
        except ValueError as exc:
            errors.append((i, str(exc)))
    if errors:
        raise CatalogError(errors, item)
    return items


def import_collection(
    session: Session, items: list[HotspotCreate], default_hours: Mapping[HotspotKind, list[str]] | None = None
) -> tuple[list[Hotspot], list[Box]]:
    """Insert or update hotspots by key; a null geometry never erases a known location, a hotspot of a
    kind in ``default_hours`` given no ``active_hours`` takes its kind's. Flushes.

    Returns the hotspots and the bounds of every place that gained or lost a hotspot (old and new
    geometries), where cases need their nearest hotspot again."""
    keys = [i.key for i in items]
    existing = {h.key: h for h in session.exec(select(Hotspot).where(col(Hotspot.key).in_(keys)))}
    saved, boxes = [], []
    for item in items:
        values = item.model_dump()
        if values["active_hours"] is None and default_hours and item.kind in default_hours:
            values["active_hours"] = list(default_hours[item.kind])
        hotspot = existing.get(item.key)
        if hotspot is None:
            hotspot = Hotspot(**values)
        else:
            if values["geometry"] is None:
                values["geometry"] = hotspot.geometry
            if hotspot.geometry:
                boxes.append(bounds(hotspot.geometry))
            hotspot.sqlmodel_update(values)
            hotspot.updated_at = utcnow()
        if hotspot.geometry:
            boxes.append(bounds(hotspot.geometry))
        session.add(hotspot)
        saved.append(hotspot)
    session.flush()
    return saved, boxes


def load_catalog(
    session: Session, path: Path | None, default_hours: Mapping[HotspotKind, list[str]] | None = None
) -> int:
    """Import the catalog file when no hotspot exists yet; returns how many were added. Commits."""
    if path is None or not path.is_file() or session.exec(select(func.count()).select_from(Hotspot)).one():
        return 0
    items = parse_collection(json.loads(path.read_text(encoding="utf-8")))
    added, _ = import_collection(session, items, default_hours)
    session.commit()
    return len(added)


def locate(hotspot: Hotspot, geometry: dict[str, Any], buffer_m: float | None = None) -> dict[str, Any]:
    """Give a hotspot its place (returned, validated); raises ValueError when the geometry does not suit its kind."""
    hotspot.geometry = validated = validate_geometry(geometry)
    if buffer_m is not None:
        hotspot.buffer_m = buffer_m
    hotspot.check_shape()
    hotspot.updated_at = utcnow()
    return validated


def set_hours(hotspot: Hotspot, hours: list[str] | None) -> None:
    """Give a hotspot its local "HH:MM-HH:MM" ``active_hours`` (None: all day); raises ValueError for a
    bad range or a kind without hours."""
    hotspot.active_hours = None if hours is None else check_hours(hours)
    hotspot.check_shape()
    hotspot.updated_at = utcnow()


def local_time(at: datetime, zone: tzinfo) -> time:
    """Wall-clock time of an aware datetime in ``zone``."""
    return at.astimezone(zone).time()
