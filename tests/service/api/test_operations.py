"""Campaign operations over HTTP: units, dispatch with SLA deadlines, overdue and escalation,
disposal with an after-photo, verification (by a later patrol pass), closing, phases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from service.app import create_app
from service.models.webhooks import EventKind, OutboxEvent
from service.operations import Escalator
from service.patrols import Route, record_pass
from service.settings import Settings
from service.writer import Writer
from tests.polling import wait_until
from tests.service.builders import Auth, jpeg, obs, post, send
from tests.service.places import line, offset, polygon

STREET = {
    "type": "Feature",
    "id": "strict-street-zezhou-lu",
    "geometry": line((-200, 0), (200, 0)),
    "properties": {"name": "泽州路", "kind": "strict_street"},
}
"""The shipped catalog's 泽州路, placed through the test origin: brigade-1's territory names it."""


def units(client: TestClient, auth: Auth) -> dict[str, dict[str, Any]]:
    response = client.get("/api/units", headers=auth["reviewer"])
    assert response.status_code == 200, response.text
    return {u["key"]: u for u in response.json()}


def user_id(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get("/api/users/me", headers=headers).json()["id"])


def case_of(client: TestClient, auth: Auth, case_id: int) -> dict[str, Any]:
    response = client.get(f"/api/cases/{case_id}", headers=auth["reviewer"])
    assert response.status_code == 200, response.text
    return response.json()


def confirmed_case(client: TestClient, auth: Auth, track: str = "1", north: float = 0.0, **fields: Any) -> int:
    """A case seen at ``north`` metres from the origin (on 泽州路 near 0), confirmed by the reviewer."""
    case_id = int(send(client, auth, [obs(track, north=north, **fields)])["results"][0]["case_id"])
    post(client, auth["reviewer"], f"/api/cases/{case_id}/review", {"decision": "confirm"})
    return case_id


def escalate(client: TestClient, auth: Auth) -> list[int]:
    """Escalate what is overdue now, as the dispatcher; the ids of the cases escalated."""
    response = client.post("/api/operations/escalate", headers=auth["dispatcher"])
    assert response.status_code == 200, response.text
    return [int(i) for i in response.json()]


def dispose(client: TestClient, headers: dict[str, str], case_id: int, **form: Any) -> Response:
    photo = form.pop("photo", None)
    files = {"photo": ("after.jpg", photo, "image/jpeg")} if photo is not None else None
    return client.post(f"/api/cases/{case_id}/disposal", data=form, files=files, headers=headers)


@pytest.fixture
def street(client: TestClient, auth: Auth) -> None:
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [STREET]})


def test_units_are_seeded_and_admins_edit_them(client: TestClient, auth: Auth) -> None:
    seeded = units(client, auth)
    assert {"brigade-1", "brigade-4", "traffic-police", "market-supervision", "subdistrict"} <= set(seeded)
    assert "strict-street-zezhou-lu" in seeded["brigade-1"]["hotspots"]
    assert seeded["traffic-police"]["kind"] == "department"

    area = polygon([(0, 0), (0, 100), (100, 100), (100, 0)])
    body = {"key": "brigade-5", "name": "第五执法大队", "kind": "brigade", "territory": area}
    assert client.post("/api/units", json=body, headers=auth["reviewer"]).status_code == 403
    added = client.post("/api/units", json=body, headers=auth["admin"])
    assert added.status_code == 201, added.text
    assert client.post("/api/units", json=body, headers=auth["admin"]).status_code == 409
    bowtie = polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
    crossed = client.post("/api/units", json={**body, "key": "brigade-6", "territory": bowtie}, headers=auth["admin"])
    assert crossed.status_code == 422 and "brigade-6" not in units(client, auth)

    unit_id = added.json()["id"]
    head = client.patch(f"/api/units/{unit_id}", json={"head_user_id": 999999}, headers=auth["admin"])
    assert head.status_code == 422
    dispatcher = user_id(client, auth["dispatcher"])
    changed = client.patch(f"/api/units/{unit_id}", json={"head_user_id": dispatcher}, headers=auth["admin"])
    assert changed.status_code == 200 and changed.json()["territory"] == area  # a patch keeps what it does not name
    officer = user_id(client, auth["field_officer"])
    member = post(client, auth["admin"], f"/api/units/{unit_id}/members", {"user_id": officer})
    assert member["unit_id"] == unit_id
    assert client.get("/api/users/me", headers=auth["field_officer"]).json()["unit_id"] == unit_id
    assert client.post("/api/units/999999/members", json={"user_id": officer}, headers=auth["admin"]).status_code == 404


def test_a_case_from_confirmation_to_closing(
    client: TestClient, auth: Auth, street: None, clock: Any, engine: Engine
) -> None:
    brigade = units(client, auth)["brigade-1"]
    head = user_id(client, auth["reviewer"])
    client.patch(f"/api/units/{brigade['id']}", json={"head_user_id": head}, headers=auth["admin"])
    case_id = confirmed_case(client, auth)
    dispatched_at = clock.now

    assignment = post(client, auth["dispatcher"], f"/api/cases/{case_id}/dispatch", {})
    assert (assignment["unit_id"], assignment["overdue"]) == (brigade["id"], False)
    # a vendor on a strict street: 2 h to dispose, escalated after 4 h
    assert assignment["due_at"] == (dispatched_at + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    overdue = {"overdue": "true", "unit_id": brigade["id"]}
    assert client.get("/api/cases", params=overdue, headers=auth["reviewer"]).json()["total"] == 0

    clock.advance(hours=3)
    listed = client.get("/api/cases", params=overdue, headers=auth["reviewer"]).json()
    assert [c["id"] for c in listed["items"]] == [case_id]
    assert client.get(f"/api/cases/{case_id}/assignment", headers=auth["reviewer"]).json()["overdue"] is True
    assert escalate(client, auth) == []
    clock.advance(hours=2)
    assert escalate(client, auth) == [case_id]
    assert escalate(client, auth) == []  # once
    escalated = client.get(f"/api/cases/{case_id}/assignment", headers=auth["reviewer"]).json()
    assert escalated["escalated_at"] is not None

    officer = auth["field_officer"]
    refused = dispose(client, officer, case_id, kind="persuaded")
    assert refused.status_code == 403 and case_of(client, auth, case_id)["status"] == "dispatched"
    post(client, auth["admin"], f"/api/units/{brigade['id']}/members", {"user_id": user_id(client, officer)})
    assert dispose(client, officer, case_id, kind="fined").status_code == 422  # a fine needs its amount
    done = dispose(client, officer, case_id, kind="persuaded", note="劝离", photo=jpeg())
    assert done.status_code == 200, done.text
    assert case_of(client, auth, case_id)["status"] == "resolved"

    closing = client.post(f"/api/cases/{case_id}/status", json={"status": "closed"}, headers=auth["reviewer"])
    assert closing.status_code == 409 and "not verified" in closing.json()["detail"]

    disposed_at = clock.now
    clock.advance(hours=1)
    with Session(engine) as session:  # a patrol drove along 泽州路 an hour after the disposal
        start = (disposed_at + timedelta(minutes=30)).timestamp()
        lat = np.linspace(offset(-100, 0)[0], offset(100, 0)[0], 21)
        route = Route(start + np.arange(21.0), lat, np.full(21, offset(0, 0)[1]))
        before = record_pass(session, "before", Route(route.t - 7200, lat, route.lon))
        after = record_pass(session, "after", route)
        session.commit()
        before_id, after_id = before.id, after.id
    proposals = client.get(f"/api/cases/{case_id}/verify/proposals", headers=auth["dispatcher"]).json()
    assert [(p["patrol_pass_id"], p["source"]) for p in proposals] == [(after_id, "after")]
    early = {"method": "patrol", "patrol_pass_id": before_id}
    assert client.post(f"/api/cases/{case_id}/verify", json=early, headers=auth["dispatcher"]).status_code == 422
    verified = post(client, auth["dispatcher"], f"/api/cases/{case_id}/verify", {**early, "patrol_pass_id": after_id})
    assert verified["case_id"] == case_id
    post(client, auth["reviewer"], f"/api/cases/{case_id}/status", {"status": "closed", "note": "结案"})

    case = case_of(client, auth, case_id)
    trail = [(e["action"], e["to_status"], e["user"]) for e in case["events"]]
    assert trail == [
        ("created", "new", "uploader-1"),
        ("review", "confirmed", "reviewer-1"),
        ("dispatch", "dispatched", "dispatcher-1"),
        ("escalation", None, None),
        ("disposal", "resolved", "field_officer-1"),
        ("verification", None, "dispatcher-1"),
        ("status", "closed", "reviewer-1"),
    ]
    details = [e["detail"] for e in case["events"]]
    assert details[2]["unit"] == "第一执法大队" and details[3]["head_user_id"] == head
    assert details[4]["kind"] == "persuaded" and details[4]["photo"].endswith(".jpg")
    assert details[5]["patrol_pass_id"] == after_id


def test_bad_dispatches_change_nothing(client: TestClient, auth: Auth, street: None, clock: Any) -> None:
    case_id = confirmed_case(client, auth)
    brigade = units(client, auth)["brigade-2"]
    cases = f"/api/cases/{case_id}/dispatch"
    past = (clock.now - timedelta(hours=1)).isoformat()
    assert client.post(cases, json={"due": past}, headers=auth["dispatcher"]).status_code == 422
    client.patch(f"/api/units/{brigade['id']}", json={"disabled": True}, headers=auth["admin"])
    disabled = client.post(cases, json={"unit_id": brigade["id"]}, headers=auth["dispatcher"])
    assert disabled.status_code == 422 and "disabled" in disabled.json()["detail"]
    assert client.post(cases, json={"unit_id": 999999}, headers=auth["dispatcher"]).status_code == 404
    assert client.post(cases, json={}, headers=auth["reviewer"]).status_code == 403
    assert client.get(f"/api/cases/{case_id}/assignment", headers=auth["reviewer"]).status_code == 404
    case = case_of(client, auth, case_id)
    assert case["status"] == "confirmed" and [e["action"] for e in case["events"]] == ["created", "review"]

    far = int(send(client, auth, [obs("far", north=5000)])["results"][0]["case_id"])
    unconfirmed = client.post(f"/api/cases/{far}/dispatch", json={}, headers=auth["dispatcher"])
    assert unconfirmed.status_code == 409
    post(client, auth["reviewer"], f"/api/cases/{far}/review", {"decision": "confirm"})
    nowhere = client.post(f"/api/cases/{far}/dispatch", json={}, headers=auth["dispatcher"])
    assert nowhere.status_code == 422 and "no unit" in nowhere.json()["detail"]


def test_category_rule_territory_and_bulk_dispatch(client: TestClient, auth: Auth, street: None, clock: Any) -> None:
    police = units(client, auth)["traffic-police"]  # seeded to take vending vehicles wherever they are
    area = polygon([(4900, -100), (5100, -100), (5100, 100), (4900, 100)])
    body = {"key": "brigade-5", "name": "第五执法大队", "kind": "brigade", "territory": area}
    fifth = client.post("/api/units", json=body, headers=auth["admin"]).json()
    vendor = confirmed_case(client, auth, "1")
    goods = confirmed_case(client, auth, "2", north=50, category="vending_vehicle")
    ad = confirmed_case(client, auth, "3", north=5000, category="lightbox_ad")
    lost = confirmed_case(client, auth, "4", north=-5000)
    fresh = int(send(client, auth, [obs("5", north=100)])["results"][0]["case_id"])

    bulk = {"case_ids": [vendor, goods, ad, lost, fresh]}
    results = client.post("/api/cases/dispatch", json=bulk, headers=auth["dispatcher"]).json()
    assert [(r["case_id"], r["unit_id"], r["error"] is None) for r in results] == [
        (vendor, units(client, auth)["brigade-1"]["id"], True),  # on 泽州路, a hotspot of its territory
        (goods, police["id"], True),  # the category rule comes first
        (ad, fifth["id"], True),  # inside its territory polygon
        (lost, None, False),  # outside every territory
        (fresh, None, False),  # not confirmed
    ]
    assignment = client.get(f"/api/cases/{goods}/assignment", headers=auth["reviewer"]).json()
    assert assignment["due_at"] == (clock.now + timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    to_police = client.get("/api/cases", params={"unit_id": police["id"]}, headers=auth["reviewer"]).json()
    assert [c["id"] for c in to_police["items"]] == [goods]


def test_failed_verification_reopens_and_a_new_round_needs_new_proof(
    client: TestClient, auth: Auth, street: None, clock: Any
) -> None:
    case_id = confirmed_case(client, auth)
    post(client, auth["dispatcher"], f"/api/cases/{case_id}/dispatch", {})
    verify = f"/api/cases/{case_id}/verify"
    early = client.post(verify, json={"method": "override", "note": "ok"}, headers=auth["reviewer"])
    assert early.status_code == 409  # nothing disposed of yet
    assert dispose(client, auth["dispatcher"], case_id, kind="corrected").status_code == 200
    assert client.post(verify, json={"method": "override"}, headers=auth["reviewer"]).status_code == 422  # no reason
    bad_photo = {"method": "photo", "photo": "ab/" + "ab" * 31 + ".jpg"}
    assert client.post(verify, json=bad_photo, headers=auth["reviewer"]).status_code == 422
    assert client.post(verify, json={"method": "inspection", "note": "x"}, headers=auth["uploader"]).status_code == 403
    failed = {"method": "inspection", "passed": False, "note": "摊贩又回来了"}
    post(client, auth["reviewer"], verify, failed)
    assert case_of(client, auth, case_id)["status"] == "reopened"

    clock.advance(hours=1)
    second = post(client, auth["dispatcher"], f"/api/cases/{case_id}/dispatch", {})
    assert second["round"] == 2
    post(client, auth["reviewer"], f"/api/cases/{case_id}/status", {"status": "resolved"})
    closing = client.post(f"/api/cases/{case_id}/status", json={"status": "closed"}, headers=auth["reviewer"])
    assert closing.status_code == 409 and "no disposal" in closing.json()["detail"]
    old = client.post(verify, json={"method": "override", "note": "旧的处置"}, headers=auth["dispatcher"])
    assert old.status_code == 409  # the disposal before is not of this round
    assert dispose(client, auth["admin"], case_id, kind="seized", note="暂扣三轮车").status_code == 200
    assert (
        client.post(f"/api/cases/{case_id}/status", json={"status": "closed"}, headers=auth["reviewer"]).status_code
        == 409
    )
    stored = client.post(
        "/api/evidence", content=jpeg(90), headers={**auth["dispatcher"], "Content-Type": "image/jpeg"}
    )
    assert stored.status_code == 201, stored.text
    post(client, auth["dispatcher"], verify, {"method": "photo", "photo": stored.json()["key"]})
    post(client, auth["reviewer"], f"/api/cases/{case_id}/status", {"status": "closed"})
    assert case_of(client, auth, case_id)["status"] == "closed"


@pytest.mark.parametrize(
    ("on", "phase"), [("2024-07-15", 1), ("2024-12-01", 2), ("2025-12-31", 3), ("2026-01-01", None)]
)
def test_phases(client: TestClient, auth: Auth, on: str, phase: int | None) -> None:
    answer = client.get("/api/phases", params={"on": on}, headers=auth["uploader"]).json()
    assert answer["phase"] == phase and [p["number"] for p in answer["items"]] == [1, 2, 3]
    assert answer["items"][1]["start"] == "2024-12-01"


def test_phase_today_is_the_local_date(client: TestClient, auth: Auth, clock: Any) -> None:
    clock.now = clock.now.replace(year=2024, month=11, day=30, hour=16, minute=30)  # 00:30 on 1 December in Jincheng
    assert client.get("/api/phases", headers=auth["uploader"]).json()["phase"] == 2
    assert client.get("/api/phases").status_code == 401


def test_admins_edit_the_phases_and_batch_starts(client: TestClient, auth: Auth) -> None:
    shipped = client.get("/api/phases", headers=auth["reviewer"]).json()
    assert shipped["batches"] == [{"number": 1, "start": "2024-07-15"}, {"number": 2, "start": "2024-12-01"}]
    phases = [{**p, "end": "2025-06-30"} if p["number"] == 3 else p for p in shipped["items"]]
    phases.append(
        {"number": 4, "name": "长效管理", "name_en": "Lasting order", "start": "2025-07-01", "end": "2025-12-31"}
    )
    body = {"phases": phases, "batches": [{"number": 2, "start": "2025-01-01"}]}
    assert client.put("/api/phases", json=body, headers=auth["reviewer"]).status_code == 403
    saved = client.put("/api/phases", json=body, headers=auth["admin"])
    assert saved.status_code == 200, saved.text
    answer = client.get("/api/phases", params={"on": "2025-08-01"}, headers=auth["uploader"]).json()
    assert answer["phase"] == 4 and [p["number"] for p in answer["items"]] == [1, 2, 3, 4]
    assert answer["batches"] == [{"number": 2, "start": "2025-01-01"}] == saved.json()["batches"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"phases": [{"number": 1, "name": "x", "start": "2025-01-02", "end": "2025-01-01"}]}, "ends before it starts"),
        (
            {
                "phases": [
                    {"number": 1, "name": "x", "start": "2025-01-01", "end": "2025-03-01"},
                    {"number": 2, "name": "y", "start": "2025-02-01", "end": "2025-04-01"},
                ]
            },
            "starts before phase 1 ends",
        ),
        (
            {
                "phases": [
                    {"number": 2, "name": "x", "start": "2025-01-01", "end": "2025-01-31"},
                    {"number": 1, "name": "y", "start": "2025-02-01", "end": "2025-04-01"},
                ]
            },
            "number them in order",
        ),
        ({"phases": [{"number": 1, "name": "", "start": "2025-01-01", "end": "2025-01-31"}]}, "at least 1"),
        ({"phases": [{"number": 1, "name": "x", "start": "2025-02-30", "end": "2025-03-31"}]}, "date"),
        ({"batches": [{"number": 3, "start": "2025-01-01"}]}, "less than or equal to 2"),
        ({"batches": [{"number": 1, "start": "2025-01-01"}, {"number": 1, "start": "2025-02-01"}]}, "given twice"),
        ({"batches": [{"number": 1, "start": "2025-01-01", "end": "2025-02-01"}]}, "Extra inputs"),
    ],
)
def test_a_bad_calendar_changes_nothing(client: TestClient, auth: Auth, change: dict[str, Any], reason: str) -> None:
    before = client.get("/api/phases", headers=auth["admin"]).json()
    response = client.put(
        "/api/phases", json={"phases": before["items"], "batches": before["batches"], **change}, headers=auth["admin"]
    )
    assert response.status_code == 422 and reason in str(response.json()["detail"])
    assert client.get("/api/phases", headers=auth["admin"]).json() == before


def test_the_service_escalates_overdue_cases_by_itself(
    engine: Engine, settings: Settings, clock: Any, auth: Auth
) -> None:
    with TestClient(create_app(settings.model_copy(update={"escalation_check_s": 0.05}), clock)) as client:
        post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [STREET]})
        case_id = confirmed_case(client, auth)
        post(client, auth["dispatcher"], f"/api/cases/{case_id}/dispatch", {})
        clock.advance(hours=4, minutes=1)  # past the second deadline of a vendor on a strict street

        def escalated() -> bool:
            return [e["action"] for e in case_of(client, auth, case_id)["events"]][-1] == "escalation"

        wait_until(escalated, 10, "the escalation check")


def overdue_events(engine: Engine) -> list[OutboxEvent]:
    with Session(engine) as session:
        stmt = select(OutboxEvent).where(OutboxEvent.kind == EventKind.case_overdue).order_by(col(OutboxEvent.id))
        return list(session.exec(stmt))


def test_a_case_past_its_deadline_is_announced_overdue_once_per_dispatch(
    client: TestClient, auth: Auth, street: None, clock: Any, engine: Engine
) -> None:
    case_id = confirmed_case(client, auth)
    due = datetime.fromisoformat(post(client, auth["dispatcher"], f"/api/cases/{case_id}/dispatch", {})["due_at"])
    checks = Escalator(engine, Writer(engine), clock, every_s=60.0)
    checks.run_once()
    assert overdue_events(engine) == []
    clock.now = due + timedelta(minutes=1)
    checks.run_once()
    checks.run_once()
    (first,) = overdue_events(engine)
    assert first.case_id == case_id and first.at == clock.now
    assert first.payload["unit"] == "第一执法大队" and first.payload["status"] == "dispatched"
    assert datetime.fromisoformat(first.payload["due_at"]) == due and first.payload["category"] == "street_vendor"

    other = units(client, auth)["brigade-4"]["id"]
    later = (clock.now + timedelta(hours=1)).isoformat()
    post(client, auth["dispatcher"], f"/api/cases/{case_id}/dispatch", {"unit_id": other, "due": later})
    checks.run_once()
    assert len(overdue_events(engine)) == 1  # transferred with a new deadline: not overdue now
    clock.advance(hours=2)
    checks.run_once()
    assert [e.payload["unit"] for e in overdue_events(engine)] == ["第一执法大队", "第四执法大队"]
    assert dispose(client, auth["dispatcher"], case_id, kind="persuaded").status_code == 200
    clock.advance(days=3)
    checks.run_once()
    assert len(overdue_events(engine)) == 2  # disposed of: no longer overdue


def test_a_recurrence_reopens_a_closed_case_keeping_its_history(
    client: TestClient, auth: Auth, street: None, clock: Any
) -> None:
    case_id = confirmed_case(client, auth)
    post(client, auth["dispatcher"], f"/api/cases/{case_id}/dispatch", {})
    assert dispose(client, auth["dispatcher"], case_id, kind="persuaded").status_code == 200
    post(client, auth["dispatcher"], f"/api/cases/{case_id}/verify", {"method": "inspection", "note": "已离开"})
    post(client, auth["reviewer"], f"/api/cases/{case_id}/status", {"status": "closed"})

    clock.advance(days=2)
    later = send(client, auth, [obs("again", north=2, observed_at=clock.now.isoformat())], source="video-2")
    assert later["results"][0]["case_id"] == case_id
    case = case_of(client, auth, case_id)
    assert (case["status"], case["recurrence_count"]) == ("reopened", 1)
    assert [e["action"] for e in case["events"]][1:] == [
        "review",
        "dispatch",
        "disposal",
        "verification",
        "status",
        "recurrence",
    ]
    assert post(client, auth["dispatcher"], f"/api/cases/{case_id}/dispatch", {})["round"] == 2
    post(client, auth["reviewer"], f"/api/cases/{case_id}/status", {"status": "resolved"})
    closing = client.post(f"/api/cases/{case_id}/status", json={"status": "closed"}, headers=auth["reviewer"])
    assert closing.status_code == 409 and "no disposal" in closing.json()["detail"]  # round 1's proof does not count
