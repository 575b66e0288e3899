"""Patrol batches: check each uploaded file, pair GPS tracks with videos, queue one job per video
not seen before (by SHA-256); and the batch views the API returns."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, func, select

from service.models.base import row_id
from service.models.batches import Batch, BatchFile, BatchFilePublic, BatchPublic, FileKind, FileStatus, Job, JobStatus
from service.models.observations import ObservationRow
from service.models.webhooks import EventKind
from service.settings import Settings
from service.storage import upload_store
from service.uploads import Received, ReceivedFile
from service.webhooks import emit
from vision import TRACK_SUFFIXES, GpsFormatError, VideoError, load_track, verify

FILES_FIELD = "files"
GPS_FOR_FIELD = "gps_for"
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
STILL_IMAGES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}
"""Leading bytes of still image formats a decoder would take as a one-frame video."""


class BatchRequestError(ValueError):
    """A request that is wrong as a whole (not one bad file): answered with 422."""


@dataclass
class _Upload:
    """One received file while the batch is put together."""

    file: ReceivedFile
    kind: FileKind
    error: str | None = None
    duration_s: float | None = None
    track: _Upload | None = None  # a video's GPS track
    used: bool = False  # a track paired with a video


@dataclass
class CheckedBatch:
    """The files of one request, each read and classified, tracks paired with their videos."""

    uploads: list[_Upload]


def check_batch(received: Received) -> CheckedBatch:
    """Read every received file and pair GPS tracks with videos (no database; seconds for hours of video).

    A video's GPS track is the one ``gps_for`` ("VIDEO=TRACK" by file name, repeatable; one track
    may serve several videos) names, else the track with the same file stem. Files that cannot
    be read are rejected one by one, as is a video whose track is unreadable (so it can be sent
    again with a good one). Raises BatchRequestError for a request without files, with unknown
    fields or a bad ``gps_for``.
    """
    uploads = [_check(f) for f in received.files]
    _pair(uploads, _explicit_pairs(received, uploads))
    return CheckedBatch(uploads)


def create_batch(
    session: Session, settings: Settings, checked: CheckedBatch, user_id: int | None, now: datetime
) -> int:
    """Record a checked batch and queue a job for each new, readable video; returns the batch id.

    A video processed or queued before is a ``duplicate`` of that job; one whose job failed is
    queued again. Moves the kept files into the upload folder and commits.
    """
    batch = Batch(created_by=user_id, created_at=now)
    session.add(batch)
    session.flush()
    jobs: dict[str, Job] = {}
    for upload in checked.uploads:
        row = BatchFile(
            batch_id=row_id(batch),
            name=upload.file.name,
            kind=upload.kind,
            size=upload.file.size,
            sha256=upload.file.sha256,
            error=upload.error,
        )
        if upload.kind == FileKind.video and upload.error is None:
            job, row.duplicate = _job_for(session, settings, upload, jobs, user_id, now)
            row.job_id = job.id
            row.gps_name = upload.track.file.name if upload.track else None
            jobs[upload.file.sha256] = job
        session.add(row)
    session.commit()
    assert batch.id is not None
    return batch.id


def incoming(settings: Settings) -> Path:
    """Where uploads are received before they are checked (emptied when the server starts)."""
    return settings.upload_dir / "incoming"


def _check(file: ReceivedFile) -> _Upload:
    """Classify a file by its name (``TRACK_SUFFIXES``: a GPS track; else a video) and read it."""
    if file.field != FILES_FIELD:
        raise BatchRequestError(f"unknown file field {file.field!r}: send videos and GPS tracks as {FILES_FIELD!r}")
    kind = FileKind.gps if Path(file.name).suffix.lower() in TRACK_SUFFIXES else FileKind.video
    upload = _Upload(file, kind)
    try:
        if kind == FileKind.video:
            image = still_image(file.path)
            if image:
                raise VideoError(f"{file.name} is a still image ({image}), not a video")
            upload.duration_s = verify(file.path).duration_s
        else:
            load_track(file.path)
    except (VideoError, GpsFormatError, OSError) as exc:
        upload.error = str(exc).replace(str(file.path), file.name)
    return upload


def still_image(path: Path) -> str | None:
    """The still image format the file starts like (PNG, JPEG, GIF, WebP, TIFF), or None."""
    with open(path, "rb") as f:
        head = f.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in STILL_IMAGES.items() if head.startswith(magic)), None)


def _explicit_pairs(received: Received, uploads: list[_Upload]) -> dict[str, str]:
    """video name -> track name from the ``gps_for`` fields, each checked against the files sent."""
    if not uploads:
        raise BatchRequestError(f"no files: send videos (and GPS tracks) in the repeated field {FILES_FIELD!r}")
    names = {u.file.name: u.kind for u in uploads}
    pairs: dict[str, str] = {}
    for name, value in received.fields:
        if name != GPS_FOR_FIELD:
            raise BatchRequestError(f"unknown form field {name!r} (known: {FILES_FIELD}, {GPS_FOR_FIELD})")
        video, sep, track = (part.strip() for part in value.partition("="))
        if not sep or names.get(video) != FileKind.video or names.get(track) != FileKind.gps:
            raise BatchRequestError(
                f"{GPS_FOR_FIELD} {value!r}: expected VIDEO=TRACK naming a video and a GPS track sent"
            )
        pairs[video] = track
    return pairs


def _pair(uploads: list[_Upload], explicit: dict[str, str]) -> None:
    """Give each video its track (explicit pairs, else the same stem); reject unpaired tracks and
    videos whose track is unreadable."""
    tracks = [u for u in uploads if u.kind == FileKind.gps]
    for video in (u for u in uploads if u.kind == FileKind.video):
        stem = Path(video.file.name).stem.lower()
        wanted = explicit.get(video.file.name)
        video.track = next(
            (t for t in tracks if t.file.name == wanted or (wanted is None and Path(t.file.name).stem.lower() == stem)),
            None,
        )
        if video.track is None:
            continue
        video.track.used = True
        if video.track.error and video.error is None:
            video.error = f"its GPS track {video.track.file.name} is unreadable; send both again with a good track"
    for track in tracks:
        if not track.used and track.error is None:
            track.error = (
                f"no video of this batch goes with it: name it like its video or pair them with {GPS_FOR_FIELD}"
            )


def _job_for(
    session: Session, settings: Settings, video: _Upload, batch_jobs: dict[str, Job], user_id: int | None, now: datetime
) -> tuple[Job, bool]:
    """The job of this video's content and whether an earlier upload made it (then it is queued
    again only if it failed), else a new job."""
    sha = video.file.sha256
    earlier = batch_jobs.get(sha) or session.exec(select(Job).where(Job.sha256 == sha)).first()
    if earlier is not None and earlier.status != JobStatus.failed:
        return earlier, True
    job = earlier or Job(sha256=sha, name=video.file.name, created_by=user_id, created_at=now)
    job.video = _keep(settings, video.file)
    if video.track is not None:
        job.gps = _keep(settings, video.track.file)
    job.duration_s = video.duration_s
    job.status, job.progress, job.attempts, job.error, job.updated_at = JobStatus.queued, 0.0, 0, None, now
    session.add(job)
    session.flush()
    return job, earlier is not None


def _keep(settings: Settings, file: ReceivedFile) -> str:
    """Move a received file into the upload store under its SHA-256 (once); returns its file name."""
    suffix = Path(file.name).suffix.lower()
    name = file.sha256 + (suffix if _SAFE_SUFFIX.match(suffix) else "")
    if file.path.exists():
        upload_store(settings).put_file(name, file.path)
    return name


# --- views ------------------------------------------------------------------------------------


def batch_views(session: Session, batches: Sequence[Batch]) -> list[BatchPublic]:
    """The public view of each batch, in a fixed number of queries."""
    rows = session.exec(
        select(BatchFile, Job)
        .outerjoin(Job, col(BatchFile.job_id) == Job.id)
        .where(col(BatchFile.batch_id).in_([b.id for b in batches]))
        .order_by(col(BatchFile.id))
    ).all()
    sources = sorted({job.source for _, job in rows if job is not None})
    counts = dict(
        session.exec(
            select(ObservationRow.source, func.count())
            .where(col(ObservationRow.source).in_(sources))
            .group_by(col(ObservationRow.source))
        ).all()
    )
    cases: dict[str, set[int]] = defaultdict(set)
    for source, case_id in session.exec(
        select(ObservationRow.source, ObservationRow.case_id)
        .where(col(ObservationRow.source).in_(sources), col(ObservationRow.case_id).is_not(None))
        .distinct()
    ):
        if case_id is not None:
            cases[source].add(case_id)
    by_batch: dict[int, list[tuple[BatchFile, Job | None]]] = defaultdict(list)
    for row, job in rows:
        by_batch[row.batch_id].append((row, job))
    return [_view(b, by_batch[row_id(b)], counts, cases) for b in batches]


def _view(
    batch: Batch, rows: list[tuple[BatchFile, Job | None]], counts: dict[str, int], cases: dict[str, set[int]]
) -> BatchPublic:
    files = [_file_view(row, job, counts, cases) for row, job in rows]
    jobs = list({job.id: job for _, job in rows if job is not None}.values())
    status, progress = batch_status(jobs)
    return BatchPublic(
        id=row_id(batch),
        status=status,
        progress=progress,
        created_at=batch.created_at,
        files=files,
        observations=sum(counts.get(j.source, 0) for j in jobs),
        case_ids=sorted(set().union(*(cases[j.source] for j in jobs))),
    )


def _file_view(row: BatchFile, job: Job | None, counts: dict[str, int], cases: dict[str, set[int]]) -> BatchFilePublic:
    if row.error is not None:
        status = FileStatus.rejected
    elif job is None:
        status = FileStatus.attached
    else:
        status = FileStatus(job.status.value)
    return BatchFilePublic(
        name=row.name,
        kind=row.kind,
        status=status,
        error=row.error or (job.error if job else None),
        size=row.size,
        sha256=row.sha256,
        job_id=row.job_id,
        duplicate=row.duplicate,
        gps=row.gps_name,
        progress=job.progress if job else 0.0,
        attempts=job.attempts if job else 0,
        observations=counts.get(job.source, 0) if job else 0,
        case_ids=sorted(cases[job.source]) if job else [],
    )


def batch_status(jobs: list[Job]) -> tuple[JobStatus, float]:
    """A batch's status and progress (0..1) from its jobs: failed without any job or when all
    failed; done when all ended and some succeeded; queued while none started; else running."""
    if not jobs:
        return JobStatus.failed, 1.0
    ended = (JobStatus.done, JobStatus.failed)
    progress = sum(1.0 if j.status in ended else j.progress for j in jobs) / len(jobs)
    statuses = {j.status for j in jobs}
    if statuses <= set(ended):
        return (JobStatus.failed if statuses == {JobStatus.failed} else JobStatus.done), 1.0
    return (JobStatus.queued if statuses == {JobStatus.queued} else JobStatus.running), progress


def emit_batches_done(session: Session, job_id: int, at: datetime) -> None:
    """After job ``job_id`` ended in this transaction: a ``batch.done`` event for each batch of it
    whose every video has now ended (its status, observations stored and cases)."""
    batch_ids = session.exec(select(BatchFile.batch_id).where(BatchFile.job_id == job_id).distinct()).all()
    batches = session.exec(select(Batch).where(col(Batch.id).in_(batch_ids)).order_by(col(Batch.id))).all()
    for view in batch_views(session, batches):
        if view.status in (JobStatus.done, JobStatus.failed):
            payload = {
                "batch_id": view.id,
                "status": view.status.value,
                "observations": view.observations,
                "case_ids": view.case_ids,
            }
            emit(session, EventKind.batch_done, at, payload)
