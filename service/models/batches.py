"""Patrol uploads: batches (one upload request each), their files, and the jobs (one per distinct
video) that turn videos into observations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models.base import EnumText, UTCDateTime, utcnow


class JobStatus(StrEnum):
    """Where a job (one video) or a whole batch stands."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class FileKind(StrEnum):
    video = "video"
    gps = "gps"


class FileStatus(StrEnum):
    """A batch file: a video's job status, ``attached`` (a GPS track in use) or ``rejected``."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    attached = "attached"
    rejected = "rejected"


class Job(SQLModel, table=True):
    """The processing of one distinct video (by SHA-256), whichever batches uploaded it.

    ``video`` and ``gps`` are file names in the upload folder (``video`` None once deleted);
    ``progress`` is 0..1; ``attempts`` counts runs started; ``duration_s`` is the video's length.
    """

    __tablename__ = "jobs"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(unique=True, index=True, sa_type=sa.String(64))
    name: str = Field(max_length=255, sa_type=sa.String(255))
    video: str | None = Field(default=None, max_length=255, sa_type=sa.String(255))
    gps: str | None = Field(default=None, max_length=255, sa_type=sa.String(255))
    duration_s: float | None = None
    status: JobStatus = Field(default=JobStatus.queued, index=True, sa_type=EnumText(JobStatus))
    progress: float = 0.0
    attempts: int = 0
    error: str | None = Field(default=None, max_length=2000, sa_type=sa.String(2000))
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def source(self) -> str:
        """The observation ``source`` of this video: stable for its content."""
        return f"video-{self.sha256[:16]}"


class Batch(SQLModel, table=True):
    """One upload request."""

    __tablename__ = "batches"

    id: int | None = Field(default=None, primary_key=True)
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BatchFile(SQLModel, table=True):
    """One uploaded file of a batch: ``error`` says why it was rejected; a video names its ``job``
    (``duplicate`` when an earlier upload made that job) and the GPS track matched to it."""

    __tablename__ = "batch_files"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batches.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255, sa_type=sa.String(255))
    kind: FileKind = Field(sa_type=EnumText(FileKind))
    size: int = Field(default=0, sa_type=sa.BigInteger)
    sha256: str | None = Field(default=None, sa_type=sa.String(64))
    job_id: int | None = Field(default=None, foreign_key="jobs.id", index=True, ondelete="SET NULL")
    duplicate: bool = False
    gps_name: str | None = Field(default=None, max_length=255, sa_type=sa.String(255))
    error: str | None = Field(default=None, max_length=2000, sa_type=sa.String(2000))


class BatchFilePublic(SQLModel):
    """One file's result: ``size`` in bytes; for a video, its job's ``progress`` (0..1),
    ``attempts``, ``observations`` stored and ``case_ids`` they joined."""

    name: str
    kind: FileKind
    status: FileStatus
    error: str | None
    size: int
    sha256: str | None
    job_id: int | None
    duplicate: bool
    gps: str | None
    progress: float
    attempts: int
    observations: int
    case_ids: list[int]


class BatchPublic(SQLModel):
    """A batch: ``status`` and ``progress`` (0..1) over its videos; ``case_ids`` all their cases."""

    id: int
    status: JobStatus
    progress: float
    created_at: datetime
    files: list[BatchFilePublic]
    observations: int
    case_ids: list[int]


class BatchesPublic(SQLModel):
    items: list[BatchPublic]
    total: int
