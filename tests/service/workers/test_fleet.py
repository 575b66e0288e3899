"""The fleet on loopback: the server with a Redis broker, two `streetscan worker` processes, PostgreSQL
and the S3 test server. A batch of videos is spread over both workers; one worker is killed (-9)
in the middle of a video, which then finishes on the other with every observation once: the same
tracks as an uninterrupted run of the same frames (a copy of the video with other bytes). Cameras
run one in each worker, and a killed worker's camera moves to the other within the lease time."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from service.app import create_app
from service.auth.users import create_user
from service.db import make_engine, migrated_database
from service.models.base import row_id
from service.models.batches import Job, JobStatus
from service.models.cameras import Camera
from service.models.observations import ObservationRow
from service.models.users import Role
from service.settings import Settings
from service.workers.camera_leases import PREFIX as LEASE_PREFIX
from service.workers.camera_leases import redis_client
from tests.e2e.processes import REPO, spawn
from tests.polling import wait_until
from tests.service.conftest import PG_SERVER
from tests.service.live_server import serving
from tests.service.s3 import SECRET, Bucket
from tests.vision.conftest import run_ffmpeg

PERSON_TAXONOMY = REPO / "tests" / "vision" / "data" / "person-taxonomy.yaml"
BROKER = "redis://127.0.0.1:6379/13"


def said(log: Path, words: str) -> bool:
    return words in log.read_text(errors="replace")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    with migrated_database("postgres", PG_SERVER, tmp_path) as url:
        yield url


def clips(folder: Path, patrol: Path) -> list[Path]:
    """Short cuts of the patrol clip (stream copies: no encoding): the long one, a copy of it with
    other bytes (another title), and two short ones."""
    cuts = {"long.mp4": ("0", "10"), "copy.mp4": ("0", "10"), "b.mp4": ("12", "3"), "c.mp4": ("20", "3")}
    paths = []
    for name, (start, length) in cuts.items():
        path = folder / name
        title = ["-metadata", "title=copy"] if name == "copy.mp4" else []
        run_ffmpeg("-ss", start, "-i", str(patrol), "-t", length, "-c", "copy", *title, str(path))
        paths.append(path)
    return paths


@pytest.mark.slow
@pytest.mark.postgres
def test_jobs_spread_over_two_workers_and_survive_a_killed_one(
    tmp_path: Path, database: str, patrol_dir: Path, coco_weights: Path, s3_endpoint: str, bucket: Bucket
) -> None:
    fleet = {
        "STREETSCAN_DATABASE_URL": database,
        "STREETSCAN_BROKER_URL": BROKER,
        "STREETSCAN_JOB_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
        "STREETSCAN_JOB_LEASE_S": "6",
        "STREETSCAN_EVIDENCE_URL": f"s3://{bucket.name}/evidence",
        "STREETSCAN_UPLOAD_URL": f"s3://{bucket.name}/uploads",
        "STREETSCAN_S3_ENDPOINT_URL": s3_endpoint,
        "STREETSCAN_S3_ACCESS_KEY_ID": "test",
        "STREETSCAN_S3_SECRET_ACCESS_KEY": SECRET.get_secret_value(),
        "STREETSCAN_MODEL_PATH": str(coco_weights),
        "STREETSCAN_TAXONOMY_PATH": str(PERSON_TAXONOMY),
        "STREETSCAN_SCAN_FPS": "2",
        "STREETSCAN_SCAN_FOCUS": "false",
    }
    env = {**os.environ, "YOLO_OFFLINE": "1", **fleet}
    fields = {k.removeprefix("STREETSCAN_").lower(): v for k, v in fleet.items()}
    settings = Settings.model_validate({**fields, "data_dir": tmp_path / "api", "hotspot_catalog": None})
    videos = clips(tmp_path, patrol_dir / "patrol.mp4")
    logs = {name: tmp_path / f"{name}.log" for name in ("w1", "w2")}
    workers: dict[str, subprocess.Popen] = {}
    engine = make_engine(database)
    try:
        for name, log in logs.items():
            command = [sys.executable, "-m", "service.cli", "worker", "--concurrency", "1", "--name", f"{name}@test"]
            workers[name] = spawn(command, log, {**env, "STREETSCAN_DATA_DIR": str(tmp_path / name)})
        for name, log in logs.items():
            wait_until(functools.partial(said, log, "ready."), 120, f"worker {name}", log)
        with Session(engine) as session:
            _, token = create_user(session, "patrol-1", Role.uploader)
        with serving(create_app(settings)) as url:
            files = [("files", (p.name, p.read_bytes(), "video/mp4")) for p in videos]
            headers = {"Authorization": f"Bearer {token}"}
            response = httpx.post(f"{url}/api/batches", files=files, headers=headers, timeout=60)
            assert response.status_code == 202, response.text
            jobs = {f["name"]: f["job_id"] for f in response.json()["files"]}
            long_job = jobs["long.mp4"]

            def runner_of(job_id: int) -> str | None:
                return next((n for n, log in logs.items() if f"job {job_id}: running on" in log.read_text()), None)

            def midway() -> bool:
                with Session(engine) as session:
                    job = session.get_one(Job, long_job)
                return job.status == JobStatus.running and 0 < job.progress < 0.9 and runner_of(long_job) is not None

            wait_until(midway, 180, "the long video midway on a worker", logs["w1"])
            victim = runner_of(long_job)
            assert victim is not None
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(10)
            survivor = next(n for n in logs if n != victim)

            def all_done() -> bool:
                with Session(engine) as session:
                    statuses = session.exec(select(Job.status)).all()
                return all(s in (JobStatus.done, JobStatus.failed) for s in statuses)

            wait_until(all_done, 300, "every job done", logs[survivor])
        with Session(engine) as session:
            by_name = {job.name: job for job in session.exec(select(Job))}
            assert {job.status for job in by_name.values()} == {JobStatus.done}
            assert by_name["long.mp4"].attempts == 2 and by_name["copy.mp4"].attempts == 1

            def tracks(job: Job) -> list[tuple[str, tuple[float, ...]]]:
                rows = session.exec(select(ObservationRow).where(ObservationRow.source == job.source))
                return sorted((o.track_id, tuple(o.bbox)) for o in rows)

            resumed, uninterrupted = tracks(by_name["long.mp4"]), tracks(by_name["copy.mp4"])
            assert resumed == uninterrupted != []  # none lost, none twice
            keys = session.exec(select(ObservationRow.crop).where(col(ObservationRow.crop).is_not(None))).all()
        stored = bucket.objects()
        assert all(f"evidence/{key}" in stored for key in keys)
        log_of = {name: log.read_text(errors="replace") for name, log in logs.items()}
        assert f"job {long_job}: running on {survivor}@test" in log_of[survivor]
        assert f"job {long_job}: running on {victim}@test" in log_of[victim]
        assert sum(f"job {j}: done on" in log_of[survivor] for j in jobs.values()) >= 2
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.terminate()
                process.wait(30)
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_each_camera_runs_in_one_worker_and_moves_when_it_dies(
    tmp_path: Path, database: str, coco_weights: Path, clip: Path
) -> None:
    lease_s = 6.0
    fleet = {
        "STREETSCAN_DATABASE_URL": database,
        "STREETSCAN_BROKER_URL": BROKER,
        "STREETSCAN_CAMERA_LEASE_S": str(lease_s),
        "STREETSCAN_MODEL_PATH": str(coco_weights),
        "STREETSCAN_TAXONOMY_PATH": str(PERSON_TAXONOMY),
    }
    env = {**os.environ, "YOLO_OFFLINE": "1", **fleet}
    fields = {k.removeprefix("STREETSCAN_").lower(): v for k, v in fleet.items()}
    settings = Settings.model_validate({**fields, "data_dir": tmp_path / "api", "hotspot_catalog": None})
    redis = redis_client(settings)
    logs = {name: tmp_path / f"{name}.log" for name in ("w1", "w2")}
    workers: dict[str, subprocess.Popen] = {}
    engine = make_engine(database)
    try:
        for name, log in logs.items():
            command = [sys.executable, "-m", "service.cli", "worker", "--queues", "streams", "--name", name]
            workers[name] = spawn(command, log, {**env, "STREETSCAN_DATA_DIR": str(tmp_path / name)})
        for name, log in logs.items():
            wait_until(functools.partial(said, log, "ready."), 120, f"worker {name}", log)
        with Session(engine) as session:
            _, token = create_user(session, "admin-1", Role.admin)
            cameras = [Camera(name=f"gate-{n}", url=str(clip), lat=30.0, lon=120.0, fps=1.0) for n in (1, 2)]
            session.add_all(cameras)
            session.commit()
            ids = [row_id(c) for c in cameras]
        headers = {"Authorization": f"Bearer {token}"}

        def holders() -> list[str | None]:
            return [redis.get(f"{LEASE_PREFIX}{camera_id}") for camera_id in ids]

        with serving(create_app(settings)) as url:

            def statuses() -> list[str]:
                items = httpx.get(f"{url}/api/cameras", headers=headers, timeout=10).json()["items"]
                return [c["status"] for c in sorted(items, key=lambda c: c["id"])]

            balanced = ["w1", "w2"]  # one camera each: the fair share
            wait_until(lambda: sorted(h or "" for h in holders()) == balanced, 60, "a camera in each worker")
            wait_until(lambda: statuses() == ["live", "live"], 120, "both cameras live", logs["w1"])
            victim = holders()[0]
            assert victim is not None
            settled_wall = time.time()  # before this the workers may hand a camera over to balance the load
            survivor = next(n for n in logs if n != victim)
            killed_wall = time.time()
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(10)
            killed_at = time.monotonic()
            wait_until(lambda: holders() == [survivor, survivor], lease_s, "the camera on the survivor", logs[survivor])
            moved_s = time.monotonic() - killed_at
            wait_until(lambda: statuses() == ["live", "live"], 60, "both cameras live again", logs[survivor])
        assert moved_s <= lease_s
        taken = [line for line in logs[survivor].read_text().splitlines() if f"camera {ids[0]}: taken by" in line]
        # once settled, the survivor never read the victim's camera while the victim lived (two readers of one camera)
        taken_at = [datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp() for line in taken]
        since_settled = [at for at in taken_at if at >= settled_wall - 0.01]
        assert since_settled and min(since_settled) >= killed_wall - 0.01, taken
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.terminate()
                process.wait(30)
        engine.dispose()
