"""Fixed cameras as coverage: a camera covers the hotspots it faces (the place its observations are put,
``offset_m`` along its heading, lies within a hotspot's buffer) while it is live.

The service keeps no history of a camera's ups and downs (its runtime state lives beside its lease and is
gone when the worker stops), so live hours are derived from the registry: a camera is live from its
creation on, within its schedule (local hours; none: all day), and a disabled one until its last change
(``updated_at``, when it was switched off). A camera that was down for a while in between still counts.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from service.geometry import distance_m
from service.hotspots import local_time, parse_hours, within_hours
from service.models.base import row_id
from service.models.cameras import Camera
from service.models.hotspots import Hotspot
from vision import CameraPlace


def live_span(camera: Camera, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The part of [start, end) the camera was registered and not yet switched off, or None."""
    first, last = max(start, camera.created_at), end if camera.enabled else min(end, camera.updated_at)
    return (first, last) if first < last else None


def live_in(camera: Camera, start: datetime, end: datetime, zone: ZoneInfo) -> bool:
    """Whether the camera was live at some moment of [start, end) (see the module's notes): in its schedule
    when its live span begins, or when one of its scheduled ranges begins on a local day of the span."""
    span = live_span(camera, start, end)
    if span is None:
        return False
    if not camera.schedule:
        return True
    first, last = span
    hours = parse_hours(camera.schedule)
    if within_hours(local_time(first, zone), hours):
        return True
    day = first.astimezone(zone).date()
    while datetime.combine(day, time(), zone) < last:
        if any(first <= datetime.combine(day, begin, zone) < last for begin, _ in hours):
            return True
        day += timedelta(days=1)
    return False


def faces(camera: Camera, hotspot: Hotspot) -> bool:
    """Whether the camera's view falls within the located hotspot's buffer."""
    if hotspot.geometry is None:
        return False
    lat, lon = CameraPlace(camera.lat, camera.lon, camera.heading_deg, camera.offset_m).position()
    return distance_m(lat, lon, hotspot.geometry) <= hotspot.buffer_m


def cameras_covering(
    session: Session, hotspots: list[Hotspot], start: datetime, end: datetime, zone: ZoneInfo
) -> dict[int, set[int]]:
    """Hotspot id -> the ids of the cameras live in [start, end) that face it (covered hotspots only)."""
    live = [c for c in session.exec(select(Camera).order_by(col(Camera.id))) if live_in(c, start, end, zone)]
    found: dict[int, set[int]] = {}
    for hotspot in hotspots:
        seen = {row_id(c) for c in live if faces(c, hotspot)}
        if seen:
            found[row_id(hotspot)] = seen
    return found
