"""GPX 1.0/1.1: track points, else route points, else waypoints."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, tzinfo

from vision.geo.track import Fix, GpsFormatError, GpsTrack, build_track, optional_float, parse_time


def parse(text: str, tz: tzinfo, name: str) -> GpsTrack:
    """Track points (else route points, else waypoints) with a <time>; times without offset are UTC."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise GpsFormatError(f"{name}: line {err.position[0]}: malformed GPX: {err}") from None
    points: dict[str, list[ET.Element]] = {"trkpt": [], "rtept": [], "wpt": []}
    for element in root.iter():
        points.get(_local(element.tag), []).append(element)
    chosen = points["trkpt"] or points["rtept"] or points["wpt"]
    fixes = []
    for point in chosen:
        children = {_local(child.tag): (child.text or "").strip() for child in point.iter()}
        try:
            fixes.append(
                Fix(
                    parse_time(children["time"], UTC),
                    float(point.get("lat", "")),
                    float(point.get("lon", "")),
                    optional_float(children.get("course", "")),
                    optional_float(children.get("speed", "")),
                    optional_float(children.get("hdop", "")),
                )
            )
        except (KeyError, ValueError):
            continue
    return build_track(fixes, len(chosen) - len(fixes), name)


def _local(tag: str) -> str:
    """An XML tag without its namespace."""
    return tag.rsplit("}", 1)[-1]
