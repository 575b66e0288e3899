"""Concurrent writers on both backends: two reviewers deciding one case (the second gets 409 and
the first decision stands), a decision overtaken between its read and its write, sightings and
decisions racing on one case, and the web view saying who decided first, in the visitor's language."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, func, select

from service.auth.users import create_user
from service.cases import change_status
from service.decisions import Conflict, decide
from service.models.cases import Case, CaseAction, CaseEvent, CaseStatus, Expectation
from service.models.users import Role
from service.writer import Writer
from tests.service.builders import Auth, obs, send
from tests.service.web_client import logged_in

ROUNDS = 8


@pytest.fixture
def second_reviewer(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        _, token = create_user(session, "reviewer-2", Role.reviewer)
    return {"Authorization": f"Bearer {token}"}


def racing(*calls: Any) -> list[Any]:
    """Run the calls at the same moment on their own threads; their results in order."""
    start = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def review(client: TestClient, headers: dict[str, str], case_id: int, decision: str, **seen: Any) -> Any:
    return client.post(f"/api/cases/{case_id}/review", json={"decision": decision, **seen}, headers=headers)


def test_two_reviewers_deciding_one_case_the_second_gets_409(
    client: TestClient, auth: Auth, second_reviewer: dict[str, str]
) -> None:
    cases = [r["case_id"] for r in send(client, auth, [obs(str(i), north=100 * i) for i in range(ROUNDS)])["results"]]
    for case_id in cases:
        first, second = racing(
            lambda c=case_id: review(client, auth["reviewer"], c, "confirm", expected_status="new"),
            lambda c=case_id: review(client, second_reviewer, c, "reject", expected_status="new"),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
        winner, loser = (first, second) if first.status_code == 200 else (second, first)
        case = client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()
        assert case["status"] == winner.json()["status"] and case["version"] == winner.json()["version"]
        assert [e["action"] for e in case["events"]].count("review") == 1
        by = "reviewer-1" if winner is first else "reviewer-2"
        assert f"it is {case['status']} now (set by {by} at " in loser.json()["detail"]


def test_the_same_decision_twice_at_once_is_taken_once(
    client: TestClient, auth: Auth, second_reviewer: dict[str, str]
) -> None:
    """Without ``expected_status`` the state machine still refuses the second of two confirmations."""
    cases = [r["case_id"] for r in send(client, auth, [obs(str(i), north=100 * i) for i in range(ROUNDS)])["results"]]
    for case_id in cases:
        answers = racing(
            lambda c=case_id: review(client, auth["reviewer"], c, "confirm"),
            lambda c=case_id: review(client, second_reviewer, c, "confirm"),
        )
        assert sorted(a.status_code for a in answers) == [200, 409]


def test_a_stale_version_is_refused(client: TestClient, auth: Auth) -> None:
    case_id = send(client, auth, [obs("1")])["results"][0]["case_id"]
    seen = client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()["version"]
    send(client, auth, [obs("2", north=1)])  # a new sighting changes the case
    stale = review(client, auth["reviewer"], case_id, "confirm", version=seen)
    assert stale.status_code == 409 and "changed meanwhile" in stale.json()["detail"]
    fresh = client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()
    assert fresh["status"] == "new" and fresh["version"] > seen
    assert review(client, auth["reviewer"], case_id, "confirm", version=fresh["version"]).status_code == 200


def test_a_write_racing_a_decision_never_overwrites_it_silently(
    client: TestClient, auth: Auth, engine: Engine, clock: Any
) -> None:
    """Another writer confirms the case after the decision read it. PostgreSQL: the decision holds
    the row, so the racer waits, then fails its version check, and the decision stands. SQLite (no
    row locks; another process): the racer wins, and the decision is refused naming who won."""
    case_id = send(client, auth, [obs("1")])["results"][0]["case_id"]
    with Session(engine) as session:
        other_user = session.exec(select(CaseEvent.user_id)).first()  # the uploader, who made the case
    racer_failed: list[Exception] = []

    def confirm_elsewhere() -> None:
        with Session(engine) as other:
            change_status(other, other.get_one(Case, case_id), CaseStatus.confirmed, clock.now, other_user)
            try:
                other.commit()
            except StaleDataError as exc:
                racer_failed.append(exc)

    racer = threading.Thread(target=confirm_elsewhere)

    def reject(case: Case) -> None:
        if not racer.is_alive() and racer.ident is None:
            racer.start()
            racer.join(1.0)  # it finishes at once, unless the case's row is locked
        change_status(session, case, CaseStatus.rejected, clock.now, None, action=CaseAction.review)

    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            decided = decide(session, Writer(engine), case_id, Expectation(expected_status=CaseStatus.new), reject)
            assert decided.status == CaseStatus.rejected
        else:
            with pytest.raises(Conflict) as refused:
                decide(session, Writer(engine), case_id, Expectation(expected_status=CaseStatus.new), reject)
            assert refused.value.status == CaseStatus.confirmed and refused.value.by == "uploader-1"
    racer.join(10)
    assert not racer.is_alive()
    with Session(engine) as session:
        final = session.get(Case, case_id).status
    assert final == (CaseStatus.rejected if engine.dialect.name == "postgresql" else CaseStatus.confirmed)
    assert bool(racer_failed) == (engine.dialect.name == "postgresql")


def test_sightings_and_decisions_racing_on_one_case_lose_nothing(
    client: TestClient, auth: Auth, engine: Engine
) -> None:
    case_id = send(client, auth, [obs("0")])["results"][0]["case_id"]

    def sighting(i: int) -> dict[str, Any]:
        return send(client, auth, [obs(f"s{i}", north=i % 3)], source=f"cam-{i}")

    calls: list[Callable[[], Any]] = [functools.partial(sighting, i) for i in range(12)]
    calls.append(lambda: review(client, auth["reviewer"], case_id, "confirm", expected_status="new"))
    answers = racing(*calls)
    assert all(a["results"][0]["case_id"] == case_id for a in answers[:-1])  # one object, one case
    assert answers[-1].status_code == 200
    with Session(engine) as session:
        case = session.get(Case, case_id)
        assert case.status == CaseStatus.confirmed and case.observation_count == 13
        assert session.exec(select(func.count()).select_from(Case)).one() == 1


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("zh", "此案件已被 reviewer-1 于 09:00 处理为 已确认"),
        ("en", "This case was already set to confirmed by reviewer-1 at 09:00"),
    ],
)
def test_the_web_view_says_who_decided_first(
    client: TestClient, auth: Auth, web_users: dict[str, str], clock: Any, lang: str, message: str
) -> None:
    first, second = (r["case_id"] for r in send(client, auth, [obs("1"), obs("2", north=200)])["results"])
    for case_id in (first, second):
        assert review(client, auth["reviewer"], case_id, "confirm").status_code == 200  # at 01:00 UTC, 09:00 local
    clock.advance(minutes=5)
    token = logged_in(client, web_users["reviewer"])
    client.cookies.set("lang", lang)
    body = {"ids": [first], "decision": "reject", "expected_status": {str(first): "new"}}
    answer = client.post("/review/decide", json=body, headers={"X-CSRF-Token": token}).json()
    assert answer["results"][0] == {"id": first, "error": message, "status": "confirmed", "category": None}
    page = client.post(
        f"/cases/{second}/status", data={"status": "rejected", "expected_status": "new", "csrf_token": token}
    )
    assert page.status_code == 409 and message in page.text
    assert client.get(f"/api/cases/{second}", headers=auth["reviewer"]).json()["status"] == "confirmed"
    clock.advance(days=1)
    token = logged_in(client, web_users["reviewer"])
    client.cookies.set("lang", lang)
    later = client.post("/review/decide", json=body, headers={"X-CSRF-Token": token}).json()["results"][0]["error"]
    assert "05-12 09:00" in later  # decided on another day: the date is given too


def test_the_web_view_sends_what_it_showed(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    case_id = send(client, auth, [obs("1")])["results"][0]["case_id"]
    logged_in(client, web_users["reviewer"])
    assert f'data-id="{case_id}" data-status="new"' in client.get("/review").text
    assert '<input type="hidden" name="expected_status" value="new">' in client.get(f"/cases/{case_id}").text
    script = client.get("/static/review.js").text
    assert "expected_status" in script and "card.dataset.status" in script
