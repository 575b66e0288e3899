"""The fixed-camera rules end to end: a still street scene with pedestrians, looped as a live camera
(people there for 4 s, then an empty frame for 4 s), read by the supervisor with the real COCO model,
tracker, dwell rules, writer and case dedup. Each person is reported once per visit (no re-alert
while they stay) and again when they come back after the gap, in the camera's one case."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from service.db import make_engine, migrate
from service.models.cameras import Camera
from service.models.cases import Case
from service.models.observations import ObservationRow
from service.settings import Settings
from service.workers.supervisor import Supervisor
from tests.vision.conftest import run_ffmpeg
from vision import Detector, box_overlaps

PERSON_TAXONOMY = Path(__file__).resolve().parents[1] / "vision" / "data" / "person-taxonomy.yaml"
VISIT_S = 4.0  # people in view, then the same time of an empty street


@pytest.fixture
def comings_and_goings(tmp_path: Path, patrol_dir: Path) -> Path:
    """An 8 s clip: 4 s of a patrol frame with five pedestrians, 4 s of a grey frame (720p, 10 fps)."""
    still = tmp_path / "people.png"
    patrol = patrol_dir / "patrol.mp4"
    run_ffmpeg("-ss", "6.0", "-i", str(patrol), "-frames:v", "1", "-vf", "scale=1280:720", str(still))
    clip = tmp_path / "comings-and-goings.mp4"
    run_ffmpeg(
        "-loop",
        "1",
        "-framerate",
        "10",
        "-t",
        str(VISIT_S),
        "-i",
        str(still),
        "-f",
        "lavfi",
        "-i",
        f"color=c=gray:s=1280x720:r=10:d={VISIT_S}",
        "-filter_complex",
        "[0:v]format=yuv420p[a];[1:v]format=yuv420p[b];[a][b]concat=n=2:v=1[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-crf",
        "12",
        "-tune",
        "stillimage",
        str(clip),
    )
    return clip


@pytest.fixture
def supervisor(tmp_path: Path, coco_weights: Path) -> Iterator[Supervisor]:
    engine = make_engine(f"sqlite:///{tmp_path / 'cameras.db'}")
    migrate(engine)
    settings = Settings(
        database_url=str(engine.url),
        data_dir=tmp_path,
        hotspot_catalog=None,
        taxonomy_path=PERSON_TAXONOMY,
        camera_dwell_s={"street_vendor": 1.5},
        camera_grace_s=1.0,
        camera_gap_s=2.0,
    )
    running = Supervisor(engine, settings, load_detector=lambda: Detector(coco_weights))
    try:
        yield running
    finally:
        running.stop()
        engine.dispose()


def visits(observations: list[ObservationRow]) -> list[list[ObservationRow]]:
    """Observations split where more than the empty-street time passes between two."""
    groups: list[list[ObservationRow]] = []
    for obs in sorted(observations, key=lambda o: o.seen_at):
        if not groups or (obs.seen_at - groups[-1][-1].seen_at).total_seconds() > VISIT_S / 2:
            groups.append([])
        groups[-1].append(obs)
    return groups


@pytest.mark.slow
def test_each_visit_is_reported_once_and_a_return_is_a_new_sighting(
    supervisor: Supervisor, comings_and_goings: Path
) -> None:
    with Session(supervisor.engine) as session:
        session.add(Camera(name="corner", url=str(comings_and_goings), lat=35.49, lon=112.85, fps=4))
        session.commit()
    supervisor.start()
    time.sleep(4 * VISIT_S + 3)  # two full visits and the start of a third
    with Session(supervisor.engine) as session:
        observations = list(session.exec(select(ObservationRow)))
        cases = list(session.exec(select(Case)))
    groups = visits(observations)
    assert len(groups) >= 2, [o.seen_at for o in observations]
    first, second = groups[0], groups[1]
    assert len(first) >= 3  # most of the five pedestrians
    for group in (first, second):
        boxes = np.array([o.bbox for o in group])
        overlap = box_overlaps(boxes, boxes)[0] - np.eye(len(boxes))
        assert overlap.max(initial=0) < 0.7, "someone was reported twice in one visit"
    # the same people come back: each is reported again, under a new track id
    again = box_overlaps(np.array([o.bbox for o in second]), np.array([o.bbox for o in first]))[0]
    assert (again.max(axis=1) > 0.7).mean() >= 0.6
    assert not {o.track_id for o in first} & {o.track_id for o in second}
    # the camera stands still, so every sighting joins its one case
    assert len(cases) == 1 and cases[0].observation_count == len(observations)
    assert {o.case_id for o in observations} == {cases[0].id}
