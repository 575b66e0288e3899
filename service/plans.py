"""一点一策 per hotspot: reading and replacing its plan, and the case trend its page shows beside it
(cases first sighted there per local week, those before the hotspot came into focus apart)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from service.messages import Refusal
from service.models.cases import Case, CaseStatus
from service.models.hotspots import Hotspot
from service.models.operations import Unit
from service.models.plans import HotspotPlan, Milestone, MilestonePublic, MilestoneState, PlanPublic, PlanRequest
from service.models.users import User

CLOSED_STATES = frozenset({MilestoneState.done, MilestoneState.dropped})
NOT_COUNTED = (CaseStatus.rejected, CaseStatus.merged)
"""Cases the trend leaves out: a rejected one was no violation, a merged one is counted in its survivor."""


class PlanError(Refusal):
    """A plan that cannot be stored as asked (an unknown or disabled unit)."""


def plan_public(session: Session, hotspot: Hotspot, today: date) -> PlanPublic:
    """The hotspot's plan (empty when it has none); milestones by date, ``late`` as of ``today`` (local)."""
    stored = session.get(HotspotPlan, hotspot.id)
    if stored is None:
        stored = HotspotPlan(hotspot_id=hotspot.id or 0)
        updated_at = None
    else:
        updated_at = stored.updated_at
    unit = session.get(Unit, stored.unit_id) if stored.unit_id is not None else None
    user = session.get(User, stored.updated_by) if stored.updated_by is not None else None
    milestones = []
    for item in stored.milestones:
        step = Milestone.model_validate(item)
        late = step.due < today and step.state not in CLOSED_STATES
        milestones.append(MilestonePublic(title=step.title, due=step.due, state=step.state, late=late))
    return PlanPublic(
        hotspot_id=stored.hotspot_id,
        measures=stored.measures,
        unit_id=stored.unit_id,
        unit_name=unit.name if unit else None,
        milestones=milestones,
        updated_at=updated_at,
        updated_by=user.name if user else None,
    )


def save_plan(session: Session, hotspot: Hotspot, body: PlanRequest, at: datetime, user_id: int | None) -> HotspotPlan:
    """Replace the hotspot's plan (milestones kept in date order); PlanError before changing anything
    for a unit that does not exist or is disabled. Flushes."""
    if body.unit_id is not None:
        unit = session.get(Unit, body.unit_id)
        if unit is None:
            raise PlanError("no_unit")
        if unit.disabled:
            raise PlanError("unit_disabled", name=unit.name)
    stored = session.get(HotspotPlan, hotspot.id) or HotspotPlan(hotspot_id=hotspot.id or 0)
    stored.measures = list(body.measures)
    stored.unit_id = body.unit_id
    steps = sorted(body.milestones, key=lambda m: m.due)
    stored.milestones = [m.model_dump(mode="json") for m in steps]
    stored.updated_at, stored.updated_by = at, user_id
    session.add(stored)
    session.flush()
    return stored


@dataclass(frozen=True)
class Week:
    """A local week (from Monday ``start``) of a hotspot's trend: cases first sighted in it."""

    start: date
    cases: int
    in_focus: int
    """Of those, the ones sighted on or after the hotspot came into focus."""


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def case_trend(
    session: Session, hotspot_id: int, focus_from: date | None, today: date, timezone: str, weeks: int = 12
) -> list[Week]:
    """Cases tied to the hotspot by the local week they were first sighted in, the ``weeks`` weeks up
    to ``today``'s, oldest first; ``in_focus`` counts those on or after ``focus_from`` (None: all)."""
    zone = ZoneInfo(timezone)
    first = week_start(today) - timedelta(weeks=weeks - 1)
    counts = {first + timedelta(weeks=i): [0, 0] for i in range(weeks)}
    since = datetime.combine(first, datetime.min.time(), zone)
    stmt = select(Case.first_seen).where(
        Case.hotspot_id == hotspot_id, col(Case.status).not_in(NOT_COUNTED), col(Case.first_seen) >= since
    )
    for seen in session.exec(stmt):
        day = seen.astimezone(zone).date()
        bucket = counts.get(week_start(day))
        if bucket is None:
            continue
        bucket[0] += 1
        bucket[1] += focus_from is None or day >= focus_from
    return [Week(start, n, focused) for start, (n, focused) in counts.items()]
