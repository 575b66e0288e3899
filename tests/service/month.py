"""A simulated campaign month around the week ending Friday 2025-05-09, counted by hand.

Places are metres north / east of the test origin. Patrols drive north along east = 0 from (0, 0) to
(1000, 0) with a forward camera (covering both sides within each hotspot's buffer):

====  ======================  ============================================================
P1    Mon 04-28 10:00         previous week
P2    Mon 05-05 10:00         the week
P3    Thu 05-08 15:00         the week
P4    Sat 05-10 09:00         the week after
P5    Tue 05-06 10:00         the week, 5 km east: covers no hotspot
====  ======================  ============================================================

Hotspots: M1 (batch 1, 10 m east at 300 m: violations), M2 (batch 1, at 800 m: patrolled, clean),
M3 (batch 2, 1 km east: never patrolled), S (strict street 5 m east, 100-900 m), U (unlocated).

Units: 一大队 (U1, a brigade whose territory lists M1, M2, S, M3 and U: four located, three patrolled) and
二大队 (U2, a brigade whose territory is a square around M3). Every dispatch of a street vendor is due in 4
hours (2 on the strict street S), by the action plan's SLA table.

Cases (local times; every status change is one audit event, every case one sighting when created; closing
follows a passed inspection at the same moment):

- A at M1: new 04-28, confirmed 04-29, dispatched to U1 04-30, resolved 05-01 (persuaded, late), closed Sun
  05-04, recurs Mon 05-05 (seen again), confirmed 05-06: open at the week's end.
- B at M1: new 05-05, rejected 05-05.
- C at S: new Thu 05-08 (open at the week's end), confirmed Sat 05-10 (the week after).
- D at no hotspot: new 05-06, confirmed 05-07, dispatched to U2 05-08 09:00: open, overdue from 13:00.
- E at M3: new 04-20 and never touched: open in both weeks.
- F at M2: new 04-27, confirmed 04-27, resolved 04-29 (without a dispatch).
- G at S: new Sat 05-03 09:00, confirmed 10:00, dispatched to U1 11:00 (due 13:00), fined 12:30 (on time,
  2.5 h after confirmation), closed Sun 05-04.
- H at M1: new Mon 05-05 11:00, confirmed 12:00, dispatched to U1 13:00 (due 17:00), corrected Tue 05-06 12:00
  (late, 24 h after confirmation).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from service.cases import change_status, record
from service.models.base import row_id
from service.models.cases import Case, CaseAction, CaseStatus
from service.models.hotspots import Hotspot, HotspotKind
from service.models.observations import ObservationRow
from service.models.operations import DisposalKind, Unit, UnitKind, VerifyMethod, VerifyRequest
from service.models.users import Role, User
from service.operations import dispatch, dispose, load_plan, verify
from service.patrols import record_pass
from service.storage import LocalStore
from tests.service.places import drive, line, offset, point, polygon, square
from vision import SAMPLES_DIR

ZONE = ZoneInfo("Asia/Shanghai")
PLAN = load_plan(SAMPLES_DIR / "jincheng-operations.yaml")
NO_EVIDENCE = LocalStore(Path("no-evidence"))  # no photos are recorded
WEEK = "2025-05-09"
S = CaseStatus


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A 2025 local (Asia/Shanghai) time."""
    return datetime(2025, month, day, hour, minute, tzinfo=ZONE)


HOTSPOTS: dict[str, dict[str, Any]] = {
    "M1": {"kind": HotspotKind.road_market, "batch": 1, "geometry": point(300, 10), "buffer_m": 15.0},
    "M2": {"kind": HotspotKind.road_market, "batch": 1, "geometry": point(800, 10), "buffer_m": 15.0},
    "M3": {"kind": HotspotKind.road_market, "batch": 2, "geometry": point(300, 1000), "buffer_m": 15.0},
    "S": {"kind": HotspotKind.strict_street, "geometry": line((100, 5), (900, 5)), "buffer_m": 20.0},
    "U": {"kind": HotspotKind.public_place, "geometry": None},
}
PASSES = {
    "P1": (local(4, 28, 10), 0.0),
    "P2": (local(5, 5, 10), 0.0),
    "P3": (local(5, 8, 15), 0.0),
    "P4": (local(5, 10, 9), 0.0),
    "P5": (local(5, 6, 10), 5000.0),
}
UNITS: dict[str, dict[str, Any]] = {
    "U1": {"name": "一大队", "hotspots": ["M1", "M2", "S", "M3", "U"]},
    "U2": {"name": "二大队", "territory": polygon(square(300, 1000, 50))},
}
DISPOSALS = {"A": DisposalKind.persuaded, "G": DisposalKind.fined, "H": DisposalKind.corrected}
"""What was done about each case a unit disposed of (a fine is 200 yuan)."""
CASES: dict[str, tuple[str | None, str | None, list[tuple[datetime, CaseStatus]]]] = {
    "A": (
        "M1",
        "U1",
        [
            (local(4, 28, 10, 1), S.new),
            (local(4, 29, 9), S.confirmed),
            (local(4, 30, 9), S.dispatched),
            (local(5, 1, 9), S.resolved),
            (local(5, 4, 9), S.closed),
            (local(5, 5, 10, 1), S.reopened),
            (local(5, 6, 9), S.confirmed),
        ],
    ),
    "B": ("M1", None, [(local(5, 5, 10, 2), S.new), (local(5, 5, 12), S.rejected)]),
    "C": ("S", None, [(local(5, 8, 15, 1), S.new), (local(5, 10, 9), S.confirmed)]),
    "D": (None, "U2", [(local(5, 6, 11), S.new), (local(5, 7, 9), S.confirmed), (local(5, 8, 9), S.dispatched)]),
    "E": ("M3", None, [(local(4, 20, 9), S.new)]),
    "F": ("M2", None, [(local(4, 27, 9), S.new), (local(4, 27, 10), S.confirmed), (local(4, 29, 9), S.resolved)]),
    "G": (
        "S",
        "U1",
        [
            (local(5, 3, 9), S.new),
            (local(5, 3, 10), S.confirmed),
            (local(5, 3, 11), S.dispatched),
            (local(5, 3, 12, 30), S.resolved),
            (local(5, 4, 10), S.closed),
        ],
    ),
    "H": (
        "M1",
        "U1",
        [
            (local(5, 5, 11), S.new),
            (local(5, 5, 12), S.confirmed),
            (local(5, 5, 13), S.dispatched),
            (local(5, 6, 12), S.resolved),
        ],
    ),
}


def sighting(case: Case, at: datetime, n: int) -> ObservationRow:
    """One observation of ``case`` seen at ``at``."""
    return ObservationRow(
        source=f"video-{n}",
        track_id="1",
        category=case.category,
        label="person+umbrella",
        confidence=0.8,
        t_first=0.0,
        t_last=1.0,
        t_best=0.5,
        observed_at=at,
        bbox=[0, 0, 10, 10],
        lat=case.lat,
        lon=case.lon,
        case_id=case.id,
        received_at=at,
        seen_at=at,
    )


def advance(
    session: Session,
    case: Case,
    status: CaseStatus,
    at: datetime,
    unit: Unit | None,
    kind: DisposalKind | None,
    officer: User,
) -> None:
    """Move ``case`` to ``status`` the way the bureau does: dispatched to ``unit``, resolved by a disposal of
    ``kind`` ``officer`` records (when dispatched), closed after an inspection verified it."""
    if status == S.dispatched:
        dispatch(session, PLAN.sla, case, unit, at, None)
    elif status == S.resolved and kind is not None:
        fine = 200.0 if kind == DisposalKind.fined else None
        dispose(session, NO_EVIDENCE, case, officer, kind, at, fine_yuan=fine)
    elif status == S.closed:
        verify(
            session,
            NO_EVIDENCE,
            case,
            VerifyRequest(method=VerifyMethod.inspection, note="现场复查，已无摊点"),
            at,
            None,
            25.0,
        )
        change_status(session, case, status, at, None)
    else:
        change_status(session, case, status, at, None)


def simulate_month(engine: Engine) -> dict[str, int]:
    """Store the month; returns the hotspot and unit ids by name."""
    with Session(engine) as session:
        officer = User(name="officer", role=Role.admin)
        session.add(officer)
        units = {key: Unit(key=key, kind=UnitKind.brigade, **fields) for key, fields in UNITS.items()}
        hotspots = {name: Hotspot(key=name, name=f"热点{name}", **fields) for name, fields in HOTSPOTS.items()}
        session.add_all([*units.values(), *hotspots.values()])
        for name, (start, east) in PASSES.items():
            record_pass(session, name, drive(start, (0, east), (1000, east), seconds=100, mount="forward"))
        session.flush()
        for n, (name, (place, unit, steps)) in enumerate(CASES.items()):
            (created, _), *changes = steps
            lat, lon = offset(100.0 * n, 500.0)
            hotspot_id = row_id(hotspots[place]) if place else None
            case = Case(category="street_vendor", lat=lat, lon=lon, first_seen=created, last_seen=created)
            case.hotspot_id, case.created_at = hotspot_id, created
            case.hotspot_distance_m = 0.0 if hotspot_id else None
            session.add(case)
            session.flush()
            record(session, case, CaseAction.created, created, None, to_status=S.new)
            session.add(sighting(case, created, n))
            for at, status in changes:
                if status == S.reopened:
                    change_status(session, case, status, at, None, action=CaseAction.recurrence)
                    session.add(sighting(case, at, 100 + n))
                else:
                    advance(session, case, status, at, units[unit] if unit else None, DISPOSALS.get(name), officer)
            session.add(case)
            session.flush()
        session.commit()
        return {name: row_id(h) for name, h in hotspots.items()} | {key: row_id(u) for key, u in units.items()}
