"""The reads behind the pages, each a fixed number of queries whatever the page size (no N+1).

The review queue pages with a keyset cursor, so cards decided meanwhile never shift the next page.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import ColumnElement, ScalarSelect, and_, or_
from sqlmodel import Session, col, func, select

from service.cases import OPEN, CaseFilter
from service.inputs import MAX_ID, utc_time
from service.models.base import row_id
from service.models.cases import Case, CaseAction, CaseEvent, CaseStatus
from service.models.hotspots import Hotspot, HotspotKind
from service.models.observations import ObservationRow
from service.observations import EVIDENCE_IMAGES

QUEUE = (CaseStatus.new, CaseStatus.reopened)
PAGE_SIZE = 50
EVIDENCE = EVIDENCE_IMAGES
"""The image fields of an observation."""

Order = Literal["newest", "confidence"]


@dataclass(frozen=True)
class Evidence:
    """The best observation of a case: its id, confidence, box, which images it has, and which source
    saw it when."""

    observation_id: int
    confidence: float
    bbox: list[float]
    images: frozenset[str]
    source: str
    seen_at: datetime


@dataclass(frozen=True)
class Card:
    """``views``: what the evidence viewer steps through, the case's sightings' images in time order
    (``"<observation id>/boxed"`` for a keyframe with its box, ``"<id>/crop"`` without a keyframe);
    ``proposals``: the open cases matching proposed merging it with."""

    case: Case
    hotspot: Hotspot | None
    evidence: Evidence | None
    cursor: str
    views: list[str] = field(default_factory=list)
    proposals: list[int] = field(default_factory=list)


@dataclass
class QueuePage:
    cards: list[Card]
    next_cursor: str | None
    waiting: int


def best_confidence() -> ScalarSelect[Any]:
    """Per case (correlated): the highest confidence among its observations."""
    return (
        select(func.coalesce(func.max(ObservationRow.confidence), 0.0))
        .where(col(ObservationRow.case_id) == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )


def _waiting(found: CaseFilter) -> list[Any]:
    """Conditions for the cases of the queue that ``found`` lets through (without a status: those
    waiting for review)."""
    return [*found.conditions(), *([col(Case.status).in_(QUEUE)] if found.status is None else [])]


def queue_count(session: Session, found: CaseFilter) -> int:
    """How many cases the queue shows with the filter ``found``."""
    return session.exec(select(func.count()).select_from(Case).where(*_waiting(found))).one()


def queue_page(
    session: Session, order: Order, found: CaseFilter, after: str | None = None, limit: int = PAGE_SIZE
) -> QueuePage:
    """One page of the queue with the filter ``found``: newest sighting first, or least confident first."""
    conditions = _waiting(found)
    keys: SortKeys
    if order == "newest":
        keys = (col(Case.last_seen), col(Case.id))
        order_by = (keys[0].desc(), keys[1].desc())
    else:
        keys = (best_confidence(), col(Case.id))
        order_by = (keys[0].asc(), keys[1].asc())
    if after:
        conditions.append(_after(order, keys, after))
    stmt = (
        select(Case, Hotspot)
        .outerjoin(Hotspot, col(Case.hotspot_id) == Hotspot.id)
        .where(*conditions)
        .order_by(*order_by)
        .limit(limit + 1)
    )
    rows = session.exec(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [row_id(case) for case, _ in rows]
    evidence, views, proposed = best_evidence(session, ids), evidence_views(session, ids), merge_proposals(session, ids)
    cards = []
    for case, hotspot in rows:
        best = evidence.get(row_id(case))
        cursor = _cursor(order, case, best)
        cards.append(Card(case, hotspot, best, cursor, views[row_id(case)], proposed[row_id(case)]))
    return QueuePage(cards, cards[-1].cursor if more and cards else None, queue_count(session, found))


def next_waiting(session: Session, case: Case) -> int | None:
    """The case after ``case`` in the unfiltered queue, newest first (None at its end)."""
    page = queue_page(session, "newest", CaseFilter(), _cursor("newest", case, None), limit=1)
    return row_id(page.cards[0].case) if page.cards else None


def _cursor(order: Order, case: Case, evidence: Evidence | None) -> str:
    if order == "newest":
        return f"{case.last_seen.isoformat()}~{case.id}"
    return f"{evidence.confidence if evidence else 0.0!r}~{case.id}"


SortKeys = tuple[Any, Any]
"""The two columns a queue page is sorted by: its order's key, then the case id."""


def _after(order: Order, keys: SortKeys, cursor: str) -> ColumnElement[bool]:
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
        partition_by=col(ObservationRow.case_id),
        order_by=(col(ObservationRow.confidence).desc(), col(ObservationRow.id).desc()),
    )
    fields = ("case_id", "id", "confidence", "bbox", "source", "seen_at", *EVIDENCE)
    ranked = (
        sa.select(*(col(getattr(ObservationRow, f)) for f in fields), rank.label("rank"))
        .where(col(ObservationRow.case_id).in_(case_ids))
        .subquery()
    )
    found = {}
    for row in session.exec(select(*ranked.c).where(ranked.c.rank == 1)):
        images = frozenset(f for f in EVIDENCE if getattr(row, f))
        found[row.case_id] = Evidence(row.id, row.confidence, list(row.bbox), images, row.source, row.seen_at)
    return found


def evidence_views(session: Session, case_ids: list[int]) -> defaultdict[int, list[str]]:
    """case id -> the images of its counted sightings for the viewer (see ``Card.views``), in one query."""
    views: defaultdict[int, list[str]] = defaultdict(list)
    if not case_ids:
        return views
    stmt = (
        select(ObservationRow.case_id, ObservationRow.id, ObservationRow.keyframe, ObservationRow.crop)
        .where(col(ObservationRow.case_id).in_(case_ids), col(ObservationRow.rejected).is_(False))
        .order_by(col(ObservationRow.seen_at), col(ObservationRow.id))
    )
    for case_id, obs_id, keyframe, crop in session.exec(stmt):
        if case_id is not None and (keyframe or crop):
            views[case_id].append(f"{obs_id}/{'boxed' if keyframe else 'crop'}")
    return views


def merge_proposals(session: Session, case_ids: list[int]) -> defaultdict[int, list[int]]:
    """case id -> the still open cases matching proposed merging it with (either way round), in one query."""
    found: defaultdict[int, list[int]] = defaultdict(list)
    if not case_ids:
        return found
    events = session.exec(
        select(CaseEvent.case_id, CaseEvent.detail).where(CaseEvent.action == CaseAction.merge_proposed)
    ).all()
    pairs = {(a, int(b)) for a, detail in events for b in (detail or {}).get("with", [])}
    pairs |= {(b, a) for a, b in pairs}
    wanted = set(case_ids)
    others = {b for a, b in pairs if a in wanted}
    still_open = set(session.exec(select(Case.id).where(col(Case.id).in_(others), col(Case.status).in_(list(OPEN)))))
    for a, b in sorted(pairs):
        if a in wanted and b in still_open:
            found[a].append(b)
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
        conditions.append(col(Hotspot.batch) == batch)
    if kind is not None:
        conditions.append(col(Hotspot.kind) == kind)
    catalog = select(Hotspot).where(*conditions).order_by(col(Hotspot.kind), col(Hotspot.batch), col(Hotspot.id))
    rows = {row_id(h): HotspotRow(h) for h in session.exec(catalog)}
    counts = (
        select(Case.hotspot_id, Case.category, func.count())
        .where(
            col(Case.status).in_(list(OPEN)),
            col(Case.hotspot_id).is_not(None),
            *([col(Case.category) == category] if category else []),
        )
        .group_by(col(Case.hotspot_id), col(Case.category))
    )
    for hotspot_id, cat, n in session.exec(counts):
        if hotspot_id is not None and hotspot_id in rows:
            rows[hotspot_id].open_cases[cat] = n
    last = (
        select(Case.hotspot_id, func.max(Case.last_seen))
        .where(col(Case.hotspot_id).is_not(None))
        .group_by(col(Case.hotspot_id))
    )
    for hotspot_id, seen in session.exec(last):
        if hotspot_id is not None and hotspot_id in rows:
            rows[hotspot_id].last_seen = seen
    return list(rows.values())


def open_positions(
    session: Session, hotspot_ids: list[int] | None, category: str | None
) -> list[tuple[float, float, str]]:
    """(lat, lon, category) of every located open case, only those at ``hotspot_ids`` when given."""
    conditions: list[ColumnElement[bool]] = [col(Case.status).in_(list(OPEN)), col(Case.lat).is_not(None)]
    if hotspot_ids is not None:
        conditions.append(col(Case.hotspot_id).in_(hotspot_ids))
    if category:
        conditions.append(col(Case.category) == category)
    rows = session.exec(select(Case.lat, Case.lon, Case.category).where(*conditions))
    return [(lat, lon, cat) for lat, lon, cat in rows if lat is not None and lon is not None]


def open_counts_by_category(rows: list[HotspotRow]) -> dict[str, int]:
    """Column totals of the catalog table."""
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        for category, n in row.open_cases.items():
            totals[category] += n
    return dict(totals)


def recent_sources(session: Session, limit: int = 50) -> list[str]:
    """The sources of the latest sightings (a patrol video, a camera), most recent first."""
    latest = func.max(ObservationRow.seen_at)
    stmt = select(ObservationRow.source).group_by(col(ObservationRow.source)).order_by(latest.desc()).limit(limit)
    return list(session.exec(stmt))
