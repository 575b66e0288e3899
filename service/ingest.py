"""Observation ingest, the one way observations reach the database (API items, uploaded videos,
cameras): skip the ones already stored, put signs into the sign register, assign the rest (and the signs
the sign rules pick) to cases, all in one transaction.

Ingest takes ``vision.Observation``, validated where it came in (``service.observations`` for API
items; the vision pipeline for videos and cameras, whose images the caller has put into the evidence
store: ``crop``/``keyframe`` are store keys here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from service.cases import Matcher
from service.chain import Provenance
from service.hotspots import located_shapes
from service.inputs import utc_time
from service.models.observations import IngestResponse, IngestResult, ObservationRow, Outcome
from service.settings import Settings
from service.signs import TEXT_CHARS, CameraView, Register
from service.writer import lock_matching
from vision import Observation

_IN_CHUNK = 500
ATTEMPTS = 5
"""Runs of one batch when other writers keep changing its cases meanwhile (then it fails)."""


@dataclass(frozen=True)
class Rejected:
    """An item refused before ingest (its ``track_id`` when it had a readable one, and why): it is
    reported in its place among the results."""

    track_id: str | None
    error: str


def stored_cases(session: Session, source: str, track_ids: list[str]) -> dict[str, tuple[int | None, int | None]]:
    """track_id -> (case id, sign id) of the observations of ``source`` already stored."""
    found: dict[str, tuple[int | None, int | None]] = {}
    for start in range(0, len(track_ids), _IN_CHUNK):
        chunk = track_ids[start : start + _IN_CHUNK]
        stmt = select(ObservationRow.track_id, ObservationRow.case_id, ObservationRow.sign_id).where(
            ObservationRow.source == source, col(ObservationRow.track_id).in_(chunk)
        )
        found.update({track: (case_id, sign_id) for track, case_id, sign_id in session.exec(stmt)})
    return found


def ingest(
    session: Session,
    settings: Settings,
    source: str,
    items: Sequence[Observation | Rejected],
    user_id: int | None,
    now: datetime,
    provenance: Provenance | None = None,
    view: CameraView | None = None,
) -> IngestResponse:
    """Store and assign a batch in item order, in one transaction (committed here) that is the
    only one matching observations meanwhile (``lock_matching``). When another writer changed one
    of its cases meanwhile, the batch is run again (it is idempotent), at most ATTEMPTS times.

    ``now`` (aware UTC) is the receive time, used as ``seen_at`` where ``observed_at`` is null.
    A ``Rejected`` item, or an observation whose ``observed_at`` is no time of the accepted range
    (``service.inputs.utc_time``), is reported with its error. ``provenance`` (the detector and
    source video, where known) is stored with each observation; each is appended to the evidence
    chain (``service.chain``) in the same transaction. ``view`` is how the source's frames were taken (the
    side of the street of each sign; None: unknown).
    """
    provenance = provenance or Provenance()
    checked: list[Rejected | tuple[Observation, datetime | None]] = []
    for item in items:
        if isinstance(item, Rejected):
            checked.append(item)
            continue
        try:
            checked.append((item, utc_time(item.observed_at) if item.observed_at is not None else None))
        except ValueError as exc:
            checked.append(Rejected(item.track_id, f"observed_at: {exc}"))
    for _ in range(ATTEMPTS - 1):
        try:
            return _store(session, settings, source, checked, user_id, now, provenance, view or CameraView())
        except StaleDataError:
            session.rollback()
    return _store(session, settings, source, checked, user_id, now, provenance, view or CameraView())


def _store(
    session: Session,
    settings: Settings,
    source: str,
    checked: list[Rejected | tuple[Observation, datetime | None]],
    user_id: int | None,
    now: datetime,
    provenance: Provenance,
    view: CameraView,
) -> IngestResponse:
    """One run of ``ingest`` over the checked items (errors kept as they are); commits."""
    lock_matching(session)
    valid = [item for item in checked if not isinstance(item, Rejected)]
    known = stored_cases(session, source, sorted({obs.track_id for obs, _ in valid}))
    shapes = located_shapes(session)
    matcher = Matcher(session, settings, shapes, user_id)
    register = Register(session, settings, shapes, view)
    results: list[IngestResult] = []
    rows = []
    for item in checked:
        if isinstance(item, Rejected):
            results.append(IngestResult(track_id=item.track_id, case_id=None, error=item.error))
            continue
        obs, observed_at = item
        if obs.track_id in known:
            case_id, sign_id = known[obs.track_id]
            results.append(
                IngestResult(
                    track_id=obs.track_id, case_id=case_id, sign_id=sign_id, error=None, outcome=Outcome.duplicate
                )
            )
            continue
        row = ObservationRow(
            track_id=obs.track_id,
            category=obs.category,
            label=obs.label,
            confidence=obs.confidence,
            t_first=obs.t_first,
            t_last=obs.t_last,
            t_best=obs.t_best,
            observed_at=observed_at,
            bbox=list(obs.bbox),
            lat=obs.lat,
            lon=obs.lon,
            gps_accuracy_m=obs.gps_accuracy_m,
            crop=obs.crop,
            keyframe=obs.keyframe,
            text=obs.text[:TEXT_CHARS] if obs.text else None,
            text_confidence=obs.text_confidence,
            signature=obs.signature,
            source=source,
            received_at=now,
            seen_at=observed_at or now,
            uploaded_by=user_id,
            model=provenance.model,
            model_sha256=provenance.model_sha256,
            source_sha256=provenance.source_sha256,
        )
        rows.append(row)
        case_id, outcome = _assign(matcher, register, row)
        known[obs.track_id] = case_id, row.sign_id
        results.append(
            IngestResult(track_id=obs.track_id, case_id=case_id, sign_id=row.sign_id, error=None, outcome=outcome)
        )
    session.add_all(rows)
    session.commit()
    return IngestResponse(accepted=sum(r.error is None for r in results), results=results)


def _assign(matcher: Matcher, register: Register, row: ObservationRow) -> tuple[int | None, Outcome]:
    """A sign joins its register entry and makes a case only where a sign rule says so (as that rule's
    category); anything else goes to the cases. Returns (case id, outcome)."""
    if register.holds(row):
        category = register.case_category(row, register.assign(row))
        if category is None:
            return None, Outcome.registered
        row.category = category
    return matcher.assign(row)
