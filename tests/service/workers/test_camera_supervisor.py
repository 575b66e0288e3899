"""The camera supervisor with a scripted detector: real looped-file streams, real tracking, dwell rules,
writer thread and ingest into cases; run-time start/stop/edit and isolation between cameras."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from service.db import make_engine, migrate
from service.models.base import row_id
from service.models.cameras import Camera
from service.models.cases import Case
from service.models.observations import ObservationRow
from service.models.webhooks import EventKind, OutboxEvent
from service.settings import Settings
from service.workers.camera_status import StreamWatch
from service.workers.cameras import CameraRuntime
from service.workers.supervisor import Supervisor
from tests.images import read_image
from tests.polling import wait_until
from vision import Detections, StreamState

PERSON_TAXONOMY = Path(__file__).resolve().parents[2] / "vision" / "data" / "person-taxonomy.yaml"


class ScriptedDetector:
    """Sees one person standing at the same place in every frame while ``present`` is set."""

    def __init__(self) -> None:
        self.present = threading.Event()
        self.present.set()

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        box = [[40, 20, 80, 110]] if self.present.is_set() else np.zeros((0, 4))
        return [Detections(box, [0.9] * len(box), [0] * len(box), names={0: "person"}) for _ in images]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'cameras.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return Settings(
        database_url=str(engine.url),
        data_dir=tmp_path,
        hotspot_catalog=None,
        taxonomy_path=PERSON_TAXONOMY,
        camera_dwell_s={"street_vendor": 1.0},
        camera_grace_s=0.5,
        camera_gap_s=1.0,
        camera_backoff_s=0.1,
        camera_backoff_max_s=0.5,
    )


@pytest.fixture
def detector() -> ScriptedDetector:
    return ScriptedDetector()


@pytest.fixture
def supervisor(engine: Engine, settings: Settings, detector: ScriptedDetector) -> Iterator[Supervisor]:
    running = Supervisor(engine, settings, load_detector=lambda: detector)
    yield running
    running.stop()


def add(engine: Engine, **fields: object) -> Camera:
    return save(engine, Camera(name="gate", url="", lat=30.0, lon=120.0, fps=5.0), **fields)


def save(engine: Engine, camera: Camera, **changes: object) -> Camera:
    """Store the camera with ``changes`` applied, as the API does."""
    camera.sqlmodel_update(changes)
    with Session(engine, expire_on_commit=False) as session:
        camera = session.merge(camera)
        session.commit()
        return camera


def stored(engine: Engine) -> list[ObservationRow]:
    with Session(engine) as session:
        return list(session.exec(select(ObservationRow).order_by(col(ObservationRow.id))))


def test_a_stay_is_one_observation_and_a_return_a_new_one_in_the_same_case(
    engine: Engine, settings: Settings, supervisor: Supervisor, detector: ScriptedDetector, clip: Path
) -> None:
    camera = add(engine, url=str(clip), heading_deg=0.0, offset_m=10.0)
    supervisor.start()
    wait_until(lambda: len(stored(engine)) == 1, 20)
    time.sleep(2.0)  # the person stays: no second report
    assert len(stored(engine)) == 1
    detector.present.clear()
    time.sleep(1.6)  # gone longer than the gap
    detector.present.set()
    wait_until(lambda: len(stored(engine)) == 2, 20)
    first, second = stored(engine)
    assert first.source == second.source == f"camera:{camera.id}"
    assert first.track_id != second.track_id
    assert first.category == "street_vendor"
    crop, keyframe = (read_image(settings.evidence_dir / (key or "")) for key in (first.crop, first.keyframe))
    assert keyframe.shape == (120, 160, 3) and 90 <= crop.shape[0] <= 110 and 40 <= crop.shape[1] <= 50
    assert not list((settings.data_dir / "cameras").rglob("*.jpg"))  # moved into the evidence store
    assert second.lat is not None and first.lat == second.lat > 30.0 and first.lon == 120.0  # 10 m north of the camera
    assert first.t_last >= 1.0 and abs((first.received_at - first.seen_at).total_seconds()) < 5
    assert first.case_id == second.case_id
    with Session(engine) as session:
        assert session.get_one(Case, first.case_id).observation_count == 2
    runtime = supervisor.runtime(row_id(camera))
    assert runtime.status == "live" and runtime.observations == 2 and runtime.frames > 10
    assert runtime.lag_s is not None and 0 <= runtime.lag_s < 2


def test_cameras_start_stop_and_change_without_touching_each_other(
    engine: Engine, supervisor: Supervisor, clip: Path, tmp_path: Path
) -> None:
    good = add(engine, name="good", url=str(clip))
    bad = add(engine, name="bad", url=str(tmp_path / "missing.mp4"))
    supervisor.start()
    wait_until(
        lambda: supervisor.runtime(row_id(good)).frames >= 3 and supervisor.runtime(row_id(bad)).reconnects >= 2, 20
    )
    assert supervisor.runtime(row_id(bad)).status == "reconnecting"
    assert supervisor.runtime(row_id(good)).status == "live"
    running = supervisor.workers[row_id(good)]

    bad = save(engine, bad, url=clip.as_uri())  # fix the broken one at run time
    supervisor.apply(bad)
    wait_until(lambda: supervisor.runtime(row_id(bad)).status == "live", 20)
    assert supervisor.workers[row_id(good)] is running  # not restarted
    supervisor.apply(good)  # unchanged: nothing happens
    assert supervisor.workers[row_id(good)] is running

    with Session(engine) as session:
        session.delete(session.get(Camera, good.id))
        session.commit()
    supervisor.sync()
    assert supervisor.runtime(row_id(good)).status == "stopped"
    frames = supervisor.runtime(row_id(bad)).frames
    wait_until(lambda: supervisor.runtime(row_id(bad)).frames > frames + 3, 20)

    supervisor.apply(save(engine, bad, enabled=False))
    assert supervisor.runtime(row_id(bad)).status == "stopped" and not supervisor.workers


def test_a_camera_runs_only_in_its_scheduled_hours(
    engine: Engine, settings: Settings, detector: ScriptedDetector, clip: Path
) -> None:
    noon_local = datetime(2025, 5, 12, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai
    school_run = add(engine, name="school-run", url=str(clip), schedule=["07:00-09:00", "16:00-18:00"])
    midday = add(engine, name="midday", url=str(clip), schedule=["11:30-13:00"])
    supervisor = Supervisor(engine, settings, clock=lambda: noon_local, load_detector=lambda: detector)
    supervisor.start()
    try:
        wait_until(lambda: supervisor.runtime(row_id(midday)).frames >= 2, 20)
        wait_until(lambda: not supervisor.runtime(row_id(school_run)).in_schedule, 20)
        off = supervisor.runtime(row_id(school_run))
        assert off.status == "stopped" and off.frames == 0 and off.last_frame_at is None
        assert supervisor.runtime(row_id(midday)).status == "live"
    finally:
        supervisor.stop()


def camera_events(engine: Engine) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent).order_by(col(OutboxEvent.id))))


def test_a_camera_whose_stream_stays_down_is_announced_down_then_up(
    engine: Engine, settings: Settings, detector: ScriptedDetector, clip: Path, tmp_path: Path
) -> None:
    late = tmp_path / "late.mp4"  # nothing there yet: the stream cannot be opened
    camera = add(engine, url=str(late))
    watched = settings.model_copy(update={"camera_sync_s": 0.1, "camera_down_after_s": 0.5})
    supervisor = Supervisor(engine, watched, load_detector=lambda: detector)
    supervisor.start()
    try:
        wait_until(lambda: len(camera_events(engine)) == 1, 20)
        time.sleep(1.0)  # still down: announced once
        (down,) = camera_events(engine)
        with Session(engine) as session:
            down_since = session.get_one(Camera, camera.id).down_since
        assert down.kind == EventKind.camera_down and down_since == down.at and down.case_id is None
        assert down.payload["camera_id"] == camera.id and down.payload["camera"] == "gate"
        assert "late.mp4" in down.payload["error"] and down.payload["lat"] == 30.0
        late.write_bytes(clip.read_bytes())  # the stream comes back
        wait_until(lambda: len(camera_events(engine)) == 2, 20)
        time.sleep(0.5)
        kinds = [e.kind for e in camera_events(engine)]
        up = camera_events(engine)[1]
    finally:
        supervisor.stop()
    assert kinds == [EventKind.camera_down, EventKind.camera_up]
    assert up.payload["down_since"] == down.payload["down_since"] and up.at > down.at
    with Session(engine) as session:
        assert session.get_one(Camera, camera.id).down_since is None


def test_a_drop_that_mends_at_once_says_nothing() -> None:
    watch, now = StreamWatch(down_after_s=30.0), datetime(2025, 5, 12, 1, 0, tzinfo=UTC)
    reconnecting = CameraRuntime(status=StreamState.reconnecting)
    assert watch.verdict(1, reconnecting, now) is None
    assert watch.verdict(1, reconnecting, now + timedelta(seconds=29)) is None
    live = watch.verdict(1, CameraRuntime(status=StreamState.live), now + timedelta(seconds=31))
    assert live is not None and not live.down  # up (a camera not down stays so: nothing is sent)
    assert watch.verdict(1, reconnecting, now + timedelta(seconds=40)) is None  # the count starts again
    down = watch.verdict(1, reconnecting, now + timedelta(seconds=70))
    assert down is not None and down.down
    off_hours = CameraRuntime(status=StreamState.stopped, in_schedule=False)
    assert watch.verdict(1, off_hours, now + timedelta(seconds=200)) is None
