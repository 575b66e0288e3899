"""Plane-free geometry on WGS-84 degrees: distances in metres, GeoJSON Point / LineString / Polygon.

Distances to lines and polygons use an equirectangular projection around the query point, exact
enough (well under 1 %) at the few-hundred-metre scale hotspots are matched on.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from vision import EARTH_RADIUS_M, haversine_m

M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
GEOMETRY_TYPES = ("Point", "LineString", "Polygon")

Position = tuple[float, float]  # (lon, lat) as in GeoJSON
Box = tuple[float, float, float, float]  # (min_lat, min_lon, max_lat, max_lon), degrees


def _positions(value: Any, minimum: int, what: str) -> list[Position]:
    if not isinstance(value, list) or len(value) < minimum:
        raise ValueError(f"{what} needs at least {minimum} positions")
    return [_position(p) for p in value]


def _position(value: Any) -> Position:
    if (
        not isinstance(value, list | tuple)
        or len(value) not in (2, 3)
        or not all(isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c) for c in value)
    ):
        raise ValueError(f"bad position {value!r}: expected [lon, lat]")
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"position {value!r} out of range: [lon, lat] with lon in -180..180, lat in -90..90")
    return lon, lat


def validate_geometry(geometry: Any) -> dict[str, Any]:
    """A clean copy of a GeoJSON Point, LineString or Polygon; raises ValueError saying what is wrong."""
    if not isinstance(geometry, dict):
        raise ValueError("geometry must be a GeoJSON object or null")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind not in GEOMETRY_TYPES:
        raise ValueError(f"geometry type {kind!r} not supported: use one of {', '.join(GEOMETRY_TYPES)}")
    if kind == "Point":
        return {"type": kind, "coordinates": list(_position(coords))}
    if kind == "LineString":
        return {"type": kind, "coordinates": [list(p) for p in _positions(coords, 2, "LineString")]}
    if not isinstance(coords, list) or not coords:
        raise ValueError("Polygon needs at least one ring")
    rings = [_positions(ring, 4, "Polygon ring") for ring in coords]
    if any(ring[0] != ring[-1] for ring in rings):
        raise ValueError("Polygon rings must be closed (first position == last)")
    problem = polygon_problem(rings)
    if problem:
        raise ValueError(f"Polygon is not valid: {problem}")
    return {"type": kind, "coordinates": [[list(p) for p in ring] for ring in rings]}


def polygon_problem(rings: list[list[Position]] | list[list[list[float]]], unit_m: float | None = None) -> str | None:
    """Why a polygon (outer ring, then holes; each closed) is unusable, or None: a self-intersection
    or a hole outside its ring as shapely's validity check explains it, or an area under 1 square
    metre (``unit_m``: None for WGS-84 [lon, lat] degrees, else metres per coordinate unit)."""
    shape = Polygon(rings[0], rings[1:])
    if not shape.is_valid:
        return explain_validity(shape)
    square_m = M_PER_DEG**2 * math.cos(math.radians(shape.centroid.y)) if unit_m is None else unit_m**2
    if shape.area * square_m < 1.0:
        return "it has no area (under 1 square metre)"
    return None


def point(lat: float, lon: float) -> dict[str, Any]:
    """A GeoJSON Point."""
    return {"type": "Point", "coordinates": [lon, lat]}


def _all_positions(geometry: dict[str, Any]) -> list[Position]:
    coords = geometry["coordinates"]
    if geometry["type"] == "Point":
        return [tuple(coords[:2])]
    if geometry["type"] == "LineString":
        return [tuple(p[:2]) for p in coords]
    return [tuple(p[:2]) for ring in coords for p in ring]


def bounds(geometry: dict[str, Any]) -> Box:
    """The bounding box of a geometry."""
    lons, lats = zip(*_all_positions(geometry))
    return min(lats), min(lons), max(lats), max(lons)


def expand(box: Box, margin_m: float) -> Box:
    """A box widened by at least ``margin_m`` metres on every side."""
    min_lat, min_lon, max_lat, max_lon = box
    dlat = margin_m / M_PER_DEG
    worst = min(max(abs(min_lat), abs(max_lat)) + dlat, 89.9)
    dlon = dlat / math.cos(math.radians(worst))
    return min_lat - dlat, min_lon - dlon, max_lat + dlat, max_lon + dlon


def in_box(lat: float, lon: float, box: Box) -> bool:
    min_lat, min_lon, max_lat, max_lon = box
    return min_lat <= lat <= max_lat and min_lon <= lon <= max_lon


def _project(lat0: float, lon0: float, lon: float, lat: float) -> tuple[float, float]:
    return (lon - lon0) * M_PER_DEG * math.cos(math.radians(lat0)), (lat - lat0) * M_PER_DEG


def _segment_distance(ax: float, ay: float, bx: float, by: float) -> float:
    """Distance from the origin to segment a-b (plane metres)."""
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


def _inside(ring: list[tuple[float, float]]) -> bool:
    """Ray casting: is the origin inside this closed ring (plane metres)?"""
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > 0) != (y2 > 0) and x1 + (0 - y1) * (x2 - x1) / (y2 - y1) > 0:
            inside = not inside
    return inside


def distance_m(lat: float, lon: float, geometry: dict[str, Any]) -> float:
    """Metres from a point to a geometry: to the nearest vertex or edge; 0 inside a polygon."""
    if geometry["type"] == "Point":
        glon, glat = geometry["coordinates"][:2]
        return float(haversine_m(lat, lon, glat, glon))
    rings = [geometry["coordinates"]] if geometry["type"] == "LineString" else geometry["coordinates"]
    projected = [[_project(lat, lon, p[0], p[1]) for p in ring] for ring in rings]
    if geometry["type"] == "Polygon" and _inside(projected[0]) and not any(_inside(h) for h in projected[1:]):
        return 0.0
    return min(
        _segment_distance(ax, ay, bx, by) for ring in projected for (ax, ay), (bx, by) in itertools.pairwise(ring)
    )


def along_m(lat: float, lon: float, line: Sequence[Sequence[float]]) -> tuple[float, str]:
    """Where a point lies along a line of [lon, lat] positions: metres along it, from its west end
    ("west") for a line running more east-west than north-south, else from its south end ("south"), to
    the line's point nearest the point."""
    (lon0, lat0), (lon1, lat1) = line[0][:2], line[-1][:2]
    dx, dy = _project(lat0, lon0, lon1, lat1)
    end = "west" if abs(dx) >= abs(dy) else "south"
    forward = dx >= 0 if end == "west" else dy >= 0
    points = [_project(lat, lon, p[0], p[1]) for p in (line if forward else line[::-1])]
    best, walked, at = math.inf, 0.0, 0.0
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        sx, sy = bx - ax, by - ay
        length = math.hypot(sx, sy)
        t = 0.0 if length == 0 else max(0.0, min(1.0, -(ax * sx + ay * sy) / length**2))
        gap = math.hypot(ax + t * sx, ay + t * sy)
        if gap < best:
            best, at = gap, walked + t * length
        walked += length
    return at, end
