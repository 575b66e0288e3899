"""The GPS track type: time-ordered fixes, a position interpolated at any time, and how the format
readers build one.

Times are epoch seconds UTC unless a track is ``video_relative`` (then seconds from the video start);
distances metres, angles degrees (0 = north, clockwise), speeds m/s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from vision.geo.geodesy import Position, bearing_deg, haversine_m

STATIONARY_MPS = 0.5  # slower segments give no heading: GPS jitter, not motion
UERE_M = 4.0
"""Metres of position error (one standard deviation) per unit of HDOP: a consumer receiver's user
equivalent range error, so HDOP 1 reads as a fix good to about 4 m."""


class GpsFormatError(ValueError):
    """A track file that cannot be read; the message names the file and, where relevant, the line."""


class GpsTrack:
    """Time-ordered fixes as arrays of shape (N,).

    t: float64 epoch seconds UTC (seconds from the video start when ``video_relative``), strictly increasing.
    lat, lon: WGS-84 degrees. course: recorded course over ground in degrees, speed: recorded m/s,
    hdop: recorded horizontal dilution of precision; each None when the source has none, NaN at fixes
    without a value.
    """

    def __init__(
        self,
        t: ArrayLike,
        lat: ArrayLike,
        lon: ArrayLike,
        course: ArrayLike | None = None,
        speed: ArrayLike | None = None,
        hdop: ArrayLike | None = None,
        *,
        video_relative: bool = False,
        skipped_lines: int = 0,
    ) -> None:
        self.t = np.asarray(t, dtype=np.float64)
        self.lat = np.asarray(lat, dtype=np.float64)
        self.lon = np.asarray(lon, dtype=np.float64)
        self.course = None if course is None else np.asarray(course, dtype=np.float64)
        self.speed = None if speed is None else np.asarray(speed, dtype=np.float64)
        self.hdop = None if hdop is None else np.asarray(hdop, dtype=np.float64)
        n = len(self.t)
        self._course, self._speed, self._hdop = (
            np.full(n, np.nan) if a is None else a for a in (self.course, self.speed, self.hdop)
        )
        if n == 0 or any(len(a) != n for a in (self.lat, self.lon, self._course, self._speed, self._hdop)):
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
        return datetime.fromtimestamp(float(self.t[0]), UTC)

    @property
    def end(self) -> datetime:
        """The last fix (UTC; the epoch plus the offset when video_relative)."""
        return datetime.fromtimestamp(float(self.t[-1]), UTC)

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
            accuracy_m=_accuracy(_blend(self._hdop[i], self._hdop[i + 1], f)),
        )

    def _fix(self, k: int) -> Position:
        """Fix k alone: recorded course, else the last heading before it; recorded speed or None."""
        heading = self._course[k]
        if math.isnan(heading) and k > 0:
            heading = self._held_heading[k - 1]
        return Position(
            float(self.lat[k]), float(self.lon[k]), _known(heading), _known(self._speed[k]), _accuracy(self._hdop[k])
        )


class Fix(NamedTuple):
    t: float  # epoch seconds (or seconds from the video start)
    lat: float
    lon: float
    course: float | None = None  # degrees
    speed: float | None = None  # m/s
    hdop: float | None = None


def build_track(fixes: list[Fix], skipped: int, name: str, video_relative: bool = False) -> GpsTrack:
    """Sort by time, merge fixes of one time (the first position, the first known course, speed and HDOP),
    drop invalid fixes (counted as skipped) and fixes at (0, 0)."""
    valid = [f for f in fixes if math.isfinite(f.t) and _valid_latlon(f.lat, f.lon)]
    skipped += len(fixes) - len(valid)
    merged: list[Fix] = []
    for fix in sorted(valid, key=lambda f: f.t):
        if merged and merged[-1].t == fix.t:
            last = merged[-1]
            merged[-1] = last._replace(
                course=last.course if last.course is not None else fix.course,
                speed=last.speed if last.speed is not None else fix.speed,
                hdop=last.hdop if last.hdop is not None else fix.hdop,
            )
        else:
            merged.append(fix)
    if not merged:
        raise GpsFormatError(f"{name}: no valid GPS fix ({skipped} invalid lines or points skipped)")
    t, lat, lon, course, speed, hdop = zip(*merged)
    return GpsTrack(
        t,
        lat,
        lon,
        _column(course),
        _column(speed),
        _column(hdop),
        video_relative=video_relative,
        skipped_lines=skipped,
    )


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


def _accuracy(hdop: float) -> float | None:
    """Metres of position error for an HDOP (NaN: unknown -> None)."""
    return None if math.isnan(hdop) or hdop <= 0 else round(float(hdop) * UERE_M, 2)


def _epoch(when: datetime | float) -> float:
    """Epoch seconds from an aware datetime (naive = UTC) or a number of seconds."""
    if isinstance(when, datetime):
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return float(when)


def parse_time(value: str, tz: tzinfo) -> float:
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


def optional_float(value: str) -> float | None:
    return float(value) if value.strip() else None
