"""DJI-style SRT subtitles: one position per subtitle block, with the recording clock when the text has one."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from vision.geo.track import Fix, GpsTrack, build_track

_NUMBER = r"(-?\d+(?:\.\d+)?)"
_SRT_START = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{1,3})\s*-->")
_SRT_CLOCK = re.compile(r"(\d{4})[-./](\d\d)[-./](\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(?:,(\d+))?")
_SRT_LAT = re.compile(r"\blatitude\s*:\s*" + _NUMBER, re.I)
_SRT_LON = re.compile(r"\blongt?itude\s*:\s*" + _NUMBER, re.I)  # DJI writes "longtitude"
_SRT_GPS = re.compile(r"\bGPS\s*\(\s*" + _NUMBER + r"\s*,\s*" + _NUMBER)  # lon first


def parse(text: str, tz: tzinfo, name: str) -> GpsTrack:
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
        Fix(start if clock is None else clock, lat, lon)
        for start, clock, lat, lon in parsed
        if clock is not None or not absolute
    ]
    return build_track(fixes, len(blocks) - len(fixes), name, video_relative=not absolute)


def _srt_block(block: str, tz: tzinfo) -> tuple[float, float | None, float, float]:
    """(subtitle start s, clock epoch s or None, lat, lon) of one block; ValueError without a start or position."""
    start = _SRT_START.search(block)
    if start is None:
        raise ValueError("no subtitle timing")
    text = re.sub(r"<[^>]*>", " ", block[start.end() :])
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
