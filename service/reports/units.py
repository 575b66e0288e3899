"""The units' week in the Friday report: what each unit was sent and what it did, and how its territory
fared.

- 结案率 ``close_rate``: cases closed in the week that were last dispatched to the unit, over the cases
  dispatched (or transferred) to it in the week (a flow ratio: it may pass 1 in a week that clears a
  backlog).
- 按期结案率 ``on_time_rate``: disposals that resolved a case in the week by its dispatch deadline, over
  all such disposals.
- 复发率 ``recurrence_rate``: recurrences over new cases and recurrences at the hotspots of the unit's
  territory in the week.
- 巡查覆盖率 ``coverage``: the share of the territory's located hotspots that a patrol pass or a live fixed
  camera covered in the week.

A hotspot lies in a brigade's territory when its catalog key is listed on the unit, or the middle of its
bounding box lies inside the unit's territory polygon. Rates are None when their denominator is 0.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlmodel import Session, col, select

from service.geometry import bounds
from service.models.base import row_id
from service.models.hotspots import Hotspot
from service.models.operations import Unit, UnitKind
from service.operations import in_territory
from service.reports.ledger import Ledger

UNIT_FIGURES: dict[str, tuple[str, str]] = {
    "dispatched": ("派单", "Dispatched"),
    "closed": ("结案", "Closed"),
    "close_rate": ("结案率", "Closure rate"),
    "disposed": ("处置", "Disposed"),
    "on_time": ("按期处置", "Disposed on time"),
    "on_time_rate": ("按期结案率", "On-time rate"),
    "overdue": ("逾期未处置", "Overdue"),
    "recurrences": ("辖区复发", "Recurrences in territory"),
    "recurrence_rate": ("复发率", "Recurrence rate"),
    "hotspots": ("辖区热点", "Territory hotspots"),
    "patrolled": ("已巡查热点", "Hotspots patrolled"),
    "coverage": ("巡查覆盖率", "Patrol coverage"),
}
"""Each unit figure's (zh, en) label, in report order; the ``*_rate`` and ``coverage`` ones are shares."""
RATES = frozenset({"close_rate", "on_time_rate", "recurrence_rate", "coverage"})
UNIT_NOTE = (
    "结案率＝本周结案数÷本周派单数；按期结案率＝期限内处置数÷本周处置数；复发率＝辖区复发数÷（辖区新增＋复发）；"
    "巡查覆盖率＝本周巡查或监控覆盖的辖区热点÷辖区已定位热点。",
    "Closure rate: cases closed this week over cases dispatched this week; on-time rate: disposals by the deadline "
    "over all disposals this week; recurrence rate: recurrences over new cases and recurrences in the territory; "
    "patrol coverage: territory hotspots a patrol or camera covered this week over its located hotspots.",
)
"""How the unit figures are worked out, (zh, en), under their tables."""


class UnitWeek(BaseModel):
    """One unit's week: see ``UNIT_FIGURES`` and the module's notes. ``hotspot_ids``: its territory's
    located hotspots (none for a department)."""

    id: int
    key: str
    name: str
    kind: UnitKind
    hotspot_ids: list[int]
    dispatched: int
    closed: int
    close_rate: float | None
    disposed: int
    on_time: int
    on_time_rate: float | None
    overdue: int
    recurrences: int
    recurrence_rate: float | None
    hotspots: int
    patrolled: int
    coverage: float | None

    def values(self) -> list[int | float | None]:
        """The figures in ``UNIT_FIGURES`` order."""
        return [getattr(self, name) for name in UNIT_FIGURES]


def share(part: int, whole: int) -> float | None:
    """part / whole to four places, None when ``whole`` is 0."""
    return round(part / whole, 4) if whole else None


def territory(unit: Unit, hotspots: list[Hotspot]) -> list[int]:
    """The ids of the located hotspots in ``unit``'s territory (see the module's notes)."""
    found = []
    for hotspot in hotspots:
        if hotspot.geometry is None:
            continue
        min_lat, min_lon, max_lat, max_lon = bounds(hotspot.geometry)
        if in_territory(unit, (min_lat + max_lat) / 2, (min_lon + max_lon) / 2, hotspot.key):
            found.append(row_id(hotspot))
    return found


def unit_weeks(session: Session, ledger: Ledger, hotspots: list[Hotspot], covered: set[int]) -> list[UnitWeek]:
    """Every unit's week, by id: ``covered`` holds the hotspots a pass or camera covered in the week."""
    rows = []
    for unit in session.exec(select(Unit).order_by(col(Unit.id))):
        ids = territory(unit, hotspots)
        sent = {name: len(items) for name, items in ledger.units.union([row_id(unit)]).items()}
        place = ledger.hotspots.union(ids)
        recurrences, found = len(place["recurrences"]), len(place["new"]) + len(place["recurrences"])
        patrolled = sum(1 for i in ids if i in covered)
        closed, dispatched = sent.get("closed", 0), sent.get("dispatched", 0)
        disposed, on_time = sent.get("disposed", 0), sent.get("on_time", 0)
        rows.append(
            UnitWeek(
                id=row_id(unit),
                key=unit.key,
                name=unit.name,
                kind=unit.kind,
                hotspot_ids=ids,
                dispatched=dispatched,
                closed=closed,
                close_rate=share(closed, dispatched),
                disposed=disposed,
                on_time=on_time,
                on_time_rate=share(on_time, disposed),
                overdue=sent.get("overdue", 0),
                recurrences=recurrences,
                recurrence_rate=share(recurrences, found),
                hotspots=len(ids),
                patrolled=patrolled,
                coverage=share(patrolled, len(ids)),
            )
        )
    return rows
