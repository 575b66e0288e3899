"""GPS tracks: load GPX, NMEA 0183, CSV and DJI-style SRT; interpolate a position at any time;
move a position to the object a side- or forward-looking camera sees.

Distances are metres, angles degrees (bearings 0 = north, clockwise), times epoch seconds UTC
unless a track is ``video_relative`` (then seconds from the video start).
"""

from __future__ import annotations

import csv
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import reduce
from operator import xor
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

EARTH_RADIUS_M = 6_371_008.8
KNOT_MPS = 1852.0 / 3600.0
STATIONARY_MPS = 0.5  # slower segments give no heading: GPS jitter, not motion
FORMATS = ("gpx", "nmea", "csv", "srt")
TRACK_SUFFIXES = frozenset({".gpx", ".nmea", ".nma", ".csv", ".srt", ".txt", ".log"})
"""File name endings taken for GPS tracks (``.txt``/``.log``: NMEA logs) when files come mixed with videos."""


class GpsFormatError(ValueError):
    """A track file that cannot be read; the message names the file and, where relevant, the line."""


@dataclass(frozen=True)
class Position:
    """WGS-84 degrees; heading 0 = north, clockwise, None when unknown; speed m/s, None when unknown."""

    lat: float
    lon: float
    heading_deg: float | None
    speed_mps: float | None


class GpsTrack:
    """Time-ordered fixes as arrays of shape (N,).

    t: float64 epoch seconds UTC (seconds from the video start when ``video_relative``), strictly increasing.
    lat, lon: WGS-84 degrees. course: recorded course over ground in degrees, speed: recorded m/s;
    each None when the source has none, NaN at fixes without a value.
    """

    def __init__(
        self,
        t: ArrayLike,
        lat: ArrayLike,
        lon: ArrayLike,
        course: ArrayLike | None = None,
        speed: ArrayLike | None = None,
        *,
        video_relative: bool = False,
        skipped_lines: int = 0,
    ) -> None:
        self.t = np.asarray(t, dtype=np.float64)
        self.lat = np.asarray(lat, dtype=np.float64)
        self.lon = np.asarray(lon, dtype=np.float64)
        self.course = None if course is None else np.asarray(course, dtype=np.float64)
        self.speed = None if speed is None else np.asarray(speed, dtype=np.float64)
        n = len(self.t)
        self._course, self._speed = (np.full(n, np.nan) if a is None else a for a in (self.course, self.speed))
        if n == 0 or any(len(a) != n for a in (self.lat, self.lon, self._course, self._speed)):
            raise ValueError("a track needs at least one fix and arrays of equal length")
        if not np.all(np.diff(self.t) > 0):
            raise ValueError("fix times must be strictly increasing")
        self.video_relative = video_relative
        self.skipped_lines = skipped_lines
        a, b = slice(None, -1), slice(1, None)
        self._seg_speed = haversine_m(self.lat[a], self.lon[a], self.lat[b], self.lon[b]) / np.diff(self.t)
        bearing = bearing_deg(self.lat[a], self.lon[a], self.lat[b], self.lon[b])
        moving = np.where(self._seg_speed >= STATIONARY_MPS, bearing, np.nan)
        # heading at the end of each segment: recorded course when present, else bearing when moving,
        # else the last such heading before it (NaN while none is known yet)
        end_course = np.where(np.isnan(self._course[b]), self._course[a], self._course[b])
        self._held_heading = _forward_fill(np.where(np.isnan(end_course), moving, end_course))

    def __len__(self) -> int:
        return len(self.t)

    @property
    def start(self) -> datetime:
        """The first fix (UTC; the epoch plus the offset when video_relative)."""
        return datetime.fromtimestamp(float(self.t[0]), timezone.utc)

    @property
    def end(self) -> datetime:
        """The last fix (UTC; the epoch plus the offset when video_relative)."""
        return datetime.fromtimestamp(float(self.t[-1]), timezone.utc)

    def at(self, when: datetime | float, max_gap_s: float = 10.0) -> Position | None:
        """The position at ``when`` (aware datetime, naive = UTC, or epoch seconds), linearly interpolated.

        None outside [start, end] and between fixes more than ``max_gap_s`` seconds apart (unless
        ``when`` is a fix time itself).
        """
        s = _epoch(when)
        t = self.t
        if not t[0] <= s <= t[-1]:
            return None
        if len(t) == 1:
            return self._fix(0)
        i = min(int(np.searchsorted(t, s, side="right")) - 1, len(t) - 2)
        if t[i + 1] - t[i] > max_gap_s:
            return self._fix(i) if s == t[i] else self._fix(i + 1) if s == t[i + 1] else None
        f = (s - t[i]) / (t[i + 1] - t[i])
        heading = _blend(self._course[i], self._course[i + 1], f, circular=True)
        if math.isnan(heading):
            heading = self._held_heading[i]
        speed_mps = _blend(self._speed[i], self._speed[i + 1], f)
        if math.isnan(speed_mps):
            speed_mps = self._seg_speed[i]
        lon = _blend(self.lon[i], self.lon[i + 1], f, circular=True)  # the short way across ±180
        return Position(
            lat=float(self.lat[i] + (self.lat[i + 1] - self.lat[i]) * f),
            lon=(lon + 180.0) % 360.0 - 180.0,
            heading_deg=_known(heading),
            speed_mps=float(speed_mps),
        )

    def _fix(self, k: int) -> Position:
        """Fix k alone: recorded course, else the last heading before it; recorded speed or None."""
        heading = self._course[k]
        if math.isnan(heading) and k > 0:
            heading = self._held_heading[k - 1]
        return Position(float(self.lat[k]), float(self.lon[k]), _known(heading), _known(self._speed[k]))


def load_track(path: str | Path, fmt: str | None = None, tz: tzinfo = timezone.utc) -> GpsTrack:
    """Read a track file; ``fmt`` one of FORMATS or None to recognise it from its content, then its extension.

    Naive times (CSV without offset, DJI SRT clock) are in ``tz``; GPX and NMEA times are UTC.
    """
    path = Path(path)
    data = path.read_bytes()
    if b"\0" in data:
        raise GpsFormatError(f"{path}: binary data, not a GPS track")
    text = data.decode("utf-8-sig", errors="replace")
    return parse_track(text, fmt or _sniff(text, path), tz, name=str(path))


def parse_track(text: str, fmt: str, tz: tzinfo = timezone.utc, name: str = "<track>") -> GpsTrack:
    """Parse track text in ``fmt`` (one of FORMATS); ``name`` is used in error messages."""
    parsers = {"gpx": _parse_gpx, "nmea": _parse_nmea, "csv": _parse_csv, "srt": _parse_srt}
    if fmt not in parsers:
        raise GpsFormatError(f"{name}: unknown GPS track format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return parsers[fmt](text.replace("\r\n", "\n").replace("\r", "\n"), tz, name)


def haversine_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> float | np.ndarray:
    """Great-circle distance in metres between points in degrees (scalars or arrays of one shape)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.subtract(lon2, lon1)) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def bearing_deg(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> float | np.ndarray:
    """Initial great-circle bearing from point 1 to point 2, degrees in [0, 360) (scalars or arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.subtract(lon2, lon1))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0


def destination(lat: float, lon: float, bearing_deg: float, metres: float) -> tuple[float, float]:
    """The point ``metres`` from (lat, lon) along ``bearing_deg``, as (lat, lon) degrees."""
    d = metres / EARTH_RADIUS_M
    p1, l1, b = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 180.0) % 360.0 - 180.0


_MOUNT_TURN_DEG = {"forward": 0.0, "right": 90.0, "left": -90.0}


def camera_offset(pos: Position, mount: Literal["forward", "left", "right"], metres: float) -> tuple[float, float]:
    """Where an object ``metres`` from the camera lies, toward the side the camera faces, as (lat, lon).

    forward = along the heading, right = heading + 90, left = heading - 90; without a heading the camera position.
    """
    if mount not in _MOUNT_TURN_DEG:
        raise ValueError(f"camera mount must be one of {', '.join(_MOUNT_TURN_DEG)}, not {mount!r}")
    if pos.heading_deg is None:
        return pos.lat, pos.lon
    return destination(pos.lat, pos.lon, pos.heading_deg + _MOUNT_TURN_DEG[mount], metres)


# --- building a track ---------------------------------------------------------------------------


class _Fix(NamedTuple):
    t: float  # epoch seconds (or seconds from the video start)
    lat: float
    lon: float
    course: float | None = None  # degrees
    speed: float | None = None  # m/s


def _build(fixes: list[_Fix], skipped: int, name: str, video_relative: bool = False) -> GpsTrack:
    """Sort by time, merge fixes of one time (the first position, the first known course and speed),
    drop invalid fixes (counted as skipped) and fixes at (0, 0)."""
    valid = [f for f in fixes if math.isfinite(f.t) and _valid_latlon(f.lat, f.lon)]
    skipped += len(fixes) - len(valid)
    merged: list[_Fix] = []
    for fix in sorted(valid, key=lambda f: f.t):
        if merged and merged[-1].t == fix.t:
            last = merged[-1]
            merged[-1] = last._replace(
                course=last.course if last.course is not None else fix.course,
                speed=last.speed if last.speed is not None else fix.speed,
            )
        else:
            merged.append(fix)
    if not merged:
        raise GpsFormatError(f"{name}: no valid GPS fix ({skipped} invalid lines or points skipped)")
    t, lat, lon, course, speed = zip(*merged)
    return GpsTrack(t, lat, lon, _column(course), _column(speed), video_relative=video_relative, skipped_lines=skipped)


def _valid_latlon(lat: float, lon: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 and (lat, lon) != (0.0, 0.0)


def _column(values: Iterable[float | None]) -> np.ndarray | None:
    """Per-fix optional values as float64 with NaN where missing, or None when all are missing."""
    array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return None if np.all(np.isnan(array)) else array


def _forward_fill(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last non-NaN value before it (kept NaN when there is none)."""
    index = np.maximum.accumulate(np.where(np.isnan(values), 0, np.arange(len(values))))
    return values[index]


def _blend(a: float, b: float, f: float, circular: bool = False) -> float:
    """a..b at fraction f, ignoring a NaN end (NaN when both are); circular goes the short way round 360."""
    if math.isnan(a):
        return float(b)
    if math.isnan(b):
        return float(a)
    d = (b - a + 180.0) % 360.0 - 180.0 if circular else b - a
    return float((a + d * f) % 360.0 if circular else a + d * f)


def _known(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _epoch(when: datetime | float) -> float:
    """Epoch seconds from an aware datetime (naive = UTC) or a number of seconds."""
    if isinstance(when, datetime):
        return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
    return float(when)


def _parse_time(value: str, tz: tzinfo) -> float:
    """Epoch seconds from ISO-8601 (naive = ``tz``) or unix seconds or milliseconds; ValueError otherwise."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        stamp = datetime.fromisoformat(value.replace("/", "-"))
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=tz)).timestamp()
    if not math.isfinite(number):
        raise ValueError(f"not a time: {value!r}")
    return number / 1000.0 if number > 1e11 else number  # 1e11 s is the year 5138


def _sniff(text: str, path: Path) -> str:
    """The format of track text, from its content, else from the file extension."""
    if re.search(r"<(\w+:)?gpx\b", text):
        return "gpx"
    if re.search(r"^\s*\$\w\w(RMC|GGA),", text, re.M):
        return "nmea"
    if re.search(r"^\s*\d+\s*\n\s*\d+:\d\d:\d\d[,.]\d+\s*-->", text, re.M):
        return "srt"
    header = text.lstrip().split("\n", 1)[0]
    if _csv_columns(next(csv.reader([header], delimiter=_csv_delimiter(header)), [])) is not None:
        return "csv"
    by_extension = {".gpx": "gpx", ".nmea": "nmea", ".nma": "nmea", ".csv": "csv", ".srt": "srt"}
    if path.suffix.lower() in by_extension:
        return by_extension[path.suffix.lower()]
    raise GpsFormatError(f"{path}: not a recognised GPS track (GPX, NMEA 0183, CSV or SRT)")


# --- GPX ----------------------------------------------------------------------------------------


def _parse_gpx(text: str, tz: tzinfo, name: str) -> GpsTrack:
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
                _Fix(
                    _parse_time(children["time"], timezone.utc),
                    float(point.get("lat", "")),
                    float(point.get("lon", "")),
                    _optional_float(children.get("course", "")),
                    _optional_float(children.get("speed", "")),
                )
            )
        except (KeyError, ValueError):
            continue
    return _build(fixes, len(chosen) - len(fixes), name)


def _local(tag: str) -> str:
    """An XML tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _optional_float(value: str) -> float | None:
    return float(value) if value.strip() else None


# --- NMEA 0183 ----------------------------------------------------------------------------------


@dataclass
class _NmeaFix:
    tod: float  # seconds since midnight UTC
    day: date | None  # None for GGA until dated from a neighbouring RMC
    lat: float
    lon: float
    course: float | None = None
    speed: float | None = None


def _parse_nmea(text: str, tz: tzinfo, name: str) -> GpsTrack:
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
        _Fix(datetime.combine(f.day, time(), timezone.utc).timestamp() + f.tod, f.lat, f.lon, f.course, f.speed)
        for f in found
        if f.day is not None
    ]
    return _build(fixes, skipped + len(found) - len(fixes), name)


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
        speed = _optional_float(fields[7])
        return _NmeaFix(
            _nmea_time(fields[1]),
            _nmea_date(fields[9]),
            _nmea_angle(fields[3], fields[4], "NS"),
            _nmea_angle(fields[5], fields[6], "EW"),
            _optional_float(fields[8]),
            None if speed is None else speed * KNOT_MPS,
        )
    if kind == "GGA":
        if fields[6] in ("", "0"):
            raise ValueError("GGA without a fix")
        lat, lon = _nmea_angle(fields[2], fields[3], "NS"), _nmea_angle(fields[4], fields[5], "EW")
        return _NmeaFix(_nmea_time(fields[1]), None, lat, lon)
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
    ref: _NmeaFix | None = None
    for fix in fixes:
        if fix.day is None and ref is not None:
            fix.day = ref.day + timedelta(days=-round((fix.tod - ref.tod) / 86400.0))
        if fix.day is not None:
            ref = fix


# --- CSV ----------------------------------------------------------------------------------------

_CSV_COLUMNS = {
    "time": ("time", "timestamp", "datetime", "date_time", "gps_time"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "long", "longitude"),
    "course": ("course", "heading"),
    "speed": ("speed", "speed_mps"),  # m/s
}


def _csv_delimiter(header: str) -> str:
    return max(",;\t", key=header.count)


def _csv_columns(header: list[str]) -> dict[str, int] | None:
    """Column index per role ("time", "lat", "lon", optional "course", "speed"); None without time/lat/lon."""
    names = [re.sub(r"[\s-]+", "_", h.strip().strip('"').lower()) for h in header]
    columns = {
        role: next(i for i, n in enumerate(names) if n in aliases)
        for role, aliases in _CSV_COLUMNS.items()
        if any(n in aliases for n in names)
    }
    return columns if {"time", "lat", "lon"} <= columns.keys() else None


def _parse_csv(text: str, tz: tzinfo, name: str) -> GpsTrack:
    """A header row, then one fix per row; ISO-8601 times (naive = ``tz``) or unix seconds/milliseconds."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise GpsFormatError(f"{name}: empty CSV")
    rows = csv.reader(lines[first:], delimiter=_csv_delimiter(lines[first]))
    columns = _csv_columns(next(rows))
    if columns is None:
        raise GpsFormatError(f"{name}: line {first + 1}: CSV header needs time, lat and lon columns")
    fixes, skipped = [], 0
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        try:
            fixes.append(
                _Fix(
                    _parse_time(row[columns["time"]], tz),
                    float(row[columns["lat"]]),
                    float(row[columns["lon"]]),
                    _optional_float(row[columns["course"]] if "course" in columns else ""),
                    _optional_float(row[columns["speed"]] if "speed" in columns else ""),
                )
            )
        except (ValueError, IndexError):
            skipped += 1
    return _build(fixes, skipped, name)


# --- DJI-style SRT ------------------------------------------------------------------------------

_NUMBER = r"(-?\d+(?:\.\d+)?)"
_SRT_START = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{1,3})\s*-->")
_SRT_CLOCK = re.compile(r"(\d{4})[-./](\d\d)[-./](\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(?:,(\d+))?")
_SRT_LAT = re.compile(r"\blatitude\s*:\s*" + _NUMBER, re.I)
_SRT_LON = re.compile(r"\blongt?itude\s*:\s*" + _NUMBER, re.I)  # DJI writes "longtitude"
_SRT_GPS = re.compile(r"\bGPS\s*\(\s*" + _NUMBER + r"\s*,\s*" + _NUMBER)  # lon first


def _parse_srt(text: str, tz: tzinfo, name: str) -> GpsTrack:
    """Subtitle blocks with a position; absolute times from the clock in the text (naive = ``tz``),
    else seconds from the video start (``video_relative``)."""
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    parsed = []
    for block in blocks:
        try:
            parsed.append(_srt_block(block, tz))
        except ValueError:
            continue
    absolute = any(clock is not None for _, clock, _, _ in parsed)
    fixes = [
        _Fix(clock if absolute else start, lat, lon)
        for start, clock, lat, lon in parsed
        if clock is not None or not absolute
    ]
    return _build(fixes, len(blocks) - len(fixes), name, video_relative=not absolute)


def _srt_block(block: str, tz: tzinfo) -> tuple[float, float | None, float, float]:
    """(subtitle start s, clock epoch s or None, lat, lon) of one block; ValueError without a start or position."""
    start = _SRT_START.search(block)
    if start is None:
        raise ValueError("no subtitle timing")
    text = re.sub(r"<[^>]*>", " ", block[start.end():])
    lat, lon = _SRT_LAT.search(text), _SRT_LON.search(text)
    gps = _SRT_GPS.search(text)
    if lat and lon:
        position = float(lat[1]), float(lon[1])
    elif gps:
        position = float(gps[2]), float(gps[1])
    else:
        raise ValueError("no position")
    h, m, s, ms = start.groups()
    clock = _SRT_CLOCK.search(text)
    epoch = None if clock is None else _srt_clock(clock, tz)
    return int(h) * 3600 + int(m) * 60 + float(f"{s}.{ms}"), epoch, *position


def _srt_clock(match: re.Match[str], tz: tzinfo) -> float:
    """Epoch seconds of ``2023-05-01 12:34:56.789`` or ``...:56,789,123`` (ms, then µs) in ``tz``."""
    year, month, day, hour, minute, second, fraction, micro = match.groups()
    stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz)
    return stamp.timestamp() + float(f"0.{fraction or 0}") + (int(micro) / 1e6 if micro else 0.0)
