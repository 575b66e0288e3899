"""回头看: re-inspecting the spot of a resolved case. Each resolved case is due for re-inspection some days
after it was resolved (``recheck_days``; more often, ``recheck_days_relapsing``, for a case that recurred or
lies at a hotspot where a case recurred). A check is passed by the first patrol pass that covers the spot
(within the category's dedup radius, camera facing it) from ``recheck_grace_days`` before its due date on:
clean, unless the case was seen again by then (relapsed, with that sighting as evidence); without such a
pass it is scheduled, due (within the grace days of its due date) or overdue. Checks after a relapse are
not listed: the case is reopened and, once resolved again, scheduled anew.

``check_states`` is the pure decision; ``rechecks`` the database layer. Times are aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

from pydantic import BaseModel
from sqlmodel import Session, col, select

from service.geometry import point
from service.models.base import row_id
from service.models.cases import Case
from service.models.hotspots import Hotspot
from service.models.observations import ObservationRow
from service.patrols import Place, passes_covering_each
from service.settings import Settings


class CheckState(StrEnum):
    overdue = "overdue"
    due = "due"
    relapsed = "relapsed"
    scheduled = "scheduled"
    clean = "clean"


ORDER = list(CheckState)
"""How lists are ordered: what needs doing first."""


@dataclass(frozen=True)
class Visit:
    """A pass that covered the spot: its id, source, the moment it covered it and when it ended."""

    id: int
    source: str
    covered_at: datetime
    ended_at: datetime


@dataclass(frozen=True)
class Sighting:
    """The case seen again after it was resolved: the observation's id, source and time."""

    id: int
    source: str
    seen_at: datetime


@dataclass(frozen=True)
class Check:
    """One re-inspection: ``days`` after resolution, due at ``due_at``, its state and evidence."""

    days: float
    due_at: datetime
    state: CheckState
    visit: Visit | None = None
    relapse: Sighting | None = None


def check_states(
    resolved_at: datetime,
    days: list[float],
    grace: timedelta,
    visits: list[Visit],
    relapse: Sighting | None,
    now: datetime,
) -> list[Check]:
    """The checks of a case resolved at ``resolved_at``: ``visits`` are the passes that covered its spot after
    that (in time order), ``relapse`` its first sighting after it (or None)."""
    checks = []
    for d in days:
        due = resolved_at + timedelta(days=d)
        visit = next((v for v in visits if v.covered_at >= due - grace), None)
        if relapse is not None and (visit is None or relapse.seen_at <= visit.ended_at):
            checks.append(Check(d, due, CheckState.relapsed, relapse=relapse))
            break
        if visit is not None:
            checks.append(Check(d, due, CheckState.clean, visit=visit))
        elif now < due - grace:
            checks.append(Check(d, due, CheckState.scheduled))
        else:
            checks.append(Check(d, due, CheckState.due if now <= due + grace else CheckState.overdue))
    return checks


# --- database layer ---------------------------------------------------------------------------


class Recheck(BaseModel):
    """One re-inspection of case ``case_id``'s spot (``lat``/``lon``), resolved at ``resolved_at``: due
    ``days`` later at ``due_at``; ``state``; the evidence: the pass that covered it (``pass_id``,
    ``pass_source``, ``covered_at``) or the sighting of its relapse (``observation_id``,
    ``observation_source``, ``seen_at``)."""

    case_id: int
    category: str
    hotspot_id: int | None
    hotspot_name: str | None
    lat: float
    lon: float
    resolved_at: datetime
    days: float
    due_at: datetime
    state: CheckState
    pass_id: int | None = None
    pass_source: str | None = None
    covered_at: datetime | None = None
    observation_id: int | None = None
    observation_source: str | None = None
    seen_at: datetime | None = None


class RechecksPublic(BaseModel):
    """``GET /api/rechecks``: the checks (at most ``limit``, what needs doing first), how many in all
    (``total``) and how many in each state (``counts``, whatever the state filter)."""

    items: list[Recheck]
    total: int
    counts: dict[CheckState, int]


def relapsing_hotspots(session: Session) -> set[int]:
    """Hotspots where a case has recurred."""
    stmt = select(Case.hotspot_id).where(col(Case.recurrence_count) > 0, col(Case.hotspot_id).is_not(None))
    return {h for h in session.exec(stmt).all() if h is not None}


def first_relapses(session: Session, since: datetime) -> dict[int, Sighting]:
    """The first sighting of each case resolved since ``since`` after it was resolved, by case id (cases
    never seen again left out)."""
    stmt = (
        select(ObservationRow)
        .join(Case, col(Case.id) == ObservationRow.case_id)
        .where(col(Case.resolved_at) >= since, col(ObservationRow.seen_at) > Case.resolved_at)
        .order_by(col(ObservationRow.seen_at).desc(), col(ObservationRow.id).desc())
    )
    latest_first = session.exec(stmt)  # so each case's earliest sighting is the one its key keeps
    return {cast(int, row.case_id): Sighting(row_id(row), row.source, row.seen_at) for row in latest_first}


def rechecks(
    session: Session, settings: Settings, now: datetime, since: datetime, state: CheckState | None, limit: int
) -> RechecksPublic:
    """The re-inspections of the located cases resolved since ``since`` (in ``state``, or all)."""
    grace = timedelta(days=settings.recheck_grace_days)
    relapsing = relapsing_hotspots(session)
    stmt = (
        select(Case, Hotspot.name)
        .outerjoin(Hotspot, col(Hotspot.id) == Case.hotspot_id)
        .where(col(Case.resolved_at) >= since, col(Case.lat).is_not(None), col(Case.lon).is_not(None))
        .order_by(col(Case.resolved_at), col(Case.id))
    )
    rows = [
        (case, hotspot_name, case.resolved_at, case.lat, case.lon)
        for case, hotspot_name in session.exec(stmt)
        if case.resolved_at is not None and case.lat is not None and case.lon is not None
    ]
    places: list[Place] = [
        (point(lat, lon), settings.radius_for(case.category), at, now) for case, _, at, lat, lon in rows
    ]
    relapses = first_relapses(session, since)
    found: list[Recheck] = []
    for (case, hotspot_name, resolved_at, lat, lon), covering in zip(
        rows, passes_covering_each(session, places), strict=True
    ):
        often = case.recurrence_count > 0 or case.hotspot_id in relapsing
        days = settings.recheck_days_relapsing if often else settings.recheck_days
        visits = [Visit(row_id(p), p.source, at, p.ended_at) for p, at in covering]
        for check in check_states(resolved_at, days, grace, visits, relapses.get(row_id(case)), now):
            found.append(
                Recheck(
                    case_id=row_id(case),
                    category=case.category,
                    hotspot_id=case.hotspot_id,
                    hotspot_name=hotspot_name,
                    lat=lat,
                    lon=lon,
                    resolved_at=resolved_at,
                    days=check.days,
                    due_at=check.due_at,
                    state=check.state,
                    pass_id=check.visit.id if check.visit else None,
                    pass_source=check.visit.source if check.visit else None,
                    covered_at=check.visit.covered_at if check.visit else None,
                    observation_id=check.relapse.id if check.relapse else None,
                    observation_source=check.relapse.source if check.relapse else None,
                    seen_at=check.relapse.seen_at if check.relapse else None,
                )
            )
    counts = {s: sum(1 for r in found if r.state == s) for s in CheckState}
    chosen = sorted((r for r in found if state in (None, r.state)), key=lambda r: (ORDER.index(r.state), r.due_at))
    return RechecksPublic(items=chosen[:limit], total=len(chosen), counts=counts)
