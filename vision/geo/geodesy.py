"""Geodesy on WGS-84 degrees: great-circle distance and bearing, destination points, and where an object
beside a moving camera lies.

Distances are metres, angles degrees (bearings 0 = north, clockwise). Functions taking ``ArrayLike``
accept scalars or arrays of one shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Position:
    """WGS-84 degrees; heading 0 = north, clockwise, None when unknown; speed m/s, None when unknown;
    accuracy: the fix's standard error in metres (HDOP times ``UERE_M``), None when the track has none."""

    lat: float
    lon: float
    heading_deg: float | None
    speed_mps: float | None
    accuracy_m: float | None = None


def haversine_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> float | np.ndarray:
    """Great-circle distance in metres between points in degrees (scalars or arrays of one shape)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.subtract(lon2, lon1)) / 2) ** 2
    distance: float | np.ndarray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return distance


def bearing_deg(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> float | np.ndarray:
    """Initial great-circle bearing from point 1 to point 2, degrees in [0, 360) (scalars or arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.subtract(lon2, lon1))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    bearing: float | np.ndarray = np.degrees(np.arctan2(y, x)) % 360.0
    return bearing


def destination(lat: float, lon: float, bearing_deg: float, metres: float) -> tuple[float, float]:
    """The point ``metres`` from (lat, lon) along ``bearing_deg``, as (lat, lon) degrees."""
    d = metres / EARTH_RADIUS_M
    p1, l1, b = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 180.0) % 360.0 - 180.0


Mount = Literal["forward", "left", "right"]
"""The side a vehicle's camera faces."""
_MOUNT_TURN_DEG = {"forward": 0.0, "right": 90.0, "left": -90.0}


def camera_offset(pos: Position, mount: Mount, metres: float) -> tuple[float, float]:
    """Where an object ``metres`` from the camera lies, toward the side the camera faces, as (lat, lon).

    forward = along the heading, right = heading + 90, left = heading - 90; without a heading the camera position.
    """
    if mount not in _MOUNT_TURN_DEG:
        raise ValueError(f"camera mount must be one of {', '.join(_MOUNT_TURN_DEG)}, not {mount!r}")
    if pos.heading_deg is None:
        return pos.lat, pos.lon
    return destination(pos.lat, pos.lon, pos.heading_deg + _MOUNT_TURN_DEG[mount], metres)
