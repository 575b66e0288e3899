"""A batch processed by the real detector (COCO weights, people as street vendors, 2 frames/s) on
the first 8 s of the sample patrol clip: observations, cases, evidence, and a rerun that
changes nothing (the tracker is deterministic, ingest idempotent)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.app import create_app
from service.auth.users import create_user
from service.models.batches import Job, JobStatus
from service.models.observations import ObservationRow
from service.models.users import Role
from service.settings import Settings
from service.workers.jobs import build_scanner, process_video
from tests.service.builders import served_app
from tests.vision.conftest import run_ffmpeg
from vision import Scanner

REPO = Path(__file__).resolve().parents[3]
PERSON_TAXONOMY = REPO / "tests" / "vision" / "data" / "person-taxonomy.yaml"


class Recording:
    """A Scanner that remembers the observations it yields."""

    def __init__(self, scanner: Scanner) -> None:
        self.scanner = scanner
        self.seen: list[Any] = []

    def observations(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for observation in self.scanner.observations(*args, **kwargs):
            self.seen.append(observation)
            yield observation


def wait_until_done(client: TestClient, headers: dict[str, str], batch_id: int, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = client.get(f"/api/batches/{batch_id}", headers=headers).json()
        if batch["status"] in ("done", "failed"):
            return batch
        time.sleep(0.5)
    pytest.fail(f"batch {batch_id} not done after {timeout_s} s")


@pytest.mark.slow
def test_batch_becomes_observations_cases_and_evidence(tmp_path: Path, patrol_dir: Path, coco_weights: Path) -> None:
    clip = tmp_path / "patrol.mp4"
    run_ffmpeg("-i", str(patrol_dir / "patrol.mp4"), "-t", "8", "-c", "copy", str(clip))
    settings = Settings(
        data_dir=tmp_path / "data",
        hotspot_catalog=None,
        workers=1,
        scan_fps=2,
        model_path=coco_weights,
        taxonomy_path=PERSON_TAXONOMY,
    )
    with TestClient(create_app(settings)) as client:
        engine = served_app(client).state.engine
        with Session(engine) as session:
            _, token = create_user(session, "patrol-1", Role.uploader)
            _, reviewer_token = create_user(session, "reviewer-1", Role.reviewer)
        headers = {"Authorization": f"Bearer {token}"}
        reviewer = {"Authorization": f"Bearer {reviewer_token}"}  # gets the images as stored
        files = [("files", (p.name, p.read_bytes())) for p in (clip, patrol_dir / "patrol.gpx")]
        response = client.post("/api/batches", files=files, headers=headers)
        assert response.status_code == 202, response.text
        batch = wait_until_done(client, headers, response.json()["id"])

        [video, _] = batch["files"]
        assert batch["status"] == "done" and video["status"] == "done" and video["progress"] == 1.0
        assert video["observations"] >= 3 and batch["case_ids"] == video["case_ids"] != []
        for case_id in batch["case_ids"]:
            case = client.get(f"/api/cases/{case_id}", headers=headers).json()
            assert case["lat"] is not None
            for obs in case["observations"]:
                assert obs["lat"] is not None and obs["observed_at"].startswith("2025-05-09T09:30")
                for kind in ("crop", "keyframe"):
                    image = client.get(obs[f"{kind}_url"], headers=reviewer)
                    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
                    assert Path(obs[kind]).stem == hashlib.sha256(image.content).hexdigest()  # content-addressed
        assert client.get(case["observations"][0]["crop_url"]).status_code == 401

    # the server died after the last observation: on restart the job is queued and run from the start
    with Session(engine) as session:
        job = session.exec(select(Job)).one()
        job_id = job.id
        stored = {(o.track_id, tuple(o.bbox), o.id) for o in session.exec(select(ObservationRow))}
        job.status = JobStatus.queued
        session.add(job)
        session.commit()
    evidence = sorted(p for p in settings.evidence_dir.rglob("*") if p.is_file())
    rerun = Recording(build_scanner(settings))
    assert job_id is not None
    assert process_video(engine, settings, job_id, scanner=lambda: rerun) == JobStatus.done
    with Session(engine) as session:
        assert {(o.track_id, tuple(o.bbox), o.id) for o in session.exec(select(ObservationRow))} == stored
        assert session.get(Job, job_id).attempts == 2
    assert {(o.track_id, tuple(o.bbox)) for o in rerun.seen} == {s[:2] for s in stored}  # same tracks again
    assert sorted(p for p in settings.evidence_dir.rglob("*") if p.is_file()) == evidence
    assert not (settings.data_dir / "work" / str(job_id)).exists()
    engine.dispose()
