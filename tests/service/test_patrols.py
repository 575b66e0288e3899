"""Patrol passes: the route kept of each uploaded drive, and which places it covered (within reach, with
the camera facing them) and when."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from service.geometry import M_PER_DEG, point
from service.models.base import row_id
from service.models.batches import Job, JobStatus
from service.models.patrols import PatrolPass
from service.patrols import (
    Place,
    Route,
    approaches,
    covers,
    covers_geometry,
    passes_covering,
    passes_covering_each,
    record_pass,
    route_of_track,
    thin,
)
from service.settings import Settings
from service.workers.jobs import process_video
from tests.service.builders import NoDetections
from tests.vision.conftest import MakeVideo
from vision import GpsTrack

LAT0, LON0 = 35.497, 112.851
T0 = datetime(2025, 5, 9, 9, 30, tzinfo=UTC)


def north(metres: float) -> float:
    return LAT0 + metres / M_PER_DEG


def east(metres: float) -> float:
    return LON0 + metres / (M_PER_DEG * math.cos(math.radians(LAT0)))


def drive_north(seconds: int = 30, speed: float = 10.0, mount: str | None = None, start: datetime = T0) -> Route:
    """A car driving north from (LAT0, LON0) at ``speed`` m/s, one fix a second."""
    t = start.timestamp() + np.arange(seconds + 1, dtype=np.float64)
    lat = np.array([north(speed * s) for s in range(seconds + 1)])
    return Route(t, lat, np.full(len(t), LON0), mount)


def test_thinning_keeps_the_ends_and_a_fix_every_few_metres() -> None:
    route = drive_north(seconds=20, speed=2.0)  # 2 m between fixes
    keep = thin(route.t, route.lat, route.lon, step_m=5.0)
    assert keep[0] == 0 and keep[-1] == 20
    assert list(keep[:-1]) == [0, 3, 6, 9, 12, 15, 18]
    standing = Route(T0.timestamp() + np.arange(30.0), np.full(30, LAT0), np.full(30, LON0))
    assert list(thin(standing.t, standing.lat, standing.lon)) == [0, 10, 20, 29]  # parked: one fix per 10 s


@pytest.mark.parametrize(
    ("east_m", "side"),
    [(5.0, "right"), (-5.0, "left"), (0.3, None)],
)
def test_the_side_of_travel_a_place_lies_on(east_m: float, side: str | None) -> None:
    best = min(approaches(drive_north(), north(100), east(east_m)), key=lambda a: a.distance_m)
    assert best.side == side
    assert best.distance_m == pytest.approx(abs(east_m), abs=0.05)
    assert best.t == pytest.approx(T0.timestamp() + 10.0, abs=0.01)  # 100 m at 10 m/s


@pytest.mark.parametrize(
    ("mount", "east_m", "covered"),
    [
        ("right", 8.0, True),
        ("right", -8.0, False),  # the other side of the road: a right-facing camera never saw it
        ("left", -8.0, True),
        ("forward", -8.0, True),
        (None, 8.0, True),
        ("right", 25.0, False),  # out of reach
    ],
)
def test_a_pass_covers_what_its_camera_faced_within_reach(mount: str | None, east_m: float, covered: bool) -> None:
    at = covers(drive_north(mount=mount), north(150), east(east_m), radius_m=20.0)
    assert (at == T0 + timedelta(seconds=15)) if covered else at is None


def test_geometries_are_covered_by_driving_along_or_past_them() -> None:
    street = {"type": "LineString", "coordinates": [[LON0, north(50)], [LON0, north(400)]]}  # the road itself
    market = {  # a block 10-40 m east of the road, 100-160 m north
        "type": "Polygon",
        "coordinates": [
            [
                [east(10), north(100)],
                [east(40), north(100)],
                [east(40), north(160)],
                [east(10), north(160)],
                [east(10), north(100)],
            ]
        ],
    }
    right, left = drive_north(mount="right"), drive_north(mount="left")
    assert covers_geometry(right, street, 20.0) == T0 + timedelta(seconds=5)  # where the drive met the street
    assert covers_geometry(right, market, 15.0) is not None
    assert covers_geometry(left, market, 15.0) is None  # the camera looked the other way
    assert covers_geometry(right, market, 5.0) is None  # 10 m away: outside a 5 m buffer
    assert covers_geometry(right, point(north(290), east(3)), 10.0) == T0 + timedelta(seconds=29)


def test_a_track_is_cut_to_the_video_it_belongs_to() -> None:
    t = T0.timestamp() + np.arange(0.0, 120.0)
    track = GpsTrack(t, [north(s) for s in range(120)], np.full(120, LON0))
    route = route_of_track(track, T0 + timedelta(seconds=30), 40.0, "right")
    assert route is not None and route.mount == "right"
    assert route.t[0] == t[30] and route.t[-1] == t[70]
    assert route_of_track(track, T0 + timedelta(hours=1), 40.0) is None  # the track does not reach the video
    relative = GpsTrack(np.arange(0.0, 10.0), np.full(10, LAT0), np.full(10, LON0), video_relative=True)
    assert route_of_track(relative, None, 10.0) is None  # cannot be placed in time
    placed = route_of_track(relative, T0, 10.0)
    assert placed is not None and placed.t[0] == T0.timestamp()


def test_stored_passes_are_found_by_place_and_time(engine: Engine) -> None:
    with Session(engine) as session:
        record_pass(session, "video-a", drive_north(mount="right"))
        record_pass(session, "video-b", drive_north(mount="right", start=T0 + timedelta(days=7)))
        record_pass(session, "video-c", drive_north(mount="left", start=T0 + timedelta(days=1)))
        session.commit()
    place = point(north(100), east(6))
    with Session(engine) as session:
        found = passes_covering(session, place, 10.0)
        assert [(p.source, at) for p, at in found] == [
            ("video-a", T0 + timedelta(seconds=10)),
            ("video-b", T0 + timedelta(days=7, seconds=10)),
        ]
        later = passes_covering(session, place, 10.0, since=T0 + timedelta(days=1))
        assert [p.source for p, _ in later] == ["video-b"]
        assert passes_covering(session, place, 10.0, until=T0 - timedelta(seconds=1)) == []
        assert passes_covering(session, point(north(100), east(500)), 10.0) == []


def test_many_places_are_looked_up_in_one_query_with_the_same_answers(engine: Engine) -> None:
    with Session(engine) as session:
        record_pass(session, "video-a", drive_north(mount="right"))
        record_pass(session, "video-b", drive_north(mount="right", start=T0 + timedelta(days=7)))
        record_pass(session, "video-c", drive_north(mount="left", start=T0 + timedelta(days=1)))
        session.commit()
    places: list[Place] = [
        (point(north(100), east(6)), 10.0, None, None),
        (point(north(100), east(6)), 10.0, T0 + timedelta(days=1), None),
        (point(north(200), east(-6)), 10.0, None, T0 + timedelta(days=2)),  # left of the road: video-c
        (point(north(100), east(500)), 10.0, None, None),
    ]
    queries: list[str] = []
    listener = lambda *args: queries.append(args[2])  # noqa: E731  # (conn, cursor, statement, ...)
    with Session(engine) as session:
        event.listen(engine, "before_cursor_execute", listener)
        try:
            batched = [[(p.source, at) for p, at in found] for found in passes_covering_each(session, places)]
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        single = [[(p.source, at) for p, at in passes_covering(session, *place)] for place in places]
    assert len(queries) == 1 and batched == single
    assert [[source for source, _ in found] for found in batched] == [
        ["video-a", "video-b"],
        ["video-b"],
        ["video-c"],
        [],
    ]


def test_recording_a_pass_again_replaces_it(engine: Engine) -> None:
    with Session(engine) as session:
        record_pass(session, "video-a", drive_north(seconds=10))
        session.commit()
        record_pass(session, "video-a", drive_north(seconds=30))
        session.commit()
        rows = session.exec(select(PatrolPass)).all()
    assert len(rows) == 1 and rows[0].length_m == pytest.approx(300.0, rel=1e-3)
    assert rows[0].ended_at - rows[0].started_at == timedelta(seconds=30)


def test_a_processed_video_with_a_track_leaves_its_pass(
    engine: Engine, settings: Settings, make_video: MakeVideo
) -> None:
    settings = settings.model_copy(update={"scan_mount": "right"})
    settings.upload_dir.mkdir(parents=True)
    video = make_video("drive.mp4", seconds=3, args=("-metadata", f"creation_time={T0.isoformat()}"))
    video.rename(settings.upload_dir / "drive.mp4")
    rows = ["time,latitude,longitude"] + [
        f"{(T0 + timedelta(seconds=s)).strftime('%Y-%m-%d %H:%M:%S')},{north(4.0 * s):.7f},{LON0}" for s in range(10)
    ]
    (settings.upload_dir / "drive.csv").write_text("\n".join(rows) + "\n")
    with Session(engine) as session:
        job = Job(sha256="d" * 64, name="drive.mp4", video="drive.mp4", gps="drive.csv", duration_s=3.0)
        session.add(job)
        session.commit()
        job_id = row_id(job)
    assert process_video(engine, settings, job_id, scanner=NoDetections) == JobStatus.done
    with Session(engine) as session:
        (stored,) = session.exec(select(PatrolPass)).all()
    assert stored.source == f"video-{'d' * 16}" and stored.job_id == job_id and stored.mount == "right"
    assert stored.started_at == T0 and stored.ended_at == T0 + timedelta(seconds=3)  # the video's 3 s only
    assert stored.length_m == pytest.approx(12.0, rel=0.01)
