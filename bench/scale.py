"""Video jobs per hour on the worker fleet with 1, 2 and 4 `streetscan worker` processes (Redis broker,
PostgreSQL), the scaling ratio over one worker, and what the machine was short of.

    python bench/scale.py [--workers 1,2,4] [--videos 8] [--seconds 4] [--fps 2] [--model PT]

Each round starts its workers (one video at a time each) on a fresh database and queue, waits until
they are ready, then queues ``--videos`` distinct cuts of the patrol clip (stream copies of its
first ``--seconds`` seconds, each with another title) and times until every job is done. The
machine's CPU use over the round is sampled; a round near 100 % is CPU-bound, one well under it
with jobs waiting is bound by the database or the broker. Models load on each worker's first job,
inside the timing, as in a fleet that starts for a batch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
from sqlmodel import Session, col, func, select

from service.db import make_engine, migrated_database
from service.models.batches import Job, JobStatus
from service.settings import Settings
from service.workers.fleet import celery_app, send_job

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STREETSCAN_SHARED", REPO.parent / "shared"))
POSTGRES = os.environ.get("STREETSCAN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def cuts(folder: Path, clip: Path, n: int, seconds: float) -> list[Path]:
    """``n`` videos of the same frames with different bytes (so different jobs)."""
    paths = []
    for i in range(n):
        path = folder / f"cut-{i}.mp4"
        title = ["-metadata", f"title=cut {i}"]
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-t", str(seconds), "-c", "copy", *title, str(path)],
            check=True,
        )
        paths.append(path)
    return paths


def round_(workers: int, videos: list[Path], env: dict[str, str], folder: Path) -> tuple[float, float]:
    """Wall seconds to run every video on ``workers`` workers, and the mean CPU use (%) meanwhile."""
    with migrated_database("postgres", env["POSTGRES"], folder) as url:
        settings = Settings(
            database_url=url,
            data_dir=folder / "data",
            broker_url=env["BROKER"],
            job_queue=f"bench-{uuid.uuid4().hex[:8]}",
        )
        settings.upload_dir.mkdir(parents=True, exist_ok=True)
        fleet = {
            **os.environ,
            "YOLO_OFFLINE": "1",
            "STREETSCAN_DATABASE_URL": url,
            "STREETSCAN_DATA_DIR": str(settings.data_dir),
            "STREETSCAN_BROKER_URL": settings.broker_url,
            "STREETSCAN_JOB_QUEUE": settings.job_queue,
            "STREETSCAN_MODEL_PATH": env["MODEL"],
            "STREETSCAN_SCAN_FPS": env["FPS"],
            "STREETSCAN_SCAN_FOCUS": "false",
        }
        logs = [folder / f"worker-{i}.log" for i in range(workers)]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "service.cli", "worker", "--concurrency", "1", "--name", f"bench-{i}@local"],
                stdout=open(log, "wb"),  # noqa: SIM115 - closed with the process
                stderr=subprocess.STDOUT,
                env=fleet,
                cwd=REPO,
            )
            for i, log in enumerate(logs)
        ]
        engine = make_engine(url)
        try:
            while not all("ready." in log.read_text(errors="replace") for log in logs):
                time.sleep(0.2)
            with Session(engine) as session:
                for video in videos:
                    sha = hashlib.sha256(video.read_bytes()).hexdigest()
                    (settings.upload_dir / f"{sha}.mp4").write_bytes(video.read_bytes())
                    session.add(Job(sha256=sha, name=video.name, video=f"{sha}.mp4"))
                session.commit()
                ids = list(session.exec(select(col(Job.id))))
            app = celery_app(settings)
            psutil.cpu_percent()
            samples = []
            start = time.monotonic()
            for job_id in ids:
                assert job_id is not None
                send_job(app, settings, job_id)
            while True:
                with Session(engine) as session:
                    left = session.exec(
                        select(func.count()).where(col(Job.status).in_([JobStatus.queued, JobStatus.running]))
                    ).one()
                if not left:
                    break
                time.sleep(0.5)
                samples.append(psutil.cpu_percent())
            wall = time.monotonic() - start
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(60)
            engine.dispose()
    return wall, sum(samples) / max(1, len(samples))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--fps", default="2")
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "yolo11n-coco.pt")
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    env = {"POSTGRES": args.postgres, "BROKER": args.broker, "MODEL": str(args.model), "FPS": args.fps}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        videos = cuts(folder, SHARED / "samples" / "patrol-facades" / "patrol.mp4", args.videos, args.seconds)
        what = f"{args.videos} videos of {args.seconds:g} s (1080p, {args.fps} frames/s analysed)"
        print(f"{what}, {os.cpu_count()} CPUs")
        print("workers  wall s  videos/hour  ratio  CPU %")
        base = None
        for n in (int(w) for w in args.workers.split(",")):
            wall, cpu = round_(n, videos, env, folder / f"round-{n}")
            rate = args.videos / wall * 3600
            base = base or rate
            print(f"{n:7d}  {wall:6.1f}  {rate:11.0f}  {rate / base:5.2f}  {cpu:5.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
