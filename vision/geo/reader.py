"""Reading a GPS track file: its format recognised from the content, else the file name ending."""

from __future__ import annotations

import csv
import re
from datetime import UTC, tzinfo
from pathlib import Path

from vision.geo import csv as csv_track
from vision.geo import gpx, nmea, srt
from vision.geo.track import GpsFormatError, GpsTrack

FORMATS = ("gpx", "nmea", "csv", "srt")
TRACK_SUFFIXES = frozenset({".gpx", ".nmea", ".nma", ".csv", ".srt", ".txt", ".log"})
"""File name endings taken for GPS tracks (``.txt``/``.log``: NMEA logs) when files come mixed with videos."""
_PARSERS = {"gpx": gpx.parse, "nmea": nmea.parse, "csv": csv_track.parse, "srt": srt.parse}


def load_track(path: str | Path, fmt: str | None = None, tz: tzinfo = UTC) -> GpsTrack:
    """Read a track file; ``fmt`` one of FORMATS or None to recognise it from its content, then its extension.

    Naive times (CSV without offset, DJI SRT clock) are in ``tz``; GPX and NMEA times are UTC.
    """
    path = Path(path)
    data = path.read_bytes()
    if b"\0" in data:
        raise GpsFormatError(f"{path}: binary data, not a GPS track")
    text = data.decode("utf-8-sig", errors="replace")
    return parse_track(text, fmt or _sniff(text, path), tz, name=str(path))


def parse_track(text: str, fmt: str, tz: tzinfo = UTC, name: str = "<track>") -> GpsTrack:
    """Parse track text in ``fmt`` (one of FORMATS); ``name`` is used in error messages."""
    if fmt not in _PARSERS:
        raise GpsFormatError(f"{name}: unknown GPS track format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return _PARSERS[fmt](text.replace("\r\n", "\n").replace("\r", "\n"), tz, name)


def _sniff(text: str, path: Path) -> str:
    """The format of track text, from its content, else from the file extension."""
    if re.search(r"<(\w+:)?gpx\b", text):
        return "gpx"
    if re.search(r"^\s*\$\w\w(RMC|GGA),", text, re.M):
        return "nmea"
    if re.search(r"^\s*\d+\s*\n\s*\d+:\d\d:\d\d[,.]\d+\s*-->", text, re.M):
        return "srt"
    header = text.lstrip().split("\n", 1)[0]
    if csv_track.header_columns(next(csv.reader([header], delimiter=csv_track.delimiter(header)), [])) is not None:
        return "csv"
    by_extension = {".gpx": "gpx", ".nmea": "nmea", ".nma": "nmea", ".csv": "csv", ".srt": "srt"}
    if path.suffix.lower() in by_extension:
        return by_extension[path.suffix.lower()]
    raise GpsFormatError(f"{path}: not a recognised GPS track (GPX, NMEA 0183, CSV or SRT)")
