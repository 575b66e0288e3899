"""The Friday report: one week's figures per hotspot, per road-market batch, for the strict streets and
per unit (``service.reports.units``), with the week before for comparison and the campaign phase. The web
page, the unit pages, the API, the files and the command all read them from ``weekly_report``.

A week is the seven local days ending on a Friday (Saturday 00:00 to Friday 24:00 in the service's time
zone), named by that Friday. Case figures count what the service recorded in the week (the audit trail:
a case created, recurring, confirmed …, read by ``service.reports.ledger``); ``sightings`` counts
observations seen in the week; ``passes`` the patrol passes that covered a place in it, ``cameras`` the
fixed cameras live in it that face it (``service.reports.cameras``). A case counts at the hotspot it is tied to now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, computed_field
from sqlmodel import Session, col, select

from service.labels import DISPOSAL
from service.models.base import row_id
from service.models.hotspots import Hotspot, HotspotKind
from service.models.patrols import PatrolPass
from service.operations import Phase, Plan
from service.patrols import Place, passes_covering_each
from service.reports.cameras import cameras_covering
from service.reports.ledger import Ledger, Tallies, Tally, disposed_figure, read_ledger
from service.reports.units import UnitWeek, unit_weeks

FRIDAY = 4
FIGURES: dict[str, tuple[str, str]] = {
    "passes": ("巡查次数", "Patrol passes"),
    "cameras": ("监控覆盖", "Cameras"),
    "sightings": ("发现次数", "Sightings"),
    "new": ("新增案件", "New cases"),
    "recurrences": ("复发", "Recurrences"),
    "confirmed": ("确认", "Confirmed"),
    "rejected": ("驳回", "Rejected"),
    "dispatched": ("派单", "Dispatched"),
    "resolved": ("处置", "Resolved"),
    **{disposed_figure(kind): (zh, f"Disposed: {en}") for kind, (zh, en) in DISPOSAL.items()},
    "verified": ("核查通过", "Verified"),
    "closed": ("结案", "Closed"),
    "overdue": ("逾期未处置", "Overdue"),
    "open_at_end": ("周末未结", "Open at week end"),
    "median_dispose_h": ("处置用时中位数（小时）", "Median hours to dispose"),
}
"""Each figure's (zh, en) label, in report order: counts, but the median (hours, None without a disposal)."""
PATROL: dict[str, tuple[str, str]] = {
    "found": ("发现问题", "violations found"),
    "clean": ("巡查无问题", "patrolled, clean"),
    "not_patrolled": ("未巡查", "not patrolled"),
    "unlocated": ("未定位", "not located"),
}
"""What a week's patrols say of a hotspot (``HotspotWeek.patrol``), (zh, en)."""
Value = int | float | None


class Figures(BaseModel):
    """One place's (or group's) figures for a week: see ``FIGURES``. ``cameras``: fixed cameras live in the
    week that face the place; ``disposed_*``: disposals of each kind; ``verified``: cases whose disposal
    passed its check; ``overdue``: cases still dispatched past their deadline at the week's end;
    ``median_dispose_h``: the median hours from confirmation to the disposal that resolved a case."""

    passes: int = 0
    cameras: int = 0
    sightings: int = 0
    new: int = 0
    recurrences: int = 0
    confirmed: int = 0
    rejected: int = 0
    dispatched: int = 0
    resolved: int = 0
    disposed_persuaded: int = 0
    disposed_corrected: int = 0
    disposed_seized: int = 0
    disposed_fined: int = 0
    disposed_removed: int = 0
    disposed_referred: int = 0
    verified: int = 0
    closed: int = 0
    overdue: int = 0
    open_at_end: int = 0
    median_dispose_h: float | None = None

    def values(self) -> list[Value]:
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
    is the share of located hotspots no pass or camera covered (None without located hotspots); ``units``
    each unit's week."""

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
    units: list[UnitWeek]

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


def figures(ledger: Ledger, tally: Tally) -> dict[str, Value]:
    """The figures of a tally (a hotspot's or the union of a group's), by name."""
    counts: dict[str, Value] = {name: len(tally.get(name, ())) for name in FIGURES}
    counts["median_dispose_h"] = ledger.median_dispose_h(tally)
    return counts


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
    session: Session, tallies: Tallies, hotspots: list[Hotspot], start: datetime, end: datetime, zone: ZoneInfo
) -> dict[int, datetime]:
    """Tally the passes and the live cameras that covered each located hotspot in [start, end); returns the
    last moment a pass covered each hotspot a pass covered."""
    last: dict[int, datetime] = {}
    located = [h for h in hotspots if h.geometry is not None]
    places: list[Place] = [(h.geometry, h.buffer_m, start, end) for h in located if h.geometry is not None]
    for hotspot, covering in zip(located, passes_covering_each(session, places), strict=True):
        for row, at in covering:
            if at < end:
                tallies.add(row_id(hotspot), "passes", row_id(row))
                last[row_id(hotspot)] = at
    for hotspot_id, cameras in cameras_covering(session, hotspots, start, end, zone).items():
        for camera_id in cameras:
            tallies.add(hotspot_id, "cameras", camera_id)
    return last


def patrol_state(hotspot: Hotspot, counts: dict[str, Value]) -> str:
    """What the week's patrols (and cameras) say of a hotspot (see ``HotspotWeek.patrol``)."""
    if counts["sightings"] or counts["new"] or counts["recurrences"]:
        return "found"
    if hotspot.geometry is None:
        return "unlocated"
    return "clean" if counts["passes"] or counts["cameras"] else "not_patrolled"


def groups_of(hotspots: list[Hotspot]) -> list[tuple[str, str, list[int]]]:
    """(key, name, hotspot ids) of each reported group: road-market batches 1 and 2, the strict streets."""
    batches = [
        (f"batch-{b}", f"第{'一二'[b - 1]}批马路市场", [row_id(h) for h in hotspots if h.batch == b]) for b in (1, 2)
    ]
    streets = [row_id(h) for h in hotspots if h.kind == HotspotKind.strict_street]
    return [*batches, ("strict-streets", "严管街", streets)]


def week_totals(
    session: Session, hotspots: list[Hotspot], start: datetime, end: datetime, zone: ZoneInfo
) -> tuple[Ledger, Figures]:
    """The ledger of [start, end), the hotspots' coverage tallied in, and the totals: every case, every
    pass driven then and every camera that covered a hotspot."""
    ledger = read_ledger(session, start, end)
    ledger.last_pass = add_coverage(session, ledger.hotspots, hotspots, start, end, zone)
    total = figures(ledger, ledger.hotspots.union(list(ledger.hotspots.by_key)))
    total["passes"] = len(passes_in(session, start, end))
    return ledger, Figures(**total)


def change(now: Figures, before: Figures) -> Figures:
    """This week minus the week before, figure by figure (None where either is None)."""
    values = zip(FIGURES, now.values(), before.values(), strict=True)
    return Figures(**{n: None if a is None or b is None else a - b for n, a, b in values})


def weekly_report(session: Session, friday: date, zone: ZoneInfo, plan: Plan) -> WeeklyReport:
    """The report of the week ending ``friday`` (any date: the week it falls in); the campaign's phases
    from ``plan``."""
    friday = week_ending(friday)
    start, end = week_bounds(friday, zone)
    order = (col(Hotspot.batch).asc().nulls_last(), col(Hotspot.kind), col(Hotspot.id))
    hotspots = list(session.exec(select(Hotspot).order_by(*order)))
    ledger, totals = week_totals(session, hotspots, start, end, zone)
    _, previous = week_totals(session, hotspots, start - timedelta(days=7), start, zone)
    rows = []
    for hotspot in hotspots:
        counts = figures(ledger, ledger.hotspots.union([row_id(hotspot)]))
        rows.append(
            HotspotWeek(
                id=row_id(hotspot),
                key=hotspot.key,
                name=hotspot.name,
                kind=hotspot.kind,
                batch=hotspot.batch,
                patrol=patrol_state(hotspot, counts),
                last_pass=ledger.last_pass.get(row_id(hotspot)),
                **counts,
            )
        )
    groups = [
        GroupWeek(key=key, name=name, hotspot_ids=ids, **figures(ledger, ledger.hotspots.union(ids)))
        for key, name, ids in groups_of(hotspots)
    ]
    located = [h for h in hotspots if h.geometry is not None]
    covered = {h.id for h in rows if h.passes or h.cameras}
    not_patrolled = sum(1 for h in located if row_id(h) not in covered)
    return WeeklyReport(
        week=friday,
        start=start,
        end=end,
        timezone=zone.key,
        phase=plan.phase_on(friday),
        campaign_start=plan.phases[0].start if plan.phases else None,
        totals=totals,
        previous=previous,
        change=change(totals, previous),
        located=len(located),
        not_patrolled=not_patrolled,
        not_patrolled_share=not_patrolled / len(located) if located else None,
        groups=groups,
        hotspots=rows,
        units=unit_weeks(session, ledger, hotspots, covered),
    )
