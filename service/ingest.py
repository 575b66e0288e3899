"""Observation ingest: validate each item on its own, skip ones already stored, assign the rest to cases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from service.cases import Matcher
from service.hotspots import located_shapes
from service.models import IngestResponse, IngestResult, Observation, ObservationCreate, validation_message
from service.settings import Settings

_IN_CHUNK = 500


def parse_item(raw: Any, categories: Iterable[str]) -> ObservationCreate:
    """One validated observation; raises ValueError with a readable reason."""
    try:
        obs = ObservationCreate.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(validation_message(exc)) from None
    if obs.category not in categories:
        raise ValueError(f"category: unknown category {obs.category!r} (known: {', '.join(sorted(categories))})")
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
    """Store and assign a batch in item order, in one transaction (committed here).

    ``now`` (aware UTC) is the receive time, used as ``seen_at`` where ``observed_at`` is null.
    """
    categories = frozenset(categories)
    results: list[IngestResult | None] = [None] * len(items)
    valid: list[tuple[int, ObservationCreate]] = []
    for i, raw in enumerate(items):
        try:
            valid.append((i, parse_item(raw, categories)))
        except ValueError as exc:
            track_id = raw.get("track_id") if isinstance(raw, dict) else None
            track_id = track_id if isinstance(track_id, str) else None
            results[i] = IngestResult(track_id=track_id, case_id=None, error=str(exc))
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
