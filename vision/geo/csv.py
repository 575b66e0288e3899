"""CSV tracks: a header naming time, lat and lon columns (course, speed and HDOP optional), one fix per row."""

from __future__ import annotations

import csv
import re
from datetime import tzinfo

from vision.geo.track import Fix, GpsFormatError, GpsTrack, build_track, optional_float, parse_time

COLUMNS = {
    "time": ("time", "timestamp", "datetime", "date_time", "gps_time"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "long", "longitude"),
    "course": ("course", "heading"),
    "speed": ("speed", "speed_mps"),  # m/s
    "hdop": ("hdop",),
}


def delimiter(header: str) -> str:
    return max(",;\t", key=header.count)


def header_columns(header: list[str]) -> dict[str, int] | None:
    """Column index per role ("time", "lat", "lon", optional "course", "speed", "hdop"); None without
    time/lat/lon."""
    names = [re.sub(r"[\s-]+", "_", h.strip().strip('"').lower()) for h in header]
    columns = {
        role: next(i for i, n in enumerate(names) if n in aliases)
        for role, aliases in COLUMNS.items()
        if any(n in aliases for n in names)
    }
    return columns if {"time", "lat", "lon"} <= columns.keys() else None


def parse(text: str, tz: tzinfo, name: str) -> GpsTrack:
    """A header row, then one fix per row; ISO-8601 times (naive = ``tz``) or unix seconds/milliseconds."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise GpsFormatError(f"{name}: empty CSV")
    rows = csv.reader(lines[first:], delimiter=delimiter(lines[first]))
    columns = header_columns(next(rows))
    if columns is None:
        raise GpsFormatError(f"{name}: line {first + 1}: CSV header needs time, lat and lon columns")
    fixes, skipped = [], 0
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        try:
            fixes.append(
                Fix(
                    parse_time(row[columns["time"]], tz),
                    float(row[columns["lat"]]),
                    float(row[columns["lon"]]),
                    optional_float(row[columns["course"]] if "course" in columns else ""),
                    optional_float(row[columns["speed"]] if "speed" in columns else ""),
                    optional_float(row[columns["hdop"]] if "hdop" in columns else ""),
                )
            )
        except (ValueError, IndexError):
            skipped += 1
    return build_track(fixes, skipped, name)
