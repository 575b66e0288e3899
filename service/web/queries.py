"""The reads behind the pages, each a fixed number of queries whatever the page size (no N+1).

The review queue pages with a keyset cursor, so cards decided meanwhile never shift the next page.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, or_
from sqlmodel import Session, func, select

from service.cases import OPEN
from service.inputs import MAX_ID, utc_time
from service.models.cases import Case, CaseStatus
from service.models.hotspots import Hotspot, HotspotKind
from service.models.observations import ObservationRow

QUEUE = (CaseStatus.new, CaseStatus.reopened)
PAGE_SIZE = 50
EVIDENCE = tuple(f for f in ("crop", "keyframe") if f in ObservationRow.model_fields)
"""Image fields observations have (``keyframe`` comes with the evidence store)."""

Order = Literal["newest", "confidence"]


@dataclass(frozen=True)
class Evidence:
    """The best observation of a case: its id, confidence, box and which images it has."""

    observation_id: int
    confidence: float
    bbox: list[float]
    images: frozenset[str]


@dataclass(frozen=True)
class Card:
    case: Case
    hotspot_name: str | None
    evidence: Evidence | None
    cursor: str


@dataclass
class QueuePage:
    cards: list[Card]
    next_cursor: str | None
    waiting: int


def best_confidence():
    """Per case (correlated): the highest confidence among its observations."""
    return (
        select(func.coalesce(func.max(ObservationRow.confidence), 0.0))
        .where(ObservationRow.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )


def _waiting(category: str | None) -> list:
    """Conditions for the cases waiting for review (of one category when given)."""
    return [Case.status.in_(QUEUE)] + ([Case.category == category] if category else [])


def queue_count(session: Session, category: str | None = None) -> int:
    return session.exec(select(func.count()).select_from(Case).where(*_waiting(category))).one()


def queue_page(
    session: Session, order: Order, category: str | None = None, after: str | None = None, limit: int = PAGE_SIZE
) -> QueuePage:
    """One page of cases waiting for review: newest sighting first, or least confident first."""
    conditions = _waiting(category)
    if order == "newest":
        keys = (Case.last_seen, Case.id)
        order_by = (Case.last_seen.desc(), Case.id.desc())
    else:
        keys = (best_confidence(), Case.id)
        order_by = (keys[0].asc(), Case.id.asc())
    if after:
        conditions.append(_after(order, keys, after))
    stmt = (
        select(Case, Hotspot.name)
        .outerjoin(Hotspot, Case.hotspot_id == Hotspot.id)
        .where(*conditions)
        .order_by(*order_by)
        .limit(limit + 1)
    )
    rows = session.exec(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    evidence = best_evidence(session, [case.id for case, _ in rows])
    cards = [
        Card(case, name, evidence.get(case.id), _cursor(order, case, evidence.get(case.id))) for case, name in rows
    ]
    return QueuePage(cards, cards[-1].cursor if more and cards else None, queue_count(session, category))


def _cursor(order: Order, case: Case, evidence: Evidence | None) -> str:
    if order == "newest":
        return f"{case.last_seen.isoformat()}~{case.id}"
    return f"{evidence.confidence if evidence else 0.0!r}~{case.id}"


def _after(order: Order, keys: tuple, cursor: str):
    """Rows after the cursor in the page order; raises ValueError on a malformed cursor."""
    raw_key, _, raw_id = cursor.rpartition("~")
    case_id = int(raw_id)
    if not 0 <= case_id <= MAX_ID:
        raise ValueError(f"case id {case_id} out of range")
    if order == "newest":
        key = utc_time(raw_key)
        return or_(keys[0] < key, and_(keys[0] == key, keys[1] < case_id))
    value = float(raw_key)
    if not math.isfinite(value):
        raise ValueError(f"confidence {value} is not a number")
    return or_(keys[0] > value, and_(keys[0] == value, keys[1] > case_id))


def best_evidence(session: Session, case_ids: list[int]) -> dict[int, Evidence]:
    """case id -> its most confident observation (latest on ties), in one query."""
    if not case_ids:
        return {}
    rank = func.row_number().over(
        partition_by=ObservationRow.case_id, order_by=(ObservationRow.confidence.desc(), ObservationRow.id.desc())
    )
    columns = [ObservationRow.case_id, ObservationRow.id, ObservationRow.confidence, ObservationRow.bbox]
    columns += [getattr(ObservationRow, f) for f in EVIDENCE]
    ranked = select(*columns, rank.label("rank")).where(ObservationRow.case_id.in_(case_ids)).subquery()
    found = {}
    for row in session.exec(select(*ranked.c).where(ranked.c.rank == 1)):
        images = frozenset(f for f in EVIDENCE if getattr(row, f))
        found[row.case_id] = Evidence(row.id, row.confidence, list(row.bbox), images)
    return found


@dataclass
class HotspotRow:
    hotspot: Hotspot
    open_cases: dict[str, int] = field(default_factory=dict)
    last_seen: datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.open_cases.values())


def hotspot_rows(
    session: Session, batch: int | None, kind: HotspotKind | None, category: str | None
) -> list[HotspotRow]:
    """The catalog (filtered by batch and kind) with open cases per category (only ``category`` if
    given) and the latest sighting of any case tied to each hotspot."""
    conditions = []
    if batch is not None:
        conditions.append(Hotspot.batch == batch)
    if kind is not None:
        conditions.append(Hotspot.kind == kind)
    rows = {
        h.id: HotspotRow(h)
        for h in session.exec(select(Hotspot).where(*conditions).order_by(Hotspot.kind, Hotspot.batch, Hotspot.id))
    }
    counts = (
        select(Case.hotspot_id, Case.category, func.count())
        .where(
            Case.status.in_(list(OPEN)),
            Case.hotspot_id.is_not(None),
            *([Case.category == category] if category else []),
        )
        .group_by(Case.hotspot_id, Case.category)
    )
    for hotspot_id, cat, n in session.exec(counts):
        if hotspot_id in rows:
            rows[hotspot_id].open_cases[cat] = n
    last = (
        select(Case.hotspot_id, func.max(Case.last_seen)).where(Case.hotspot_id.is_not(None)).group_by(Case.hotspot_id)
    )
    for hotspot_id, seen in session.exec(last):
        if hotspot_id in rows:
            rows[hotspot_id].last_seen = seen
    return list(rows.values())


def open_positions(
    session: Session, hotspot_ids: list[int] | None, category: str | None
) -> list[tuple[float, float, str]]:
    """(lat, lon, category) of every located open case, only those at ``hotspot_ids`` when given."""
    conditions = [Case.status.in_(list(OPEN)), Case.lat.is_not(None)]
    if hotspot_ids is not None:
        conditions.append(Case.hotspot_id.in_(hotspot_ids))
    if category:
        conditions.append(Case.category == category)
    return [tuple(row) for row in session.exec(select(Case.lat, Case.lon, Case.category).where(*conditions))]


def open_counts_by_category(rows: list[HotspotRow]) -> dict[str, int]:
    """Column totals of the catalog table."""
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        for category, n in row.open_cases.items():
            totals[category] += n
    return dict(totals)
