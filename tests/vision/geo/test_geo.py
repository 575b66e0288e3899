"""GPS tracks: the four formats, time zones, interpolation rules, camera offsets, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import reduce
from operator import xor
from pathlib import Path

import numpy as np
import pytest

from vision.geo import (
    GpsFormatError,
    GpsTrack,
    Position,
    bearing_deg,
    camera_offset,
    destination,
    haversine_m,
    load_track,
    parse_track,
)

TRACKS = Path(__file__).resolve().parents[3] / "samples" / "tracks"
CST = timezone(timedelta(hours=8))
SAMPLE_START = datetime(2025, 5, 9, 9, 30, tzinfo=UTC)


def nmea(body: str) -> str:
    """A sentence with its checksum."""
    return f"${body}*{reduce(xor, body.encode(), 0):02X}"


def east_track(times: list[float], step_deg: float = 0.0000441) -> GpsTrack:
    """Fixes moving east along 35.497 N, ``step_deg`` of longitude per fix."""
    return GpsTrack(np.array(times), np.full(len(times), 35.497), 112.851 + step_deg * np.arange(len(times)))


# --- formats --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sample.gpx", "sample.nmea", "sample.csv", "sample.srt"])
def test_samples_describe_one_track(name: str, tmp_path: Path) -> None:
    path = tmp_path / "track.txt"  # recognised by content alone
    path.write_bytes((TRACKS / name).read_bytes())
    track = load_track(path, tz=CST)  # CSV and SRT clocks are local time, UTC+8
    assert (len(track), track.start, track.skipped_lines, track.video_relative) == (5, SAMPLE_START, 0, False)
    pos = track.at(SAMPLE_START + timedelta(seconds=2.5))
    assert pos.lon == pytest.approx(112.851 + 2.5 * 0.0000441, abs=1e-6)
    assert pos.heading_deg == pytest.approx(90.0, abs=0.01)
    assert pos.speed_mps == pytest.approx(4.0, abs=0.05)


def test_patrol_gpx(patrol_dir: Path) -> None:
    track = load_track(patrol_dir / "patrol.gpx")
    assert len(track) == 41
    assert track.start == datetime(2025, 5, 9, 9, 30, tzinfo=UTC)
    pos = track.at(track.start + timedelta(seconds=12.3))
    assert pos.speed_mps == pytest.approx(4.0, abs=0.05)
    assert pos.heading_deg == pytest.approx(90.0, abs=0.01)


def test_gpx_namespaces_points_without_time_and_routes() -> None:
    text = """<?xml version="1.0"?>
<g:gpx xmlns:g="http://www.topografix.com/GPX/1/1"><g:rte>
  <g:rtept lat="35.0" lon="112.0"><g:time>2025-05-09T09:30:00+08:00</g:time></g:rtept>
  <g:rtept lat="35.0" lon="112.001"/>
  <g:rtept lat="35.0" lon="112.002"><g:time>2025-05-09T01:30:10</g:time></g:rtept>
</g:rte><g:wpt lat="1" lon="1"><g:time>2025-01-01T00:00:00Z</g:time></g:wpt></g:gpx>"""
    track = parse_track(text, "gpx")
    assert len(track) == 2 and track.skipped_lines == 1
    assert track.start == datetime(2025, 5, 9, 1, 30, tzinfo=UTC)  # naive GPX time is UTC
    assert track.end - track.start == timedelta(seconds=10)


def test_gpx_malformed_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.gpx"
    path.write_text('<gpx>\n<trk><trkpt lat="1" lon="2">\n</trk></gpx>')
    with pytest.raises(GpsFormatError, match=r"broken\.gpx: line 3"):
        load_track(path)


def test_nmea_checksums_garbage_and_invalid_fixes() -> None:
    good = nmea("GPRMC,093000.00,A,3529.82000,N,11251.06000,E,7.78,90.0,090525,,,A")
    text = "\n".join(
        [
            good,
            good.replace("3529.82", "3529.83"),  # checksum no longer matches
            "\x00\x17garbage#%",
            nmea("GPRMC,093001.00,V,3529.82000,N,11251.06265,E,7.78,90.0,090525,,,N"),  # status V
            nmea("GPGGA,093002.00,3529.82000,N,11251.06530,E,0,00,,,M,,M,,"),  # quality 0
            nmea("GPRMC,093003.00,A,3529.82,X,11251.06,E,,,090525,,,A"),  # bad hemisphere
            nmea("GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00"),  # ignored
            "$GPRMC,093004.00,A,3529.82000,S,11251.07000,W,0.00,,090525,,,A",  # no checksum: accepted
        ]
    )
    track = parse_track(text, "nmea")
    assert len(track) == 2 and track.skipped_lines == 5
    assert track.lat[1] == pytest.approx(-(35 + 29.82 / 60)) and track.lon[1] == pytest.approx(-(112 + 51.07 / 60))
    assert track.speed[0] == pytest.approx(4.0, abs=0.01)  # 7.78 knots


def test_nmea_gga_and_rmc_of_one_second_are_one_fix() -> None:
    text = "\n".join(
        [
            nmea("GNGGA,093000.00,3529.82000,N,11251.06000,E,1,09,0.9,720.0,M,-20.0,M,,"),
            nmea("GNRMC,093000.00,A,3529.82000,N,11251.06000,E,7.78,45.0,090525,,,A"),
        ]
    )
    track = parse_track(text, "nmea")
    assert len(track) == 1 and track.course[0] == 45.0
    assert track.at(SAMPLE_START).heading_deg == 45.0


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        (
            "gpx",
            """<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
  <trkpt lat="35.497" lon="112.851"><time>2025-05-09T09:30:00Z</time><hdop>0.9</hdop></trkpt>
  <trkpt lat="35.497" lon="112.8510441"><time>2025-05-09T09:30:01Z</time><hdop>2.5</hdop></trkpt>
  <trkpt lat="35.497" lon="112.8510882"><time>2025-05-09T09:30:02Z</time></trkpt>
</trkseg></trk></gpx>""",
        ),
        (
            "nmea",
            "\n".join(
                [
                    nmea("GNRMC,093000.00,A,3529.82000,N,11251.06000,E,7.78,90.0,090525,,,A"),
                    nmea("GNGGA,093000.00,3529.82000,N,11251.06000,E,1,09,0.9,720.0,M,-20.0,M,,"),
                    nmea("GNGGA,093001.00,3529.82000,N,11251.06265,E,1,05,2.5,720.0,M,-20.0,M,,"),
                    nmea("GNRMC,093002.00,A,3529.82000,N,11251.06530,E,7.78,90.0,090525,,,A"),
                ]
            ),
        ),
        (
            "csv",
            "time,lat,lon,HDOP\n1746783000,35.497,112.851,0.9\n1746783001,35.497,112.8510441,2.5\n"
            "1746783002,35.497,112.8510882,\n",
        ),
    ],
)
def test_hdop_gives_each_position_its_accuracy(fmt: str, text: str) -> None:
    track = parse_track(text, fmt)
    assert track.hdop is not None and list(track.hdop[:2]) == [0.9, 2.5] and np.isnan(track.hdop[2])
    assert track.at(SAMPLE_START).accuracy_m == pytest.approx(3.6)  # HDOP 0.9 x 4 m
    assert track.at(SAMPLE_START + timedelta(seconds=0.5)).accuracy_m == pytest.approx(6.8)  # HDOP 1.7
    assert track.at(SAMPLE_START + timedelta(seconds=1.5)).accuracy_m == pytest.approx(10.0)  # the known end


def test_a_track_without_hdop_gives_no_accuracy() -> None:
    assert east_track([0.0, 1.0]).hdop is None and east_track([0.0, 1.0]).at(0.5).accuracy_m is None


def test_nmea_midnight_rollover_in_gga_stretch() -> None:
    text = "\n".join(
        [
            nmea("GPGGA,235958.00,3529.82000,N,11251.06000,E,1,09,0.9,720.0,M,-20.0,M,,"),  # before any RMC
            nmea("GPRMC,235959.00,A,3529.82000,N,11251.06265,E,7.78,90.0,311224,,,A"),
            nmea("GPGGA,000000.00,3529.82000,N,11251.06530,E,1,09,0.9,720.0,M,-20.0,M,,"),
            nmea("GPGGA,000001.00,3529.82000,N,11251.06795,E,1,09,0.9,720.0,M,-20.0,M,,"),
        ]
    )
    track = parse_track(text, "nmea")
    assert track.start == datetime(2024, 12, 31, 23, 59, 58, tzinfo=UTC)
    assert track.end == datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert np.allclose(np.diff(track.t), 1.0)


def test_csv_delimiters_epochs_and_offsets() -> None:
    semicolon = "GPS Time;Lat;Lng\n1746783000000;35.497;112.851\n1746783001000;35.497;112.8510441\n"
    tab = "timestamp\tlatitude\tlongitude\tcourse\n1746783000\t35.497\t112.851\t90\n"
    offset = "date_time,lat,lon\n2025-05-09T17:30:00+08:00,35.497,112.851\n2025-05-09T09:30:01Z,35.497,112.8510441\n"
    assert parse_track(semicolon, "csv").start == SAMPLE_START
    assert parse_track(tab, "csv").course[0] == 90.0
    for tz in (UTC, CST):  # explicit offsets ignore tz
        assert parse_track(offset, "csv", tz=tz).start == SAMPLE_START


def test_csv_naive_times_use_tz_and_bad_rows_are_skipped() -> None:
    text = "\n".join(
        [
            "time,lat,lon,speed",
            "2025-05-09 17:30:00,35.497,112.851,4",
            "2025-05-09 17:30:01,35.497,112.8510441,",  # empty speed is fine
            "yesterday,35.497,112.851,4",
            "2025-05-09 17:30:02,95.0,112.851,4",  # latitude out of range
            "2025-05-09 17:30:03,35.497",  # too few cells
            "2025-05-09 17:30:04,0,0,0",  # no fix
            "",
        ]
    )
    track = parse_track(text, "csv", tz=CST)
    assert track.start == SAMPLE_START and len(track) == 2 and track.skipped_lines == 4
    assert parse_track(text, "csv").start == SAMPLE_START + timedelta(hours=8)


def test_csv_without_position_columns(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("when,x,y\n1,2,3\n")
    with pytest.raises(GpsFormatError, match=r"odd\.csv: line 1"):
        load_track(path)


def test_srt_dji_clock_with_microseconds_and_misspelling() -> None:
    text = (
        '1\n00:00:00,000 --> 00:00:00,033\n<font size="28">FrameCnt: 1, DiffTime: 33ms\n'
        "2023-05-01 12:34:56,789,123\n[latitude : 35.12] [longtitude : 112.34] [altitude: 20.0]</font>\n\n"
        '2\n00:00:00,033 --> 00:00:00,066\n<font size="28">FrameCnt: 2\n'
        "2023-05-01 12:34:56,822,456\n[latitude : 35.12001] [longtitude : 112.34]</font>\n\n"
        "3\n00:00:00,066 --> 00:00:00,100\nno position in this one\n"
    )
    track = parse_track(text, "srt", tz=CST)
    assert not track.video_relative and len(track) == 2 and track.skipped_lines == 1
    assert track.t[0] == pytest.approx(datetime(2023, 5, 1, 4, 34, 56, 789123, tzinfo=UTC).timestamp())
    assert (track.lat[0], track.lon[0]) == (35.12, 112.34)


def test_srt_without_clock_is_video_relative() -> None:
    text = "".join(
        f"{i + 1}\n00:00:{i:02d},500 --> 00:00:{i + 1:02d},500\n"
        f"HOME(112.3400,35.1200) GPS({112.34 + i * 1e-4:.4f},35.1200,20)\n\n"
        for i in range(3)
    )
    track = parse_track(text, "srt")
    assert track.video_relative and list(track.t) == [0.5, 1.5, 2.5]
    assert track.start == datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)
    assert track.at(1.0).heading_deg == pytest.approx(90.0, abs=0.01)


# --- interpolation ---------------------------------------------------------------------------------


def test_midpoint_and_heading() -> None:
    track = east_track([0.0, 10.0], step_deg=0.001)  # about 90 m in 10 s
    a, b = (track.lat[0], track.lon[0]), (track.lat[1], track.lon[1])
    middle = destination(*a, float(bearing_deg(*a, *b)), float(haversine_m(*a, *b)) / 2)
    pos = track.at(5.0)
    assert haversine_m(pos.lat, pos.lon, *middle) < 0.5
    assert pos.heading_deg == pytest.approx(90.0, abs=0.01)
    assert pos.speed_mps == pytest.approx(haversine_m(*a, *b) / 10)


def test_none_outside_range_and_across_gaps() -> None:
    track = east_track([100.0, 101.0, 115.0, 116.0])
    assert track.at(99.9) is None and track.at(116.1) is None
    assert track.at(108.0) is None  # 14 s between fixes
    assert track.at(108.0, max_gap_s=20.0) is not None
    assert track.at(101.0).lon == track.lon[1]  # a fix itself is no guess
    assert track.at(100.5) is not None and track.at(115.5) is not None


def test_datetimes_naive_is_utc() -> None:
    track = east_track([SAMPLE_START.timestamp(), SAMPLE_START.timestamp() + 1])
    half = SAMPLE_START + timedelta(seconds=0.5)
    assert track.at(half) == track.at(half.replace(tzinfo=None)) == track.at(half.astimezone(CST))


def test_stationary_heading() -> None:
    still_then_east = GpsTrack(np.arange(4.0), np.full(4, 35.497), [112.851, 112.851, 112.8510441, 112.8510441])
    assert still_then_east.at(0.5).heading_deg is None
    assert still_then_east.at(1.5).heading_deg == pytest.approx(90.0, abs=0.01)
    assert still_then_east.at(2.5).heading_deg == pytest.approx(90.0, abs=0.01)  # stopped: kept
    assert still_then_east.at(2.5).speed_mps == 0.0


def test_recorded_course_wins_and_wraps_north() -> None:
    track = GpsTrack([0.0, 1.0], [35.497, 35.497], [112.851, 112.8510441], course=[350.0, 10.0])
    assert track.at(0.5).heading_deg == pytest.approx(0.0)
    assert track.at(0.25).heading_deg == pytest.approx(355.0)


def test_sorting_duplicates_and_null_island() -> None:
    text = "time,lat,lon\n3,35.497,112.8511\n1,35.497,112.851\n1,35.5,112.9\n2,0,0\n"
    track = parse_track(text, "csv")
    assert list(track.t) == [1.0, 3.0] and track.lon[0] == 112.851 and track.skipped_lines == 1


def test_across_the_antimeridian() -> None:
    pos = GpsTrack([0.0, 1.0], [10.0, 10.0], [179.99998, -179.99998]).at(0.5)
    assert abs(pos.lon) == pytest.approx(180.0) and pos.heading_deg == pytest.approx(90.0, abs=0.01)


# --- geometry --------------------------------------------------------------------------------------


def test_geometry() -> None:
    assert haversine_m(35.0, 112.0, 36.0, 112.0) == pytest.approx(111_195, rel=1e-4)
    assert np.allclose(haversine_m(np.zeros(2), np.zeros(2), np.ones(2), np.zeros(2)), 111_195, rtol=1e-4)
    assert bearing_deg(35.0, 112.0, 35.0, 112.1) == pytest.approx(90.0, abs=0.05)
    assert bearing_deg(35.0, 112.0, 34.9, 112.0) == pytest.approx(180.0)
    lat, lon = destination(35.0, 112.0, 30.0, 250.0)
    assert haversine_m(35.0, 112.0, lat, lon) == pytest.approx(250.0)
    assert bearing_deg(35.0, 112.0, lat, lon) == pytest.approx(30.0)


def test_camera_offset_on_an_eastward_track() -> None:
    pos = Position(35.497, 112.851, 90.0, 4.0)
    right, left, ahead = (camera_offset(pos, mount, 8.0) for mount in ("right", "left", "forward"))
    assert right[0] < pos.lat and haversine_m(pos.lat, pos.lon, *right) == pytest.approx(8.0)
    assert right[1] == pytest.approx(pos.lon, abs=1e-9)
    assert left[0] > pos.lat and ahead[1] > pos.lon
    assert camera_offset(Position(35.497, 112.851, None, None), "right", 8.0) == (35.497, 112.851)
    with pytest.raises(ValueError):
        camera_offset(pos, "up", 8.0)  # type: ignore[arg-type]


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, data",
    [
        ("garbage.txt", b"hello\nthis is not a track\n"),
        ("empty.gpx", b""),
        ("binary.bin", bytes(range(256)) * 4),
        ("nofix.nmea", nmea("GPRMC,093000.00,V,,,,,,,090525,,,N").encode()),
        ("notes.srt", b"1\n00:00:00,000 --> 00:00:01,000\nhello\n"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(GpsFormatError, match=name.replace(".", r"\.")):
        load_track(path)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(GpsFormatError, match="kml"):
        parse_track("", "kml")
