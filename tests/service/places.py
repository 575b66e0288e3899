"""Test places in metres north / east of a synthetic origin, and GeoJSON geometries built from them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from service.geometry import M_PER_DEG
from service.patrols import Route

ORIGIN = (35.49, 112.85)  # a synthetic mid-latitude origin, not a catalog place

Metres = tuple[float, float]  # (north, east)


def offset(north_m: float, east_m: float, origin: tuple[float, float] = ORIGIN) -> tuple[float, float]:
    """(lat, lon) of the point ``north_m`` / ``east_m`` metres from ``origin``."""
    lat0, lon0 = origin
    return lat0 + north_m / M_PER_DEG, lon0 + east_m / (M_PER_DEG * math.cos(math.radians(lat0)))


def _position(p: Sequence[float]) -> list[float]:
    north, east = p
    lat, lon = offset(north, east)
    return [lon, lat]


def point(north: float, east: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": _position((north, east))}


def line(*pts: Metres) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [_position(p) for p in pts]}


def polygon(*rings: Sequence[Sequence[float]]) -> dict[str, Any]:
    """A Polygon from open rings (the first is the outline, the others holes)."""
    return {"type": "Polygon", "coordinates": [[_position(p) for p in [*ring, ring[0]]] for ring in rings]}


def square(north: float, east: float, half: float) -> list[Metres]:
    """The corners of a square of side 2 * half metres around a centre."""
    s, n, w, e = north - half, north + half, east - half, east + half
    return [(s, w), (s, e), (n, e), (n, w)]


def drive(start: datetime, a: Metres, b: Metres, seconds: int = 60, mount: str | None = None) -> Route:
    """A patrol car driving straight from ``a`` to ``b`` in ``seconds``, one GPS fix a second."""
    fixes = [offset(a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f) for f in np.linspace(0.0, 1.0, seconds + 1)]
    lat, lon = np.array(fixes).T
    return Route(start.timestamp() + np.arange(seconds + 1, dtype=np.float64), lat, lon, mount)
