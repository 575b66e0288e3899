"""The Friday report: one week's figures per hotspot, per road-market batch and for the strict streets,
with the week before for comparison and the campaign phase. The web page, the API, the files and the
command all read them from ``weekly_report``.

A week is the seven local days ending on a Friday (Saturday 00:00 to Friday 24:00 in the service's time
zone), named by that Friday. Case figures count what the service recorded in the week (the audit trail:
a case created, recurring, confirmed …); ``sightings`` counts observations seen in the week; ``passes``
the patrol passes that covered a place in it. A case counts at the hotspot it is tied to now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from pydantic import BaseModel, computed_field
from sqlmodel import Session, col, select

from service.cases import OPEN
from service.models.base import row_id
from service.models.cases import Case, CaseAction, CaseEvent, CaseStatus
from service.models.hotspots import Hotspot, HotspotKind
from service.models.observations import ObservationRow
from service.models.patrols import PatrolPass
from service.operations import Phase, Plan
from service.patrols import passes_covering

FRIDAY = 4
FIGURES: dict[str, tuple[str, str]] = {
    "passes": ("巡查次数", "patrol passes"),
    "sightings": ("发现次数", "sightings"),
    "new": ("新增案件", "new cases"),
    "recurrences": ("复发", "recurrences"),
    "confirmed": ("确认", "confirmed"),
    "rejected": ("驳回", "rejected"),
    "dispatched": ("派单", "dispatched"),
    "resolved": ("处置", "resolved"),
    "closed": ("结案", "closed"),
    "open_at_end": ("周末未结", "open at week end"),
}
"""Each figure's (zh, en) label, in report order."""
PATROL: dict[str, str] = {"found": "发现问题", "clean": "巡查无问题", "not_patrolled": "未巡查", "unlocated": "未定位"}
"""What a week's patrols say of a hotspot (``HotspotWeek.patrol``), as the report words it."""
STATUS_FIGURES = {
    CaseStatus.confirmed: "confirmed",
    CaseStatus.rejected: "rejected",
    CaseStatus.dispatched: "dispatched",
    CaseStatus.resolved: "resolved",
    CaseStatus.closed: "closed",
}


class Figures(BaseModel):
    """One place's (or group's) counts for a week: see ``FIGURES``."""

    passes: int = 0
    sightings: int = 0
    new: int = 0
    recurrences: int = 0
    confirmed: int = 0
    rejected: int = 0
    dispatched: int = 0
    resolved: int = 0
    closed: int = 0
    open_at_end: int = 0

    def values(self) -> list[int]:
        """The figures in ``FIGURES`` order."""
        return [getattr(self, name) for name in FIGURES]


class HotspotWeek(Figures):
    """One hotspot's week. ``patrol``: ``unlocated`` (no place: coverage unknown), ``not_patrolled``,
    ``clean`` (patrolled, nothing seen) or ``found`` (patrolled or not, violations seen); ``last_pass``
    the last moment a pass covered it in the week."""

    id: int
    key: str
    name: str
    kind: HotspotKind
    batch: int | None
    patrol: str
    last_pass: datetime | None


class GroupWeek(Figures):
    """A group of hotspots (a road-market batch, the strict streets): ``passes`` counts distinct passes;
    ``hotspot_ids`` its members."""

    key: str
    name: str
    hotspot_ids: list[int]


class WeeklyReport(BaseModel):
    """The week ending Friday ``week`` (local), ``start`` to ``end`` (aware UTC, end excluded).

    ``totals`` counts every case (tied to a hotspot or not) and every pass driven in the week;
    ``previous`` the same for the week before, ``change`` this week minus that one. ``not_patrolled_share``
    is the share of located hotspots no pass covered (None without located hotspots)."""

    week: date
    start: datetime
    end: datetime
    timezone: str
    phase: Phase | None
    campaign_start: date | None
    totals: Figures
    previous: Figures
    change: Figures
    located: int
    not_patrolled: int
    not_patrolled_share: float | None
    groups: list[GroupWeek]
    hotspots: list[HotspotWeek]

    @property
    def first_day(self) -> date:
        """The Saturday the week starts on (local)."""
        return self.week - timedelta(days=6)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented use
    @property
    def empty(self) -> bool:
        """Nothing happened: no pass, sighting or case event in the week."""
        return not any(self.totals.values())


# --- weeks ------------------------------------------------------------------------------------


def week_ending(day: date) -> date:
    """The Friday ending the week ``day`` falls in (``day`` itself on a Friday)."""
    return day + timedelta(days=(FRIDAY - day.weekday()) % 7)


def last_full_week(now: datetime, zone: ZoneInfo) -> date:
    """The Friday ending the latest week that is over at ``now`` (on a Friday: the one before)."""
    today = now.astimezone(zone).date()
    return today - timedelta(days=(today.weekday() - FRIDAY) % 7 or 7)


def week_bounds(friday: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """(start, end) in aware UTC of the week ending ``friday``: local Saturday 00:00 to Saturday 00:00."""
    start = datetime.combine(friday - timedelta(days=6), time(), zone)
    end = datetime.combine(friday + timedelta(days=1), time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


# --- counting ---------------------------------------------------------------------------------

Tally = dict[str, set[int]]
"""Figure name -> the ids it counts (passes, cases, events or observations): groups count their union."""


@dataclass
class Tallies:
    """One week's tallies per hotspot id (None: cases tied to no hotspot)."""

    by_hotspot: dict[int | None, Tally] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))

    def add(self, hotspot_id: int | None, figure: str, item: int) -> None:
        self.by_hotspot[hotspot_id][figure].add(item)

    def union(self, hotspot_ids: Iterable[int | None]) -> Tally:
        merged: Tally = defaultdict(set)
        for hotspot_id in hotspot_ids:
            for figure, items in self.by_hotspot.get(hotspot_id, {}).items():
                merged[figure] |= items
        return merged


def figures(tally: Tally) -> dict[str, int]:
    """The counts of a tally, by figure name."""
    return {name: len(tally.get(name, ())) for name in FIGURES}


def case_tallies(session: Session, start: datetime, end: datetime) -> Tallies:
    """Case events and sightings in [start, end), and the cases open at ``end``, per hotspot."""
    tallies = Tallies()
    events = session.exec(
        select(CaseEvent, Case.hotspot_id)
        .join(Case, col(Case.id) == CaseEvent.case_id)
        .where(col(CaseEvent.to_status).is_not(None), col(CaseEvent.at) < end)
        .order_by(col(CaseEvent.at), col(CaseEvent.id))
    )
    status_at_end: dict[int, tuple[CaseStatus, int | None]] = {}
    for event, hotspot_id in events:
        case_id, status = event.case_id, cast(CaseStatus, event.to_status)  # the query keeps events that set one
        status_at_end[case_id] = (status, hotspot_id)
        if event.at < start:
            continue
        if event.action == CaseAction.created:
            tallies.add(hotspot_id, "new", case_id)
        elif event.action == CaseAction.recurrence:
            tallies.add(hotspot_id, "recurrences", row_id(event))
        if status in STATUS_FIGURES:
            tallies.add(hotspot_id, STATUS_FIGURES[status], case_id)
    for case_id, (status, hotspot_id) in status_at_end.items():
        if status in OPEN:
            tallies.add(hotspot_id, "open_at_end", case_id)
    seen = session.exec(
        select(ObservationRow.id, Case.hotspot_id)
        .join(Case, col(Case.id) == ObservationRow.case_id)
        .where(col(ObservationRow.seen_at) >= start, col(ObservationRow.seen_at) < end)
    )
    for observation_id, hotspot_id in seen:
        tallies.add(hotspot_id, "sightings", row_id_of(observation_id))
    return tallies


def row_id_of(value: int | None) -> int:
    """A selected primary key (never None once stored)."""
    if value is None:
        raise ValueError("a stored row without an id")
    return value


def passes_in(session: Session, start: datetime, end: datetime) -> set[int]:
    """The ids of the passes that started in [start, end)."""
    stmt = select(PatrolPass.id).where(col(PatrolPass.started_at) >= start, col(PatrolPass.started_at) < end)
    return {row_id_of(i) for i in session.exec(stmt)}


def add_coverage(
    session: Session, tallies: Tallies, hotspots: list[Hotspot], start: datetime, end: datetime
) -> dict[int, datetime]:
    """Tally the passes that covered each located hotspot in [start, end); returns the last moment each
    covered hotspot was covered."""
    last: dict[int, datetime] = {}
    for hotspot in hotspots:
        if hotspot.geometry is None:
            continue
        for row, at in passes_covering(session, hotspot.geometry, hotspot.buffer_m, start, end):
            if at < end:
                tallies.add(row_id(hotspot), "passes", row_id(row))
                last[row_id(hotspot)] = at
    return last


def patrol_state(hotspot: Hotspot, counts: dict[str, int]) -> str:
    """What the week's patrols say of a hotspot (see ``HotspotWeek.patrol``)."""
    if counts["sightings"] or counts["new"] or counts["recurrences"]:
        return "found"
    if hotspot.geometry is None:
        return "unlocated"
    return "clean" if counts["passes"] else "not_patrolled"


def groups_of(hotspots: list[Hotspot]) -> list[tuple[str, str, list[int]]]:
    """(key, name, hotspot ids) of each reported group: road-market batches 1 and 2, the strict streets."""
    batches = [
        (f"batch-{b}", f"第{'一二'[b - 1]}批马路市场", [row_id(h) for h in hotspots if h.batch == b]) for b in (1, 2)
    ]
    streets = [row_id(h) for h in hotspots if h.kind == HotspotKind.strict_street]
    return [*batches, ("strict-streets", "严管街", streets)]


def week_totals(session: Session, start: datetime, end: datetime) -> tuple[Tallies, Figures]:
    """The case tallies of [start, end) and the totals: every case, and every pass driven then."""
    tallies = case_tallies(session, start, end)
    total = figures(tallies.union(list(tallies.by_hotspot)))
    total["passes"] = len(passes_in(session, start, end))
    return tallies, Figures(**total)


def weekly_report(session: Session, friday: date, zone: ZoneInfo, plan: Plan) -> WeeklyReport:
    """The report of the week ending ``friday`` (any date: the week it falls in); the campaign's phases
    from ``plan``."""
    friday = week_ending(friday)
    start, end = week_bounds(friday, zone)
    tallies, totals = week_totals(session, start, end)
    _, previous = week_totals(session, start - timedelta(days=7), start)
    order = (col(Hotspot.batch).asc().nulls_last(), col(Hotspot.kind), col(Hotspot.id))
    hotspots = list(session.exec(select(Hotspot).order_by(*order)))
    last_pass = add_coverage(session, tallies, hotspots, start, end)
    rows = []
    for hotspot in hotspots:
        counts = figures(tallies.union([row_id(hotspot)]))
        rows.append(
            HotspotWeek(
                id=row_id(hotspot),
                key=hotspot.key,
                name=hotspot.name,
                kind=hotspot.kind,
                batch=hotspot.batch,
                patrol=patrol_state(hotspot, counts),
                last_pass=last_pass.get(row_id(hotspot)),
                **counts,
            )
        )
    groups = [
        GroupWeek(key=key, name=name, hotspot_ids=ids, **figures(tallies.union(ids)))
        for key, name, ids in groups_of(hotspots)
    ]
    located = [h for h in hotspots if h.geometry is not None]
    not_patrolled = sum(1 for h in located if row_id(h) not in last_pass)
    return WeeklyReport(
        week=friday,
        start=start,
        end=end,
        timezone=zone.key,
        phase=plan.phase_on(friday),
        campaign_start=plan.phases[0].start if plan.phases else None,
        totals=totals,
        previous=previous,
        change=Figures(**{n: a - b for n, a, b in zip(FIGURES, totals.values(), previous.values(), strict=True)}),
        located=len(located),
        not_patrolled=not_patrolled,
        not_patrolled_share=not_patrolled / len(located) if located else None,
        groups=groups,
        hotspots=rows,
    )
