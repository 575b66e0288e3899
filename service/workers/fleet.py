"""Video jobs on a fleet of worker processes (``streetscan worker``) through a Celery broker (Redis),
when ``STREETSCAN_BROKER_URL`` is set; the server then only queues them (``Dispatcher``).

The job table stays the truth: a task carries a job id, claims the job (queued -> running, one more
attempt) and runs the same idempotent ``process_video`` as the embedded pool. Tasks are acknowledged
after they end (``acks_late``), so the broker hands the job of a worker that died to another after
``job_visibility_timeout_s``; sooner than that, the server queues again every running job not heard
from for ``job_lease_s`` (a run writes a heartbeat every quarter of it) and sends it once more. A failed
run is retried after ``job_retry_backoff_s`` (doubling), and the job fails for good (the dead-letter
state ``failed`` in the job table) after ``max_job_attempts`` runs, crashes included. A task for a
job that is not queued (already running elsewhere, done or failed) does nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from service.models.base import utcnow
from service.models.batches import Job, JobStatus
from service.settings import Settings
from service.workers.jobs import build_scanner, claim, process_video, requeue_interrupted
from service.writer import Writer
from vision import Scanner

log = logging.getLogger(__name__)

VIDEO_TASK = "streetscan.video"


def celery_app(settings: Settings) -> Celery:
    """The Celery app on ``settings.broker_url`` (no result backend: results live in the job table)."""
    app = Celery("streetscan", broker=settings.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.job_visibility_timeout_s},
        task_default_queue=settings.job_queue,
        worker_hijack_root_logger=False,
    )
    return app


def send_job(app: Celery, settings: Settings, job_id: int) -> None:
    """Put one video job on the broker's job queue."""
    app.send_task(VIDEO_TASK, args=[job_id], queue=settings.job_queue)


def register_video_task(app: Celery, engine: Engine, settings: Settings) -> None:
    """Give ``app`` the video task (for a worker): claim the job, run it, retry it after a failed run."""
    writer = Writer(engine)
    scanners = threading.local()  # one Scanner per worker thread, loaded on its first job

    def scanner() -> Scanner:
        if not hasattr(scanners, "scanner"):
            scanners.scanner = build_scanner(settings)
        return scanners.scanner  # type: ignore[no-any-return]

    def run_video(task: Any, job_id: int) -> str:
        with writer:
            claimed = claim(engine, job_id)
        if not claimed:
            log.info("job %d: not queued (running elsewhere, done or failed); nothing to do", job_id)
            return "skipped"
        log.info("job %d: running on %s", job_id, task.request.hostname)
        with heartbeat(engine, writer, job_id, settings.job_lease_s / 4):
            status = process_video(engine, settings, job_id, scanner=scanner, lock=writer)
        if status == JobStatus.queued:
            with Session(engine) as session:
                attempts = session.get_one(Job, job_id).attempts
            raise task.retry(countdown=settings.job_retry_backoff_s * 2 ** (attempts - 1))
        log.info("job %d: %s on %s", job_id, status, task.request.hostname)
        return str(status)

    app.task(name=VIDEO_TASK, bind=True, max_retries=None, shared=False)(run_video)


@contextmanager
def heartbeat(engine: Engine, writer: Writer, job_id: int, every_s: float) -> Iterator[None]:
    """While the block runs, a thread writes every ``every_s`` seconds that job ``job_id`` is still
    running (``updated_at``), so that a run busy elsewhere than on frames (loading the model) keeps it."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every_s):
            try:
                with writer, engine.begin() as conn:
                    conn.execute(
                        update(Job)
                        .where(col(Job.id) == job_id, col(Job.status) == JobStatus.running)
                        .values(updated_at=utcnow())
                    )
            except Exception:
                log.exception("job %d: heartbeat not written", job_id)

    thread = threading.Thread(target=beat, name=f"streetscan-heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


class Dispatcher:
    """The server's side of the fleet, in place of the embedded pool: sends each newly queued job to
    the broker, and every quarter of ``job_lease_s`` queues again (and sends) the running jobs whose
    worker fell silent."""

    def __init__(self, engine: Engine, settings: Settings, lock: Writer) -> None:
        self.engine, self.settings, self.lock = engine, settings, lock
        self.app = celery_app(settings)
        self._sent: set[tuple[int | None, datetime]] = set()  # (job id, updated_at) of the new queued jobs sent
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="streetscan-dispatch", daemon=True)

    def start(self, size: int = 0) -> None:
        """Start sending (``size`` is the embedded pool's and means nothing here)."""
        self._thread.start()

    def wake(self) -> None:
        """Send the jobs queued since the last look."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        period = self.settings.job_lease_s / 4
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.sweep()
            except Exception:
                log.exception("sending video jobs to the broker failed; trying again")
            self._wake.wait(period)

    def sweep(self) -> None:
        """Queue again and send the silent running jobs, then send each new queued job not sent yet
        (a job queued again after a failed run has its retry on the broker already)."""
        silent_since = utcnow() - timedelta(seconds=self.settings.job_lease_s)
        with self.lock:
            requeued = requeue_interrupted(self.engine, self.settings.max_job_attempts, heard_before=silent_since)
        for job_id in requeued:
            send_job(self.app, self.settings, job_id)
        with Session(self.engine) as session:
            waiting = set(
                session.exec(
                    select(col(Job.id), col(Job.updated_at)).where(
                        col(Job.status) == JobStatus.queued, col(Job.attempts) == 0
                    )
                ).all()
            )
        for new, _ in sorted(waiting - self._sent, key=lambda job: job[0] or 0):
            assert new is not None
            send_job(self.app, self.settings, new)
        self._sent = waiting
