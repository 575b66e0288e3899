"""Video jobs: ``process_video``, the one idempotent function that turns an uploaded video into
observations and cases, and the job queue in the database (``claim_next``, ``requeue_interrupted``).
Whatever runs jobs (the embedded ``service.workers.pool.JobPool``) calls these.

A run is safe to repeat: the tracker gives the same track ids for the same video and settings,
evidence images are stored by content, and ingest skips observations already stored for the
video's ``source``. So a run cut off anywhere (a killed server) is simply run again.
"""

from __future__ import annotations

import functools
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from service.batches import emit_batches_done
from service.chain import model_provenance
from service.evidence import evidence_store, with_evidence
from service.ingest import ingest
from service.models.base import row_id, utcnow
from service.models.batches import Job, JobStatus
from service.patrols import record_pass, route_of_track
from service.settings import Settings
from service.signs import CameraView, sweep_removed
from service.storage import upload_store
from service.writer import lock_matching
from vision import (
    DecodeStats,
    DistanceSampling,
    Frame,
    GpsTrack,
    Observation,
    Scanner,
    ScanOptions,
    load_track,
    probe,
)

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0
"""How often a run writes its progress (and the observations found meanwhile) to the database."""


class Stopped(Exception):
    """The worker was asked to stop; the job goes back to the queue."""


class VideoScanner(Protocol):
    """What ``process_video`` needs of a ``vision.Scanner``: observations of a video as its tracks end,
    their images written under the folder given, ``on_frame`` called per frame analysed."""

    def observations(
        self,
        video: Path,
        out_dir: Path,
        gps: GpsTrack | None,
        on_frame: Callable[[Frame], object],
        stats: DecodeStats,
        /,
    ) -> Iterator[Observation]: ...


def build_scanner(settings: Settings) -> Scanner:
    """A Scanner with the service's model, taxonomy and sampling rate (loads the model)."""
    return Scanner(
        ScanOptions(
            model=settings.model_path,
            taxonomy=settings.taxonomy_path,
            fps=settings.scan_fps,
            imgsz=settings.scan_imgsz,
            tile=settings.scan_tile,
            focus=settings.scan_focus,
            focus_band=settings.scan_focus_band,
            focus_width=settings.scan_focus_width,
            mount=settings.scan_mount,
            distance=DistanceSampling(settings.scan_every_m) if settings.scan_every_m > 0 else None,
        )
    )


def claim(engine: Engine, job_id: int) -> bool:
    """Mark job ``job_id`` ``running`` (one more attempt) if it is queued; of several claimers racing
    for one job, only the one that gets True runs it."""
    with engine.begin() as conn:
        return bool(
            conn.execute(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.status) == JobStatus.queued)
                .values(status=JobStatus.running, attempts=Job.attempts + 1, updated_at=utcnow())
            ).rowcount
        )


def claim_next(engine: Engine) -> int | None:
    """Mark the oldest queued job ``running`` (one more attempt) and return its id; None when none
    waits. Of several claimers racing for one job, only one gets it."""
    while True:
        with engine.connect() as conn:
            job_id = conn.execute(
                select(col(Job.id)).where(col(Job.status) == JobStatus.queued).order_by(col(Job.id)).limit(1)
            ).scalar()
        if job_id is None:
            return None
        if claim(engine, job_id):
            return job_id


def requeue_interrupted(engine: Engine, max_attempts: int, heard_before: datetime | None = None) -> list[int]:
    """Queue again the ``running`` jobs whose runner stopped (killed mid-video); fail those that have
    had ``max_attempts`` runs, with the ``batch.done`` events of the batches they end (same
    transaction). Returns the ids queued again. Without ``heard_before`` every running job counts
    (for a server that is the one job runner on its database); with it, only jobs whose last word
    (``updated_at``: a run writes its progress every second) is older."""
    now = utcnow()
    stopped = [col(Job.status) == JobStatus.running]
    if heard_before is not None:
        stopped.append(col(Job.updated_at) < heard_before)
    with Session(engine) as session:
        failed = session.execute(
            update(Job)
            .where(*stopped, col(Job.attempts) >= max_attempts)
            .values(
                status=JobStatus.failed,
                finished_at=now,
                updated_at=now,
                error=f"its runner stopped during each of its {max_attempts} runs; giving up",
            )
            .returning(col(Job.id))
        ).scalars()
        failed_ids = [job_id for job_id in failed if job_id is not None]
        for job_id in failed_ids:
            emit_batches_done(session, job_id, now)
        ids = session.execute(
            update(Job).where(*stopped).values(status=JobStatus.queued, updated_at=now).returning(col(Job.id))
        ).scalars()
        queued = [job_id for job_id in ids if job_id is not None]
        session.commit()
    if failed_ids or queued:
        log.warning(
            "%d interrupted jobs queued again, %d failed after %d runs", len(queued), len(failed_ids), max_attempts
        )
    return queued


def process_video(
    engine: Engine,
    settings: Settings,
    job_id: int,
    *,
    scanner: Callable[[], VideoScanner] | None = None,
    lock: AbstractContextManager[object] | None = None,
    stop: threading.Event | None = None,
) -> JobStatus:
    """Run job ``job_id`` to its end and return its status; a job already done is left alone.

    Observations are ingested as their tracks end, in chunks (at most every ``PROGRESS_EVERY_S``),
    with their crop and keyframe copied into the evidence store; ``progress`` is frames done over
    frames expected. An error queues the job again until it has had ``settings.max_job_attempts``
    runs, then fails it. ``scanner`` makes the Scanner (default: ``build_scanner``); ``lock`` is
    held for every database write; when ``stop`` is set the run ends and the job is queued again.
    """
    lock = lock or nullcontext()
    with Session(engine, expire_on_commit=False) as session:
        job = session.get(Job, job_id)
        if job is None:
            raise LookupError(f"no job {job_id}")
        if job.status == JobStatus.done:
            return JobStatus.done
        if job.status != JobStatus.running:
            with lock:
                _update(session, job, status=JobStatus.running, attempts=job.attempts + 1)
        session.expunge(job)
    work = settings.data_dir / "work" / str(job_id)
    inputs = settings.data_dir / "work" / f"{job_id}.in"  # the video and track, when fetched from a bucket
    for folder in (work, inputs):
        shutil.rmtree(folder, ignore_errors=True)
    uploads = upload_store(settings)
    video: Path | None = None
    run = _Run(engine, settings, job, lock, stop)
    try:
        if job.video is None:
            raise FileNotFoundError("the video was deleted after an earlier run; upload it again")
        video = uploads.local_copy(job.video, inputs)
        gps = load_track(uploads.local_copy(job.gps, inputs)) if job.gps else None
        make_scanner = scanner or functools.partial(build_scanner, settings)
        for observation in make_scanner().observations(video, work, gps, run.on_frame, run.stats):
            run.add(observation, work)
        run.flush()
        if gps is not None:
            run.record_pass(video, gps)
    except Stopped:
        return run.end(JobStatus.queued, attempts=job.attempts - 1)
    except Exception as exc:
        log.exception("job %d (%s) failed", job_id, job.name)
        error = f"{type(exc).__name__}: {exc}"
        error = error.replace(str(video), job.name) if video else error
        status = JobStatus.queued if job.attempts < settings.max_job_attempts else JobStatus.failed
        return run.end(status, error=error[:2000])
    finally:
        for folder in (work, inputs):
            shutil.rmtree(folder, ignore_errors=True)
    if settings.video_retention == "delete" and job.video is not None:
        uploads.delete(job.video)
        job.video = None
    return run.end(JobStatus.done, progress=1.0, error=None, video=job.video)


class _Run:
    """One run of a job: counts frames, buffers ingest items, writes both to the database."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        job: Job,
        lock: AbstractContextManager[object],
        stop: threading.Event | None,
    ) -> None:
        self.engine, self.settings, self.job, self.lock, self.stop = engine, settings, job, lock, stop
        self.evidence = evidence_store(settings)
        self.duration_s = job.duration_s
        self.view = CameraView(settings.scan_mount)  # its frame width from the first frame
        self.stats = DecodeStats()
        self.t = 0.0  # video time of the last frame analysed (decoding runs a little ahead)
        self.items: list[Observation] = []
        self.provenance = model_provenance(settings.model_path, job.sha256)
        self.flushed_at = time.monotonic()

    def on_frame(self, frame: Frame) -> None:
        self.t = frame.t
        if self.view.frame_width is None:
            self.view = CameraView(self.view.mount, frame.image.shape[1])
        if self.stop is not None and self.stop.is_set():
            raise Stopped
        if time.monotonic() - self.flushed_at >= PROGRESS_EVERY_S:
            self.flush()

    def add(self, observation: Observation, work: Path) -> None:
        """Move the observation's images into the evidence store and buffer it for ingest."""
        self.items.append(with_evidence(observation, work, self.evidence))

    def flush(self) -> None:
        """Ingest the buffered observations and write the progress."""
        progress = min(0.99, self.t / self.duration_s) if self.duration_s else 0.0
        with self.lock, Session(self.engine) as session:
            if self.items:
                response = ingest(
                    session,
                    self.settings,
                    self.job.source,
                    self.items,
                    self.job.created_by,
                    utcnow(),
                    self.provenance,
                    self.view,
                )
                for result in response.results:
                    if result.error:
                        log.warning("job %d: observation %s not kept: %s", self.job.id, result.track_id, result.error)
                self.items = []
            _update(session, session.get_one(Job, self.job.id), progress=progress)
        self.flushed_at = time.monotonic()

    def record_pass(self, video: Path, gps: GpsTrack) -> None:
        """Keep the drive as the video's patrol pass (a rerun replaces it) and mark removed the signs on its
        way it no longer saw (``sweep_removed``); a track that cannot be placed on the video's time is logged
        and left out."""
        recorded = probe(video).start_time
        start = recorded or (None if gps.video_relative else gps.start)
        route = route_of_track(gps, start, self.duration_s, self.settings.scan_mount)
        if route is None:
            log.warning("job %d: its GPS track does not cover the video's time; no patrol pass kept", self.job.id)
            return
        with self.lock, Session(self.engine) as session:
            lock_matching(session)
            patrol = record_pass(session, self.job.source, route, self.job.id)
            session.flush()
            sweep_removed(session, self.settings, patrol, utcnow())
            session.commit()

    def end(self, status: JobStatus, **values: Any) -> JobStatus:
        """Write the job's final state of this run."""
        finished = {"finished_at": utcnow()} if status in (JobStatus.done, JobStatus.failed) else {}
        with self.lock, Session(self.engine) as session:
            job = session.get_one(Job, self.job.id)
            announce = (lambda: emit_batches_done(session, row_id(job), utcnow())) if finished else None
            _update(session, job, status=status, **finished, **values, before_commit=announce)
        return status


def _update(session: Session, job: Job, before_commit: Callable[[], None] | None = None, **values: Any) -> None:
    """Set fields of ``job`` (and ``updated_at``), call ``before_commit`` (more writes of the same
    transaction), and commit."""
    for name, value in {**values, "updated_at": utcnow()}.items():
        setattr(job, name, value)
    session.add(job)
    if before_commit is not None:
        before_commit()
    session.commit()
