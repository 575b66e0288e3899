"""NMEA 0183 logs: RMC and GGA sentences of any talker (GGA gives the HDOP), checksums checked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import reduce
from operator import xor

from vision.geo.track import Fix, GpsTrack, build_track, optional_float

KNOT_MPS = 1852.0 / 3600.0


@dataclass
class _NmeaFix:
    tod: float  # seconds since midnight UTC
    day: date | None  # None for GGA until dated from a neighbouring RMC
    lat: float
    lon: float
    course: float | None = None
    speed: float | None = None
    hdop: float | None = None


def parse(text: str, tz: tzinfo, name: str) -> GpsTrack:
    """RMC (status A) and GGA (quality > 0) sentences; other sentences are ignored, broken ones skipped."""
    found: list[_NmeaFix] = []
    skipped = 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            fix = _nmea_sentence(line.strip())
        except (ValueError, IndexError):
            skipped += 1
            continue
        if fix is not None:
            found.append(fix)
    _date_from_neighbours(found)
    _date_from_neighbours(reversed(found))  # GGA before the first RMC
    fixes = [
        Fix(datetime.combine(f.day, time(), UTC).timestamp() + f.tod, f.lat, f.lon, f.course, f.speed, f.hdop)
        for f in found
        if f.day is not None
    ]
    return build_track(fixes, skipped + len(found) - len(fixes), name)


def _nmea_sentence(line: str) -> _NmeaFix | None:
    """An RMC or GGA sentence as a fix, None for other sentences; ValueError when broken, without a fix,
    or its ``*hh`` checksum fails."""
    if not line.startswith("$"):
        raise ValueError("not an NMEA sentence")
    body, star, checksum = line[1:].partition("*")
    if star and int(checksum, 16) != reduce(xor, body.encode(), 0):
        raise ValueError("checksum mismatch")
    fields = body.split(",")
    kind = fields[0][2:]  # after the talker: GP, GN, GL, ...
    if kind == "RMC":
        if fields[2] != "A":
            raise ValueError("RMC without a valid fix")
        speed = optional_float(fields[7])
        return _NmeaFix(
            _nmea_time(fields[1]),
            _nmea_date(fields[9]),
            _nmea_angle(fields[3], fields[4], "NS"),
            _nmea_angle(fields[5], fields[6], "EW"),
            optional_float(fields[8]),
            None if speed is None else speed * KNOT_MPS,
        )
    if kind == "GGA":
        if fields[6] in ("", "0"):
            raise ValueError("GGA without a fix")
        lat, lon = _nmea_angle(fields[2], fields[3], "NS"), _nmea_angle(fields[4], fields[5], "EW")
        return _NmeaFix(_nmea_time(fields[1]), None, lat, lon, hdop=optional_float(fields[8]))
    return None


def _nmea_time(value: str) -> float:
    """hhmmss[.sss] -> seconds since midnight."""
    hours, minutes, seconds = int(value[0:2]), int(value[2:4]), float(value[4:])
    if len(value) < 6 or hours > 23 or minutes > 59 or not 0 <= seconds < 61:
        raise ValueError(f"bad NMEA time {value!r}")
    return hours * 3600 + minutes * 60 + seconds


def _nmea_date(value: str) -> date:
    """ddmmyy -> date (years 2000-2099)."""
    if len(value) != 6 or not value.isdigit():
        raise ValueError(f"bad NMEA date {value!r}")
    return date(2000 + int(value[4:6]), int(value[2:4]), int(value[0:2]))


def _nmea_angle(value: str, hemisphere: str, hemispheres: str) -> float:
    """(d)ddmm.mmmm plus N/S or E/W -> signed degrees."""
    if len(hemisphere) != 1 or hemisphere not in hemispheres:
        raise ValueError(f"bad hemisphere {hemisphere!r}")
    number = float(value)
    degrees = int(number // 100)
    minutes = number - degrees * 100
    if not 0 <= minutes < 60:
        raise ValueError(f"bad NMEA angle {value!r}")
    return (degrees + minutes / 60.0) * (-1.0 if hemisphere in "SW" else 1.0)


def _date_from_neighbours(fixes: Iterable[_NmeaFix]) -> None:
    """Date each undated fix from the latest dated fix before it in ``fixes``, across midnight when the
    time of day jumps by more than 12 hours."""
    ref: tuple[date, float] | None = None  # day and time of day of the latest dated fix
    for fix in fixes:
        if fix.day is None and ref is not None:
            fix.day = ref[0] + timedelta(days=-round((fix.tod - ref[1]) / 86400.0))
        if fix.day is not None:
            ref = fix.day, fix.tod
