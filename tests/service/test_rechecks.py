"""回头看: when a resolved case's spot is due for re-inspection, and what later patrols found there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from service.cases import change_status, record
from service.models.base import row_id
from service.models.cases import Case, CaseAction, CaseStatus
from service.models.hotspots import Hotspot, HotspotKind
from service.patrols import record_pass
from service.rechecks import Sighting, Visit, check_states
from tests.service.builders import Auth
from tests.service.conftest import Clock
from tests.service.month import local, sighting
from tests.service.places import drive, offset, point
from tests.service.web_client import USERS, logged_in

R = datetime(2025, 5, 1, 1, 0, tzinfo=UTC)
GRACE = timedelta(days=2)


def visit(days: float) -> Visit:
    at = R + timedelta(days=days)
    return Visit(1, "video-1", at, at + timedelta(minutes=1))


@pytest.mark.parametrize(
    ("visits", "relapse_days", "now_days", "states"),
    [
        ([], None, 1.0, ["scheduled", "scheduled"]),
        ([], None, 5.5, ["due", "scheduled"]),  # from two days before the due date
        ([], None, 9.5, ["overdue", "scheduled"]),  # more than two days after it
        ([visit(6.0)], None, 9.5, ["clean", "scheduled"]),  # a pass a day early counts
        ([visit(4.0)], None, 9.5, ["overdue", "scheduled"]),  # too early: not this check
        ([visit(6.0), visit(29.0)], None, 31.0, ["clean", "clean"]),
        ([visit(6.0)], 6.0, 9.5, ["relapsed"]),  # the pass saw it again; no later check
        ([visit(6.0)], 12.0, 13.0, ["clean", "relapsed"]),  # seen again, by a camera, before the next check
    ],
)
def test_the_state_of_each_check(
    visits: list[Visit], relapse_days: float | None, now_days: float, states: list[str]
) -> None:
    relapse = Sighting(7, "video-2", R + timedelta(days=relapse_days)) if relapse_days is not None else None
    checks = check_states(R, [7.0, 30.0], GRACE, visits, relapse, R + timedelta(days=now_days))
    assert [c.state for c in checks] == states
    assert checks[0].due_at == R + timedelta(days=7)
    if states[0] == "clean":
        assert checks[0].visit == visits[0]
    if "relapsed" in states:
        assert checks[-1].relapse == relapse


def resolved_case(session: Session, north: float, east: float, resolved: datetime, hotspot: Hotspot | None) -> Case:
    lat, lon = offset(north, east)
    created = resolved - timedelta(days=1)
    case = Case(category="street_vendor", lat=lat, lon=lon, first_seen=created, last_seen=created)
    if hotspot is not None:
        case.hotspot_id, case.hotspot_distance_m = row_id(hotspot), 0.0
    session.add(case)
    session.flush()
    record(session, case, CaseAction.created, created, None, to_status=CaseStatus.new)
    change_status(session, case, CaseStatus.confirmed, created, None)
    change_status(session, case, CaseStatus.resolved, resolved, None)
    session.add(case)
    return case


def test_the_schedule_of_a_patrolled_month(client: TestClient, engine: Engine, auth: Auth, clock: Clock) -> None:
    with Session(engine) as session:
        market = Hotspot(key="m", name="市场", kind=HotspotKind.public_place, geometry=point(405, 5), buffer_m=30.0)
        session.add(market)
        session.flush()
        g = resolved_case(session, 200, 5, local(5, 1, 9), None)
        h = resolved_case(session, 400, 5, local(5, 1, 9), market)
        i = resolved_case(session, 600, 5, local(5, 10, 9), None)
        j = resolved_case(session, 800, 5, local(5, 13, 9), None)
        m = resolved_case(session, 410, 5, local(5, 15, 9), market)  # where h recurred: checked more often
        resolved_case(session, 0, 500, local(1, 1, 9), None)  # resolved too long ago to list
        seen_again = local(5, 12, 10, 0) + timedelta(seconds=40)  # by Q2, driving past at 10 m/s
        change_status(session, h, CaseStatus.reopened, seen_again, None, action=CaseAction.recurrence)
        h.recurrence_count = 1
        relapse = sighting(h, seen_again, 1)
        session.add_all([h, relapse])
        for name, start in (("Q1", local(5, 4, 10)), ("Q2", local(5, 12, 10))):
            record_pass(session, name, drive(start, (0, 0), (1000, 0), seconds=100, mount="forward"))
        session.commit()
        ids = {"g": row_id(g), "h": row_id(h), "i": row_id(i), "j": row_id(j), "m": row_id(m)}
        relapse_id = row_id(relapse)
    clock.now = local(5, 20, 0)
    body = client.get("/api/rechecks", headers=auth["reviewer"]).json()
    named = {v: k for k, v in ids.items()}
    got = [(named[r["case_id"]], r["days"], r["state"]) for r in body["items"]]
    assert got[:4] == [
        ("i", 7, "overdue"),  # due 05-17, no pass since 05-15
        ("m", 3, "due"),  # due 05-18
        ("j", 7, "due"),  # due 05-20
        ("h", 7, "relapsed"),  # Q2 saw it again on 05-12; h's later checks are not listed
    ]
    scheduled = [("m", 7), ("m", 14), ("m", 30), ("g", 30), ("i", 30), ("j", 30)]
    clean = [("g", 7), ("h", 3)]
    assert sorted(got[4:]) == sorted([(*c, "scheduled") for c in scheduled] + [(*c, "clean") for c in clean])
    assert body["total"] == 12 and body["counts"] == {
        "overdue": 1,
        "due": 2,
        "relapsed": 1,
        "scheduled": 6,
        "clean": 2,
    }
    by_check = {(named[r["case_id"]], r["days"]): r for r in body["items"]}
    assert by_check[("g", 7)]["pass_source"] == "Q2"  # late, but a pass: 05-12 10:00:20
    assert by_check[("g", 7)]["covered_at"] == "2025-05-12T02:00:20Z"
    assert by_check[("h", 3)]["pass_source"] == "Q1"
    assert by_check[("h", 7)]["observation_id"] == relapse_id
    assert by_check[("h", 7)]["seen_at"] == "2025-05-12T02:00:40Z"
    due = client.get("/api/rechecks", params={"state": "due", "limit": 1}, headers=auth["uploader"]).json()
    assert due["total"] == 2 and len(due["items"]) == 1 and due["counts"] == body["counts"]
    assert client.get("/api/rechecks").status_code == 401
    assert client.get("/api/rechecks", params={"state": "late"}, headers=auth["reviewer"]).status_code == 422


def test_the_page_lists_the_checks(client: TestClient, engine: Engine, clock: Clock, web_users: dict[str, str]) -> None:
    with Session(engine) as session:
        case = resolved_case(session, 200, 5, local(5, 1, 9), None)
        session.commit()
        case_id = row_id(case)
    clock.now = local(5, 20, 0)
    logged_in(client, USERS["reviewer"])
    page = client.get("/rechecks").text
    assert f'<tr data-case="{case_id}" data-state="overdue">' in page and "已逾期" in page
    assert f'<tr data-case="{case_id}" data-state="scheduled">' in page
    only = client.get("/rechecks", params={"state": "scheduled"}).text
    assert 'data-state="overdue"' not in only and 'data-state="scheduled"' in only
