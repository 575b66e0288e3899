"""The job queue and the states of a run, without a detector: claiming, restart recovery, retries,
shutdown, retention, batch status."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from service.app import create_app
from service.batches import batch_status
from service.models.base import row_id, utcnow
from service.models.batches import Batch, BatchFile, FileKind, Job, JobStatus
from service.models.webhooks import EventKind, OutboxEvent
from service.settings import Settings
from service.workers.camera_leases import FleetCameras
from service.workers.fleet import VIDEO_TASK, Dispatcher, celery_app, register_video_task
from service.workers.jobs import build_scanner, claim_next, process_video, requeue_interrupted
from tests.service.builders import NoDetections, served_app
from vision import focus_policy


def add_job(engine: Engine, sha: str, **fields: Any) -> int:
    with Session(engine) as session:
        job = Job(**{"sha256": sha * 64, "name": f"{sha}.mp4", "video": f"{sha}.mp4", **fields})
        session.add(job)
        session.commit()
        return row_id(job)


def load(engine: Engine, job_id: int) -> Job:
    with Session(engine) as session:
        return session.get_one(Job, job_id)


@pytest.fixture
def job_settings(settings: Settings) -> Settings:
    settings.upload_dir.mkdir(parents=True)
    return settings


def test_claims_the_oldest_queued_job_once(engine: Engine) -> None:
    first, second = add_job(engine, "a"), add_job(engine, "b")
    add_job(engine, "c", status=JobStatus.done)
    assert [claim_next(engine), claim_next(engine), claim_next(engine)] == [first, second, None]
    assert load(engine, first).status == JobStatus.running and load(engine, first).attempts == 1


def test_restart_queues_interrupted_jobs_until_they_run_out_of_attempts(engine: Engine) -> None:
    again = add_job(engine, "a", status=JobStatus.running, attempts=1)
    spent = add_job(engine, "b", status=JobStatus.running, attempts=3)
    waiting = add_job(engine, "c")
    assert requeue_interrupted(engine, max_attempts=3) == [again]
    assert load(engine, again).status == JobStatus.queued and load(engine, again).attempts == 1
    assert load(engine, spent).status == JobStatus.failed and "giving up" in (load(engine, spent).error or "")
    assert load(engine, waiting).status == JobStatus.queued


def test_only_jobs_not_heard_from_are_queued_again(engine: Engine) -> None:
    now = utcnow()
    silent = add_job(engine, "a", status=JobStatus.running, attempts=1, updated_at=now - timedelta(minutes=5))
    spent = add_job(engine, "b", status=JobStatus.running, attempts=3, updated_at=now - timedelta(minutes=5))
    busy = add_job(engine, "c", status=JobStatus.running, attempts=1, updated_at=now)
    assert requeue_interrupted(engine, max_attempts=3, heard_before=now - timedelta(minutes=2)) == [silent]
    statuses = [load(engine, j).status for j in (silent, spent, busy)]
    assert statuses == [JobStatus.queued, JobStatus.failed, JobStatus.running]


def test_a_failing_job_is_retried_then_fails(engine: Engine, job_settings: Settings) -> None:
    job_id = add_job(engine, "a", video=None)
    for attempt, status in [(1, JobStatus.queued), (2, JobStatus.queued), (3, JobStatus.failed)]:
        assert claim_next(engine) == job_id
        assert process_video(engine, job_settings, job_id) == status
        job = load(engine, job_id)
        assert job.attempts == attempt and "upload it again" in (job.error or "")
    assert job.finished_at is not None and claim_next(engine) is None


def test_a_stopped_run_goes_back_to_the_queue_uncounted(engine: Engine, job_settings: Settings) -> None:
    job_id = add_job(engine, "a")
    (job_settings.upload_dir / "a.mp4").write_bytes(b"video")
    stop = threading.Event()
    stop.set()
    assert process_video(engine, job_settings, job_id, scanner=NoDetections, stop=stop) == JobStatus.queued
    assert load(engine, job_id).attempts == 0


@pytest.mark.parametrize(("retention", "kept"), [("keep", True), ("delete", False)])
def test_a_finished_video_is_kept_or_deleted(
    engine: Engine, job_settings: Settings, retention: str, kept: bool
) -> None:
    settings = job_settings.model_copy(update={"video_retention": retention})
    job_id = add_job(engine, "a", duration_s=10.0)
    (settings.upload_dir / "a.mp4").write_bytes(b"video")
    assert process_video(engine, settings, job_id, scanner=NoDetections) == JobStatus.done
    job = load(engine, job_id)
    assert job.progress == 1.0 and job.attempts == 1 and job.finished_at is not None
    assert (settings.upload_dir / "a.mp4").exists() == kept and (job.video is not None) == kept
    assert process_video(engine, settings, job_id, scanner=NoDetections) == JobStatus.done  # done is done
    assert load(engine, job_id).attempts == 1


def test_the_last_video_of_a_batch_announces_it_done(engine: Engine, job_settings: Settings) -> None:
    first, second = add_job(engine, "a", duration_s=10.0), add_job(engine, "b", duration_s=10.0)
    with Session(engine) as session:
        batch = Batch()
        session.add(batch)
        session.flush()
        for job_id, name in ((first, "a.mp4"), (second, "b.mp4")):
            session.add(BatchFile(batch_id=row_id(batch), name=name, kind=FileKind.video, job_id=job_id))
        session.commit()
        batch_id = row_id(batch)
    for name in ("a.mp4", "b.mp4"):
        (job_settings.upload_dir / name).write_bytes(b"video")

    def events() -> list[dict[str, Any]]:
        with Session(engine) as session:
            return [
                e.payload for e in session.exec(select(OutboxEvent).where(OutboxEvent.kind == EventKind.batch_done))
            ]

    assert process_video(engine, job_settings, first, scanner=NoDetections) == JobStatus.done
    assert events() == []  # one video still waits
    assert process_video(engine, job_settings, second, scanner=NoDetections) == JobStatus.done
    assert events() == [{"batch_id": batch_id, "status": "done", "observations": 0, "case_ids": []}]


def batch_of(engine: Engine, *job_ids: int) -> int:
    """A batch of one video per job; its id."""
    with Session(engine) as session:
        batch = Batch()
        session.add(batch)
        session.flush()
        for job_id in job_ids:
            session.add(BatchFile(batch_id=row_id(batch), name=f"{job_id}.mp4", kind=FileKind.video, job_id=job_id))
        session.commit()
        return row_id(batch)


def batch_events(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return [e.payload for e in session.exec(select(OutboxEvent).where(OutboxEvent.kind == EventKind.batch_done))]


def test_a_batch_whose_last_video_runs_out_of_runs_after_restarts_is_announced_failed(engine: Engine) -> None:
    spent = add_job(engine, "a", status=JobStatus.running, attempts=3)
    other = add_job(engine, "b", status=JobStatus.running, attempts=1)
    alone = batch_of(engine, spent)
    shared = batch_of(engine, spent, other)
    assert requeue_interrupted(engine, max_attempts=3) == [other]
    assert batch_events(engine) == [{"batch_id": alone, "status": "failed", "observations": 0, "case_ids": []}]
    with Session(engine) as session:  # the other video's runner dies on its last run as well
        session.get_one(Job, other).status, session.get_one(Job, other).attempts = JobStatus.running, 3
        session.commit()
    assert requeue_interrupted(engine, max_attempts=3) == []
    assert [(e["batch_id"], e["status"]) for e in batch_events(engine)] == [(alone, "failed"), (shared, "failed")]


def test_a_batch_whose_video_fails_its_last_run_is_announced(engine: Engine, job_settings: Settings) -> None:
    job_id = add_job(engine, "a", video=None, status=JobStatus.running, attempts=3)  # the dead-letter run
    batch_id = batch_of(engine, job_id)
    assert process_video(engine, job_settings, job_id, scanner=NoDetections) == JobStatus.failed
    assert batch_events(engine) == [{"batch_id": batch_id, "status": "failed", "observations": 0, "case_ids": []}]


@pytest.mark.parametrize(
    ("statuses", "progress", "expected"),
    [
        ([], [], (JobStatus.failed, 1.0)),
        (["queued", "queued"], [0, 0], (JobStatus.queued, 0.0)),
        (["running", "queued"], [0.5, 0], (JobStatus.running, 0.25)),
        (["done", "queued"], [1, 0], (JobStatus.running, 0.5)),
        (["done", "failed"], [1, 0.3], (JobStatus.done, 1.0)),
        (["failed", "failed"], [0.1, 0.3], (JobStatus.failed, 1.0)),
    ],
)
def test_batch_status(statuses: list[str], progress: list[float], expected: tuple[JobStatus, float]) -> None:
    jobs = [Job(sha256="x", name="x", status=JobStatus(s), progress=p) for s, p in zip(statuses, progress)]
    assert batch_status(jobs) == expected


def test_uploads_are_scanned_with_the_focus_window_settings(settings: Settings) -> None:
    assert build_scanner(settings).focus == focus_policy("forward")  # on by default
    side = settings.model_copy(update={"scan_mount": "right", "scan_focus_width": 0.4})
    assert build_scanner(side).focus == focus_policy("right", width=0.4)
    band = settings.model_copy(update={"scan_focus_band": (0.3, 0.6)})
    assert build_scanner(band).focus == focus_policy("forward", band=(0.3, 0.6))
    assert build_scanner(settings.model_copy(update={"scan_focus": False})).focus is None
    with pytest.raises(ValidationError, match="focus band"):
        Settings(scan_focus_band=(0.7, 0.2))
    with pytest.raises(ValidationError):
        Settings(scan_focus_width=1.5)


def test_a_fleet_task_retries_a_failing_job_then_leaves_it_failed(engine: Engine, job_settings: Settings) -> None:
    job_id = add_job(engine, "a", video=None)
    done = add_job(engine, "b", status=JobStatus.done)
    settings = job_settings.model_copy(update={"broker_url": "memory://", "job_retry_backoff_s": 0.0})
    app = celery_app(settings)
    app.conf.task_always_eager = True  # retries run at once, in this thread
    register_video_task(app, engine, settings)
    assert app.tasks[VIDEO_TASK].apply(args=[done]).get() == "skipped"
    app.tasks[VIDEO_TASK].apply(args=[job_id])
    job = load(engine, job_id)
    assert (job.status, job.attempts) == (JobStatus.failed, 3) and "upload it again" in (job.error or "")
    assert app.tasks[VIDEO_TASK].apply(args=[job_id]).get() == "skipped"  # a failed job stays failed


def test_with_a_broker_the_server_queues_jobs_and_runs_no_inference(
    engine: Engine, settings: Settings, auth: dict[str, dict[str, str]], clip: Path
) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"broker_url": "redis://127.0.0.1:6379/13", "job_queue": queue})
    with TestClient(create_app(settings)) as client:
        state = served_app(client).state
        assert isinstance(state.jobs, Dispatcher) and isinstance(state.supervisor, FleetCameras)
        files = [("files", ("drive.mp4", clip.read_bytes(), "video/mp4"))]
        batch = client.post("/api/batches", files=files, headers=auth["uploader"])
        assert batch.status_code == 202, batch.text
        [job_id] = [f["job_id"] for f in batch.json()["files"]]
        with state.jobs.app.connection() as connection:
            waiting = connection.SimpleQueue(queue)
            message = waiting.get(timeout=10)
            assert message.headers["task"] == VIDEO_TASK and message.payload[0] == [job_id]
            message.ack()
            waiting.close()
        assert load(engine, job_id).status == JobStatus.queued  # nothing here runs it
