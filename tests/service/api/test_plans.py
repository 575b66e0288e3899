"""一点一策 over the API: a hotspot's plan read and replaced whole (admins), milestones kept by date and
flagged late by the local calendar, and every bad plan a 4xx that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.api.test_hotspots import collection, feature
from tests.service.builders import Auth, post
from tests.service.places import point


@pytest.fixture
def hotspot(client: TestClient, auth: Auth) -> int:
    market = feature("market", point(0, 0), kind="road_market", batch=1)
    result = post(client, auth["admin"], "/api/hotspots/import", collection(market))
    return int(result["hotspots"][0]["id"])


def units(client: TestClient, auth: Auth) -> dict[str, int]:
    return {u["key"]: u["id"] for u in client.get("/api/units", headers=auth["admin"]).json()}


def plan(client: TestClient, auth: Auth, hotspot: int) -> dict[str, Any]:
    response = client.get(f"/api/hotspots/{hotspot}/plan", headers=auth["reviewer"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_plan_is_written_read_and_replaced(client: TestClient, auth: Auth, hotspot: int) -> None:
    empty = plan(client, auth, hotspot)
    assert empty == {
        "hotspot_id": hotspot,
        "measures": [],
        "unit_id": None,
        "unit_name": None,
        "milestones": [],
        "updated_at": None,
        "updated_by": None,
    }
    brigade = units(client, auth)["brigade-1"]
    body = {
        "measures": ["早晚高峰错时执法", "设置临时疏导点"],
        "unit_id": brigade,
        "milestones": [
            {"title": "疏导点启用", "due": "2025-06-30"},
            {"title": "摸底排查", "due": "2025-05-01", "state": "done"},
            {"title": "商户告知", "due": "2025-05-10", "state": "in_progress"},
        ],
    }
    response = client.put(f"/api/hotspots/{hotspot}/plan", json=body, headers=auth["admin"])
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved == plan(client, auth, hotspot)
    assert saved["unit_name"] == "第一执法大队" and saved["updated_by"] == "admin-1"
    assert saved["measures"] == body["measures"]
    # by date; the clock's local date is 2025-05-12: the unfinished step of 05-10 is late, the done one is not
    assert [(m["due"], m["state"], m["late"]) for m in saved["milestones"]] == [
        ("2025-05-01", "done", False),
        ("2025-05-10", "in_progress", True),
        ("2025-06-30", "planned", False),
    ]
    replaced = {"measures": ["常态化巡查"], "unit_id": None, "milestones": []}
    assert client.put(f"/api/hotspots/{hotspot}/plan", json=replaced, headers=auth["admin"]).status_code == 200
    again = plan(client, auth, hotspot)
    assert (again["measures"], again["unit_id"], again["milestones"]) == (["常态化巡查"], None, [])


GOOD: dict[str, Any] = {"measures": ["劝导"], "milestones": [{"title": "告知", "due": "2025-06-01"}]}


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"unit_id": 99999}, 422, "no such unit"),
        ({"unit_id": "disabled"}, 422, "is disabled"),
        ({"unit_id": 0}, 422, "greater than or equal to 1"),
        ({"measures": [""]}, 422, "at least 1 character"),
        ({"measures": ["x" * 501]}, 422, "at most 500"),
        ({"measures": ["劝导"] * 51}, 422, "at most 50"),
        ({"milestones": [{"title": "告知", "due": "2025-13-01"}]}, 422, "date"),
        ({"milestones": [{"title": "告知"}]}, 422, "Field required"),
        ({"milestones": [{"title": "", "due": "2025-06-01"}]}, 422, "at least 1 character"),
        ({"milestones": [{"title": "告知", "due": "2025-06-01", "state": "finished"}]}, 422, "planned"),
        ({"measures": "劝导"}, 422, "list"),
    ],
)
def test_bad_plans_change_nothing(
    client: TestClient, auth: Auth, hotspot: int, change: dict[str, Any], status: int, reason: str
) -> None:
    admin = auth["admin"]
    assert client.put(f"/api/hotspots/{hotspot}/plan", json=GOOD, headers=admin).status_code == 200
    before = plan(client, auth, hotspot)
    if change.get("unit_id") == "disabled":
        unit = units(client, auth)["brigade-2"]
        assert client.patch(f"/api/units/{unit}", json={"disabled": True}, headers=admin).status_code == 200
        change = {"unit_id": unit}
    response = client.put(f"/api/hotspots/{hotspot}/plan", json={**GOOD, **change}, headers=admin)
    assert response.status_code == status
    assert reason in str(response.json()["detail"])
    assert plan(client, auth, hotspot) == before


def test_who_may_read_and_write(client: TestClient, auth: Auth, hotspot: int) -> None:
    path = f"/api/hotspots/{hotspot}/plan"
    assert client.get(path).status_code == 401
    assert client.put(path, json=GOOD, headers=auth["reviewer"]).status_code == 403
    assert client.put(path, json=GOOD, headers=auth["dispatcher"]).status_code == 403
    assert client.get("/api/hotspots/99999/plan", headers=auth["reviewer"]).status_code == 404
    assert client.put("/api/hotspots/99999/plan", json=GOOD, headers=auth["admin"]).status_code == 404
    assert plan(client, auth, hotspot)["updated_at"] is None


def test_plan_is_in_the_openapi_schema(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = schema["paths"]["/api/hotspots/{hotspot_id}/plan"]
    assert set(operations) == {"get", "put"}
    assert operations["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("PlanRequest")
    for code in ("404", "422"):
        assert code in operations["put"]["responses"]
    states = schema["components"]["schemas"]["MilestoneState"]["enum"]
    assert states == ["planned", "in_progress", "done", "dropped"]
