"""Retention: the cleanup that deletes evidence past its time, and only that.

Per kind (``Settings.retention_*``, days; None keeps it): processed uploaded videos; keyframes of
rejected cases; crops of closed cases; images of observations with no case (vending points, mostly
cameras'). The age counts from the job's end, the case's last change, or the observation's receipt.

A stored file (in the evidence or the upload store: a folder or a bucket) is deleted only when every
observation naming it has expired so: one an open case (or a case not expired yet) still names is
kept, and a video is kept while any case of its observations is open. Rows are never changed: an
observation keeps the key and the chain keeps its hash, and each deleted file gets a ``deletion``
entry in the evidence chain (so ``verify`` and the report know it went by retention, not by loss).
Then store files nothing names and unwritten for ``retention_unreferenced_days`` are collected, with
blurred copies whose image is gone or whose blur version is old. Everything done is logged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from sqlmodel import Session, col, or_, select

from service.cases import OPEN
from service.chain import append
from service.evidence import evidence_store, has_image, is_key
from service.models.base import row_id
from service.models.batches import Job, JobStatus
from service.models.cases import Case, CaseStatus
from service.models.chain import EntryKind
from service.models.observations import ObservationRow
from service.models.operations import Disposal, Verification
from service.privacy import BLURRED_DIR, index_name
from service.settings import Settings
from service.storage import ObjectStore, upload_store
from service.writer import Writer

log = logging.getLogger(__name__)

_CHUNK = 500


@dataclass(frozen=True)
class Expired:
    """One observation's image past its retention: ``field`` is ``crop`` or ``keyframe``."""

    key: str
    observation_id: int
    field: str
    case_id: int | None
    reason: str


@dataclass
class Cleanup:
    """What one cleanup run deleted: video file names, store keys (with why) and collected store paths."""

    videos: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    collected: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per thing deleted, and a summary."""
        return [
            *(f"video {name}: processed and past retention" for name in self.videos),
            *(f"evidence {key}: {reason}" for key, reason in sorted(self.files.items())),
            *(f"collected {path}: nothing names it" for path in self.collected),
            f"cleanup: {len(self.videos)} videos, {len(self.files)} evidence files, "
            f"{len(self.collected)} unreferenced store files deleted",
        ]


def expired_images(session: Session, settings: Settings, now: datetime) -> Iterator[Expired]:
    """Every observation image past its kind's retention."""
    rules: list[tuple[float | None, str, Any, str]] = [
        (settings.retention_rejected_keyframe_days, "keyframe", CaseStatus.rejected, "keyframe of a rejected case"),
        (settings.retention_closed_crop_days, "crop", CaseStatus.closed, "crop of a closed case"),
    ]
    for days, name, status, reason in rules:
        if days is None:
            continue
        image = getattr(ObservationRow, name)
        stmt = (
            select(ObservationRow)
            .join(Case, col(Case.id) == ObservationRow.case_id)
            .where(Case.status == status, col(Case.updated_at) <= now - timedelta(days=days), col(image).is_not(None))
        )
        for row in session.exec(stmt):
            yield Expired(getattr(row, name), row_id(row), name, row.case_id, reason)
    if settings.retention_uncased_days is not None:
        uncased = select(ObservationRow).where(
            col(ObservationRow.case_id).is_(None),
            col(ObservationRow.received_at) <= now - timedelta(days=settings.retention_uncased_days),
            or_(col(ObservationRow.crop).is_not(None), col(ObservationRow.keyframe).is_not(None)),
        )
        for row in session.exec(uncased):
            for name in ("crop", "keyframe"):
                if getattr(row, name):
                    yield Expired(getattr(row, name), row_id(row), name, None, "image of an observation with no case")


def references(session: Session, keys: list[str]) -> dict[str, set[tuple[int, str]]]:
    """key -> every (observation id, ``crop``/``keyframe``) naming it."""
    found: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        stmt = select(ObservationRow.id, ObservationRow.crop, ObservationRow.keyframe).where(
            or_(col(ObservationRow.crop).in_(chunk), col(ObservationRow.keyframe).in_(chunk))
        )
        for obs_id, crop, keyframe in session.exec(stmt):
            for name, key in (("crop", crop), ("keyframe", keyframe)):
                if key in chunk and obs_id is not None:
                    found[key].add((obs_id, name))
    return found


def deletable(session: Session, settings: Settings, store: ObjectStore, now: datetime) -> dict[str, list[Expired]]:
    """Store key -> its expired uses, for the images every use of which has expired and that ``store``
    still holds."""
    by_key: dict[str, list[Expired]] = defaultdict(list)
    for item in expired_images(session, settings, now):
        by_key[item.key].append(item)
    uses = references(session, sorted(by_key))
    return {
        key: items
        for key, items in by_key.items()
        if uses[key] <= {(i.observation_id, i.field) for i in items} and has_image(store, key)
    }


def delete_evidence(
    session: Session, writer: Writer, settings: Settings, store: ObjectStore, now: datetime, done: Cleanup
) -> None:
    """Delete the expired evidence images from ``store``, each recorded in the chain first (one entry
    per case it served)."""
    with writer:
        found = deletable(session, settings, store, now)
        entries = []
        for key, items in sorted(found.items()):
            for case_id in sorted({i.case_id for i in items}, key=lambda c: -1 if c is None else c):
                ids = sorted(i.observation_id for i in items if i.case_id == case_id)
                record = {"key": key, "reason": items[0].reason, "observations": ids}
                entries.append((EntryKind.deletion, None, case_id, now, record))
        append(session, entries)
        session.commit()
    for key, items in sorted(found.items()):
        store.delete(key)
        done.files[key] = items[0].reason


def delete_videos(session: Session, writer: Writer, settings: Settings, now: datetime, done: Cleanup) -> None:
    """Delete processed uploaded videos past ``retention_video_days`` unless a case of theirs is open."""
    if settings.retention_video_days is None:
        return
    cutoff = now - timedelta(days=settings.retention_video_days)
    uploads = upload_store(settings)
    with writer:
        jobs = session.exec(
            select(Job).where(Job.status == JobStatus.done, col(Job.video).is_not(None), col(Job.finished_at) <= cutoff)
        ).all()
        for job in jobs:
            open_case = session.exec(
                select(Case.id)
                .join(ObservationRow, col(ObservationRow.case_id) == Case.id)
                .where(ObservationRow.source == job.source, col(Case.status).in_(list(OPEN)))
                .limit(1)
            ).first()
            if open_case is not None or job.video is None:
                continue
            uploads.delete(job.video)
            done.videos.append(job.video)
            job.video = None
            session.add(job)
        session.commit()


def collect_unreferenced(
    session: Session, settings: Settings, store: ObjectStore, now: datetime, done: Cleanup
) -> None:
    """Delete the images in ``store`` nothing names (observations' crops and keyframes, the after-photos
    of disposals and verifications) and unwritten for ``retention_unreferenced_days``, and the blurred
    copies (with their index) of images no longer stored or of an older blur version."""
    named: set[str] = set()
    for crop, keyframe in session.exec(select(ObservationRow.crop, ObservationRow.keyframe)):
        named.update(k for k in (crop, keyframe) if k)
    for photos in (select(Disposal.photo), select(Verification.photo)):
        named.update(photo for photo in session.exec(photos) if photo)
    copies: set[str] = set()
    for index in sorted(name for name, _ in store.list(f"{BLURRED_DIR}/") if name.endswith(".key")):
        copy = (store.read(index) or b"").decode("ascii", "replace").strip()
        stem = PurePath(index).stem
        raw = next((k for k in (f"{stem[:2]}/{stem}{s}" for s in (".jpg", ".png")) if has_image(store, k)), None)
        if raw is not None and index == index_name(raw) and is_key(copy):
            copies.add(copy)
            continue
        store.delete(index)
        done.collected.append(index)
        if is_key(copy) and copy not in named and store.exists(copy):
            store.delete(copy)
            done.collected.append(copy)
    cutoff = now - timedelta(days=settings.retention_unreferenced_days)
    for key, modified in sorted(store.list("")):
        if is_key(key) and key not in named and key not in copies and modified <= cutoff:
            store.delete(key)
            done.collected.append(key)


def cleanup(session: Session, writer: Writer, settings: Settings, now: datetime) -> Cleanup:
    """One cleanup run (see the module); logs and returns what it deleted."""
    done = Cleanup()
    store = evidence_store(settings)
    delete_videos(session, writer, settings, now, done)
    delete_evidence(session, writer, settings, store, now, done)
    collect_unreferenced(session, settings, store, now, done)
    for line in done.lines():
        log.info("%s", line)
    return done
