"""Observation ingest: validate each item on its own, skip ones already stored, assign the rest to cases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from service.cases import Matcher
from service.evidence import stored_file
from service.hotspots import located_shapes
from service.models import IngestResponse, IngestResult, Observation, ObservationCreate, validation_message
from service.settings import Settings
from service.writer import lock_matching

_IN_CHUNK = 500
ATTEMPTS = 5
"""Runs of one batch when other writers keep changing its cases meanwhile (then it fails)."""


def parse_item(raw: Any, categories: Iterable[str], evidence_dir: Path) -> ObservationCreate:
    """One validated observation whose images are in the evidence store at ``evidence_dir``;
    raises ValueError with a readable reason."""
    try:
        obs = ObservationCreate.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(validation_message(exc)) from None
    if obs.category not in categories:
        raise ValueError(f"category: unknown category {obs.category!r} (known: {', '.join(sorted(categories))})")
    for field in ("crop", "keyframe"):
        key = getattr(obs, field)
        if key is not None and stored_file(evidence_dir, key) is None:
            raise ValueError(f"{field}: no image {key} in the evidence store: send it to POST /api/evidence first")
    return obs


def stored_cases(session: Session, source: str, track_ids: list[str]) -> dict[str, int | None]:
    """track_id -> case id of the observations of ``source`` already stored."""
    found: dict[str, int | None] = {}
    for start in range(0, len(track_ids), _IN_CHUNK):
        chunk = track_ids[start : start + _IN_CHUNK]
        stmt = select(Observation.track_id, Observation.case_id).where(
            Observation.source == source, Observation.track_id.in_(chunk)
        )
        found.update(dict(session.exec(stmt).all()))
    return found


def ingest(
    session: Session,
    settings: Settings,
    categories: Iterable[str],
    source: str,
    items: list[Any],
    user_id: int | None,
    now: datetime,
) -> IngestResponse:
    """Store and assign a batch in item order, in one transaction (committed here) that is the
    only one matching observations meanwhile (``lock_matching``). When another writer changed one
    of its cases meanwhile, the batch is run again (it is idempotent), at most ATTEMPTS times.

    ``now`` (aware UTC) is the receive time, used as ``seen_at`` where ``observed_at`` is null.
    """
    categories = frozenset(categories)
    checked: list[IngestResult | tuple[int, ObservationCreate]] = []
    for i, raw in enumerate(items):
        try:
            checked.append((i, parse_item(raw, categories, settings.evidence_dir)))
        except ValueError as exc:
            track_id = raw.get("track_id") if isinstance(raw, dict) else None
            track_id = track_id if isinstance(track_id, str) else None
            checked.append(IngestResult(track_id=track_id, case_id=None, error=str(exc)))
    for _ in range(ATTEMPTS - 1):
        try:
            return _store(session, settings, source, checked, user_id, now)
        except StaleDataError:
            session.rollback()
    return _store(session, settings, source, checked, user_id, now)


def _store(
    session: Session,
    settings: Settings,
    source: str,
    checked: list[IngestResult | tuple[int, ObservationCreate]],
    user_id: int | None,
    now: datetime,
) -> IngestResponse:
    """One run of ``ingest`` over the checked items (errors kept as they are); commits."""
    lock_matching(session)
    results = [item if isinstance(item, IngestResult) else None for item in checked]
    valid = [item for item in checked if not isinstance(item, IngestResult)]
    known = stored_cases(session, source, sorted({obs.track_id for _, obs in valid}))
    matcher = Matcher(session, settings, located_shapes(session), user_id)
    rows = []
    for i, obs in valid:
        if obs.track_id in known:
            results[i] = IngestResult(
                track_id=obs.track_id, case_id=known[obs.track_id], error=None, outcome="duplicate"
            )
            continue
        row = Observation(
            **obs.model_dump(), source=source, received_at=now, seen_at=obs.observed_at or now, uploaded_by=user_id
        )
        case_id, outcome = matcher.assign(row)
        rows.append(row)
        known[obs.track_id] = case_id
        results[i] = IngestResult(track_id=obs.track_id, case_id=case_id, error=None, outcome=outcome)
    session.add_all(rows)
    session.commit()
    return IngestResponse(accepted=sum(r.error is None for r in results), results=results)
