"""Patrol passes: where a patrol camera drove and when, and which places it covered (came within reach
with the camera facing them), so "patrolled and clean" can be told from "not patrolled".

The decisions are pure functions on a ``Route`` (``thin``, ``approaches``, ``covers``,
``covers_geometry``); ``record_pass`` and ``passes_covering`` are the thin database layer. Distances are
metres (an equirectangular projection around the place: exact well under 1 % at street scale), times
aware UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from shapely.geometry import LineString, Point, shape
from shapely.ops import nearest_points
from sqlmodel import Session, col, select

from service.geometry import M_PER_DEG, Box, bounds, expand
from service.models.patrols import PatrolPass
from vision import GpsTrack

Side = Literal["left", "right"]
THIN_STEP_M = 5.0
"""A route keeps a fix when the car has moved this far since the last one kept (or after a gap)."""
THIN_GAP_S = 10.0
ON_THE_LINE_M = 1.0
"""A place this close to the route counts as on either side of it (a side camera sees it too)."""


@dataclass(frozen=True)
class Route:
    """A pass's route: (N,) float64 arrays of epoch seconds, latitude and longitude in degrees (N >= 1),
    and the side the camera faced (None or "forward": ahead, seeing both sides)."""

    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    mount: str | None = None

    @classmethod
    def of(cls, row: PatrolPass) -> Route:
        """The route of a stored pass."""
        coords = np.asarray(row.route["coordinates"], dtype=np.float64).reshape(-1, 2)
        start = row.started_at.timestamp()
        return cls(start + np.asarray(row.route_t, dtype=np.float64), coords[:, 1], coords[:, 0], row.mount)

    def projected(self, lat0: float, lon0: float) -> np.ndarray:
        """(N, 2) positions in metres east and north of (lat0, lon0)."""
        x = (self.lon - lon0) * M_PER_DEG * math.cos(math.radians(lat0))
        y = (self.lat - lat0) * M_PER_DEG
        return np.stack([x, y], axis=1)


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def thin(t: np.ndarray, lat: np.ndarray, lon: np.ndarray, step_m: float = THIN_STEP_M) -> np.ndarray:
    """Indices of the fixes a route keeps: the first, the last, and each one at least ``step_m`` metres
    from the previous one kept or ``THIN_GAP_S`` seconds after it. t, lat, lon: (N,) arrays."""
    keep = [0]
    cos0 = math.cos(math.radians(float(lat[0])))
    for i in range(1, len(t)):
        j = keep[-1]
        moved = math.hypot((lon[i] - lon[j]) * cos0, lat[i] - lat[j]) * M_PER_DEG
        if moved >= step_m or t[i] - t[j] >= THIN_GAP_S:
            keep.append(i)
    if keep[-1] != len(t) - 1:
        keep.append(len(t) - 1)
    return np.asarray(keep)


@dataclass(frozen=True)
class Approach:
    """How close one stretch of a route came to a place: ``distance_m``, when (``t``, epoch seconds), and
    on which side of the direction of travel the place lay (None on the line or while standing)."""

    distance_m: float
    t: float
    side: Side | None


def approaches(route: Route, lat: float, lon: float) -> list[Approach]:
    """The closest point of each segment of the route to the place (one Approach for a one-fix route)."""
    p = route.projected(lat, lon)
    if len(p) == 1:
        return [Approach(float(np.hypot(*p[0])), float(route.t[0]), None)]
    a, d = p[:-1], np.diff(p, axis=0)
    length2 = np.einsum("ij,ij->i", d, d)
    u = np.clip(-np.einsum("ij,ij->i", a, d) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    closest = a + u[:, None] * d
    dist = np.hypot(closest[:, 0], closest[:, 1])
    cross = d[:, 0] * -closest[:, 1] - d[:, 1] * -closest[:, 0]  # > 0: the place is left of travel
    t = route.t[:-1] + u * np.diff(route.t)
    sides: list[Side | None] = [
        None if n < ON_THE_LINE_M or l2 == 0 else ("left" if c > 0 else "right")
        for n, l2, c in zip(dist, length2, cross, strict=True)
    ]
    return [Approach(float(n), float(s), side) for n, s, side in zip(dist, t, sides, strict=True)]


def faces(mount: str | None, side: Side | None) -> bool:
    """Whether a camera mounted facing ``mount`` sees a place on ``side`` of the road as it passes."""
    return mount in (None, "forward") or side is None or side == mount


def covers(route: Route, lat: float, lon: float, radius_m: float) -> datetime | None:
    """When the route came within ``radius_m`` of the place with the camera facing it (the closest such
    moment), or None."""
    seen = [a for a in approaches(route, lat, lon) if a.distance_m <= radius_m and faces(route.mount, a.side)]
    return _utc(min(seen, key=lambda a: a.distance_m).t) if seen else None


def covers_geometry(route: Route, geometry: dict[str, Any], buffer_m: float) -> datetime | None:
    """When the route came within ``buffer_m`` of a GeoJSON Point, LineString or Polygon with the camera
    facing it (driving on or through it always counts), or None."""
    if geometry["type"] == "Point":
        lon, lat = geometry["coordinates"][:2]
        return covers(route, lat, lon, buffer_m)
    min_lat, min_lon, max_lat, max_lon = bounds(geometry)
    lat0, lon0 = (min_lat + max_lat) / 2, (min_lon + max_lon) / 2
    scale = np.array([M_PER_DEG * math.cos(math.radians(lat0)), M_PER_DEG])
    place = shape(_projected(geometry, lat0, lon0, scale))
    points = route.projected(lat0, lon0)
    line = LineString(points) if len(points) > 1 else Point(points[0])
    if line.distance(place) > buffer_m:
        return None
    if isinstance(line, Point):
        return _utc(float(route.t[0]))
    on_route, on_place = nearest_points(line, place)
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    t = float(np.interp(line.project(on_route), along, route.t))
    if on_route.distance(on_place) >= ON_THE_LINE_M and route.mount not in (None, "forward"):
        lat, lon = lat0 + on_place.y / scale[1], lon0 + on_place.x / scale[0]
        return covers(route, lat, lon, buffer_m)
    return _utc(t)


def _projected(geometry: dict[str, Any], lat0: float, lon0: float, scale: np.ndarray) -> dict[str, Any]:
    """The geometry in metres east and north of (lat0, lon0)."""

    def xy(position: list[float]) -> list[float]:
        return [(position[0] - lon0) * float(scale[0]), (position[1] - lat0) * float(scale[1])]

    coords = geometry["coordinates"]
    if geometry["type"] == "LineString":
        return {"type": "LineString", "coordinates": [xy(p) for p in coords]}
    return {"type": "Polygon", "coordinates": [[xy(p) for p in ring] for ring in coords]}


# --- database layer ---------------------------------------------------------------------------


def route_of_track(
    track: GpsTrack, start: datetime | None, duration_s: float | None, mount: str | None = None
) -> Route | None:
    """The part of a GPS track a video of ``duration_s`` seconds recorded from ``start`` covers, thinned, as
    seen by a camera facing ``mount``; None when it cannot be placed in time (a video-relative track without
    a start) or has no fix in it."""
    if track.video_relative:
        if start is None:
            return None
        t = track.t + start.timestamp()
    else:
        t = track.t
    begin = start.timestamp() if start is not None else -math.inf
    end = begin + duration_s if start is not None and duration_s else math.inf
    inside = (t >= begin) & (t <= end)
    if not inside.any():
        return None
    t, lat, lon = t[inside], track.lat[inside], track.lon[inside]
    keep = thin(t, lat, lon)
    return Route(t[keep], lat[keep], lon[keep], mount)


def record_pass(session: Session, source: str, route: Route, job_id: int | None = None) -> PatrolPass:
    """Store (or replace) the pass of ``source``; the caller commits."""
    step_m = np.hypot(np.diff(route.lat), np.diff(route.lon) * np.cos(np.radians(route.lat[:-1]))) * M_PER_DEG
    fields: dict[str, Any] = {
        "job_id": job_id,
        "mount": route.mount,
        "started_at": _utc(float(route.t[0])),
        "ended_at": _utc(float(route.t[-1])),
        "route": {"type": "LineString", "coordinates": np.stack([route.lon, route.lat], axis=1).tolist()},
        "route_t": [round(float(s - route.t[0]), 3) for s in route.t],
        "length_m": float(step_m.sum()),
        "min_lat": float(route.lat.min()),
        "max_lat": float(route.lat.max()),
        "min_lon": float(route.lon.min()),
        "max_lon": float(route.lon.max()),
    }
    row = session.exec(select(PatrolPass).where(PatrolPass.source == source)).first()
    if row is None:
        row = PatrolPass(source=source, **fields)
    else:
        row.sqlmodel_update(fields)
    session.add(row)
    return row


Place = tuple[dict[str, Any], float, datetime | None, datetime | None]
"""A place to look up: a GeoJSON geometry, its buffer in metres, and since / until (None: unbounded)."""


def passes_covering(
    session: Session,
    geometry: dict[str, Any],
    buffer_m: float,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[PatrolPass, datetime]]:
    """The passes that covered a place (a GeoJSON geometry widened by ``buffer_m``) between ``since`` and
    ``until``, each with the moment it did, in time order."""
    return passes_covering_each(session, [(geometry, buffer_m, since, until)])[0]


def passes_covering_each(session: Session, places: list[Place]) -> list[list[tuple[PatrolPass, datetime]]]:
    """``passes_covering`` of each place, from one query for the passes near any of them."""
    if not places:
        return []
    boxes = [expand(bounds(geometry), buffer_m) for geometry, buffer_m, _, _ in places]
    stmt = select(PatrolPass).where(
        col(PatrolPass.max_lat) >= min(b[0] for b in boxes),
        col(PatrolPass.max_lon) >= min(b[1] for b in boxes),
        col(PatrolPass.min_lat) <= max(b[2] for b in boxes),
        col(PatrolPass.min_lon) <= max(b[3] for b in boxes),
    )
    sinces, untils = [p[2] for p in places], [p[3] for p in places]
    if None not in sinces:
        stmt = stmt.where(col(PatrolPass.ended_at) >= min(s for s in sinces if s is not None))
    if None not in untils:
        stmt = stmt.where(col(PatrolPass.started_at) <= max(u for u in untils if u is not None))
    rows = [(row, Route.of(row)) for row in session.exec(stmt)]
    found = []
    for (geometry, buffer_m, since, until), box in zip(places, boxes, strict=True):
        covered = []
        for row, route in rows:
            at = covers_geometry(route, geometry, buffer_m) if _near(row, box, since, until) else None
            if at is not None and (since is None or at >= since) and (until is None or at <= until):
                covered.append((row, at))
        found.append(sorted(covered, key=lambda item: (item[1], item[0].id or 0)))
    return found


def _near(row: PatrolPass, box: Box, since: datetime | None, until: datetime | None) -> bool:
    """Whether the pass's bounds overlap ``box`` and its drive the time from ``since`` to ``until``."""
    min_lat, min_lon, max_lat, max_lon = box
    inside = row.max_lat >= min_lat and row.min_lat <= max_lat and row.max_lon >= min_lon and row.min_lon <= max_lon
    return inside and (since is None or row.ended_at >= since) and (until is None or row.started_at <= until)
