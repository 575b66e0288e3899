"""GPS: geodesy on WGS-84 degrees, the GPS track type, and one reader per track format (GPX, NMEA 0183,
CSV, DJI-style SRT) behind ``load_track``.

Distances are metres, angles degrees (bearings 0 = north, clockwise), times epoch seconds UTC unless a
track is ``video_relative`` (then seconds from the video start).
"""

from vision.geo.geodesy import EARTH_RADIUS_M, Mount, Position, bearing_deg, camera_offset, destination, haversine_m
from vision.geo.reader import FORMATS, TRACK_SUFFIXES, load_track, parse_track
from vision.geo.track import GpsFormatError, GpsTrack

__all__ = [
    "EARTH_RADIUS_M",
    "FORMATS",
    "TRACK_SUFFIXES",
    "GpsFormatError",
    "GpsTrack",
    "Mount",
    "Position",
    "bearing_deg",
    "camera_offset",
    "destination",
    "haversine_m",
    "load_track",
    "parse_track",
]
