"""Cases API: filters and paging, detail, review decisions, the state machine and its audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.service.builders import Auth, jpeg, obs, send, store_image


@pytest.fixture
def three_cases(client: TestClient, auth: Auth, clock: Any) -> list[int]:
    """A vendor (with a crop), goods and an ad, seen on three different days."""
    items = [
        obs("1", observed_at="2025-05-10T01:00:00Z", crop=store_image(client, auth, jpeg())),
        obs("2", north=100, category="goods_spill", observed_at="2025-05-11T01:00:00Z"),
        obs("3", north=200, category="lightbox_ad", observed_at="2025-05-12T01:00:00Z"),
    ]
    return [r["case_id"] for r in send(client, auth, items)["results"]]


def ids(client: TestClient, auth: Auth, **params: Any) -> list[int]:
    response = client.get("/api/cases", params=params, headers=auth["reviewer"])
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


def test_list_filters(client: TestClient, auth: Auth, three_cases: list[int]) -> None:
    vendor, goods, ad = three_cases
    assert ids(client, auth) == [ad, goods, vendor]  # newest sighting first
    assert ids(client, auth, category="goods_spill") == [goods]
    assert ids(client, auth, status="new") == [ad, goods, vendor]
    assert ids(client, auth, status="confirmed") == []
    assert ids(client, auth, since="2025-05-11T00:00:00Z") == [ad, goods]
    assert ids(client, auth, until="2025-05-11T12:00:00") == [goods, vendor]
    assert ids(client, auth, since="2025-05-11T00:00:00+08:00", until="2025-05-11T12:00:00+08:00") == [goods]
    assert ids(client, auth, hotspot_id=1) == []


def test_paging(client: TestClient, auth: Auth, three_cases: list[int]) -> None:
    page = client.get("/api/cases", params={"limit": 2, "offset": 1}, headers=auth["reviewer"]).json()
    assert page["total"] == 3 and [c["id"] for c in page["items"]] == three_cases[1::-1]
    item = page["items"][0]
    assert set(item) >= {
        "id",
        "category",
        "status",
        "lat",
        "lon",
        "hotspot_id",
        "hotspot_name",
        "hotspot_distance_m",
        "first_seen",
        "last_seen",
        "observation_count",
        "recurrence_count",
    }


@pytest.mark.parametrize(
    "params", [{"status": "open"}, {"limit": 0}, {"limit": 501}, {"offset": -1}, {"since": "soon"}]
)
def test_bad_list_parameters_are_422(client: TestClient, auth: Auth, params: dict[str, Any]) -> None:
    assert client.get("/api/cases", params=params, headers=auth["reviewer"]).status_code == 422


def test_detail_has_observations_and_trail(client: TestClient, auth: Auth, three_cases: list[int]) -> None:
    send(client, auth, [obs("9", north=2, observed_at="2025-05-13T01:00:00Z")])
    case = client.get(f"/api/cases/{three_cases[0]}", headers=auth["reviewer"]).json()
    assert case["observation_count"] == 2 and [o["track_id"] for o in case["observations"]] == ["1", "9"]
    assert case["first_seen"] == "2025-05-10T01:00:00Z" and case["last_seen"] == "2025-05-13T01:00:00Z"
    assert case["observations"][0]["crop_url"].endswith("/crop")
    assert [(e["action"], e["user"], e["to_status"]) for e in case["events"]] == [("created", "uploader-1", "new")]
    assert client.get("/api/cases/999999", headers=auth["reviewer"]).status_code == 404


def act(client: TestClient, auth: Auth, case_id: int, verb: str, **body: Any) -> Response:
    """POST /api/cases/{id}/{verb} (review or status) as the reviewer."""
    return client.post(f"/api/cases/{case_id}/{verb}", json=body, headers=auth["reviewer"])


def utc(at: datetime) -> str:
    """How the API writes a time."""
    return at.isoformat().replace("+00:00", "Z")


def test_review_and_state_machine(client: TestClient, auth: Auth, three_cases: list[int], clock: Any) -> None:
    case_id = three_cases[0]
    assert act(client, auth, case_id, "status", status="resolved").status_code == 409
    clock.advance(minutes=5)
    assert act(client, auth, case_id, "review", decision="confirm").json()["status"] == "confirmed"
    again = act(client, auth, case_id, "review", decision="confirm")
    assert again.status_code == 409 and "cannot go from confirmed to confirmed" in again.json()["detail"]
    for target in ("dispatched", "resolved"):
        clock.advance(hours=1)
        assert act(client, auth, case_id, "status", status=target, note=f"to {target}").status_code == 200
    clock.advance(hours=1)
    unproven = act(client, auth, case_id, "status", status="closed")  # closing needs a disposal and its check
    assert unproven.status_code == 409 and "never dispatched" in unproven.json()["detail"]
    assert act(client, auth, case_id, "status", status="dispatched").status_code == 409
    assert act(client, auth, case_id, "status", status="archived").status_code == 422
    case = client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()
    assert case["status"] == "resolved" and case["resolved_at"] == utc(clock.now - timedelta(hours=1))
    trail = [(e["action"], e["from_status"], e["to_status"], e["user"]) for e in case["events"]]
    assert trail[1:] == [
        ("review", "new", "confirmed", "reviewer-1"),
        ("status", "confirmed", "dispatched", "reviewer-1"),
        ("status", "dispatched", "resolved", "reviewer-1"),
    ]
    assert (case["events"][-1]["at"], case["events"][-1]["note"]) == (
        utc(clock.now - timedelta(hours=1)),
        "to resolved",
    )


def test_reject_and_recategorize(client: TestClient, auth: Auth, three_cases: list[int]) -> None:
    _, goods, ad = three_cases
    changed = act(client, auth, ad, "review", decision="recategorize", category="outdoor_ad").json()
    assert (changed["category"], changed["status"]) == ("outdoor_ad", "new")
    both = act(client, auth, goods, "review", decision="reject", category="street_vendor").json()
    assert (both["status"], both["category"]) == ("rejected", "street_vendor")
    assert act(client, auth, ad, "review", decision="recategorize", category="parking").status_code == 422
    assert act(client, auth, ad, "review", decision="recategorize").status_code == 422
    assert act(client, auth, ad, "review", decision="maybe").status_code == 422
    last = client.get(f"/api/cases/{ad}", headers=auth["reviewer"]).json()["events"][-1]
    assert last["action"] == "recategorize" and last["detail"] == {"from": "lightbox_ad", "to": "outdoor_ad"}


def test_failed_transition_leaves_category_unchanged(client: TestClient, auth: Auth, three_cases: list[int]) -> None:
    vendor = three_cases[0]
    act(client, auth, vendor, "review", decision="confirm")
    assert act(client, auth, vendor, "review", decision="confirm", category="goods_spill").status_code == 409
    case = client.get(f"/api/cases/{vendor}", headers=auth["reviewer"]).json()
    assert case["category"] == "street_vendor" and [e["action"] for e in case["events"]] == ["created", "review"]


def test_manual_reopen_of_resolved_case(client: TestClient, auth: Auth, three_cases: list[int]) -> None:
    for target in ("confirmed", "resolved", "reopened", "dispatched"):
        assert act(client, auth, three_cases[0], "status", status=target).status_code == 200, target
    assert client.get(f"/api/cases/{three_cases[0]}", headers=auth["reviewer"]).json()["recurrence_count"] == 0
