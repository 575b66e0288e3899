"""One hotspot's page: whether it is in focus, its cases by week (those before its focus start apart)
and its 一点一策 plan, which an admin edits there and nobody else may."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.service.api.test_hotspots import collection, feature
from tests.service.builders import Auth, obs, post, send
from tests.service.places import polygon, square
from tests.service.web_client import logged_in

MARKET = feature(
    "market", polygon(square(0, 0, 80)), kind="road_market", batch=2, start_date="2025-05-05", name="东街市场"
)


@pytest.fixture
def hotspot(client: TestClient, auth: Auth) -> int:
    hotspot_id = int(post(client, auth["admin"], "/api/hotspots/import", collection(MARKET))["hotspots"][0]["id"])
    sightings = [
        obs("1", north=-60, observed_at="2025-04-29T02:00:00Z"),  # the week of 04-28, before the focus start
        obs("2", north=0, observed_at="2025-05-06T02:00:00Z"),
        obs("3", north=60, observed_at="2025-05-12T00:30:00Z"),
    ]
    results = send(client, auth, sightings)["results"]
    assert len({r["case_id"] for r in results}) == 3
    return hotspot_id


def trend(page: str) -> dict[str, tuple[int, int]]:
    rows = re.findall(r'<td>(\d{4}-\d\d-\d\d)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>', page)
    return {week: (int(n), int(focused)) for week, n, focused in rows if n != "0"}


def test_trend_and_focus_from_the_batch_start(
    client: TestClient, auth: Auth, web_users: dict[str, str], hotspot: int
) -> None:
    logged_in(client, web_users["reviewer"])
    page = client.get(f"/hotspots/{hotspot}")
    assert page.status_code == 200
    # batch 2 of the shipped calendar starts 2024-12-01: every case is in focus
    assert trend(page.text) == {"2025-05-12": (1, 1), "2025-05-05": (1, 1), "2025-04-28": (1, 1)}
    assert "整治重点：自 2024-12-01 起" in page.text
    assert len(re.findall(r'<rect class="in-focus"', page.text)) == 12
    assert 'action="/hotspots/' not in page.text  # a reviewer reads the plan, no form
    assert f'href="/hotspots/{hotspot}"' in client.get("/hotspots").text

    calendar = client.get("/api/phases", headers=auth["reviewer"]).json()
    moved = {
        "phases": calendar["items"],
        "batches": [{"number": 1, "start": "2024-07-15"}, {"number": 2, "start": "2025-05-05"}],
    }
    assert client.put("/api/phases", json=moved, headers=auth["admin"]).status_code == 200
    page = client.get(f"/hotspots/{hotspot}")
    assert trend(page.text) == {"2025-05-12": (1, 1), "2025-05-05": (1, 1), "2025-04-28": (1, 0)}
    assert "整治重点：自 2025-05-05 起" in page.text
    market = client.get("/api/hotspots").json()["features"][0]["properties"]
    assert market["start_date"] == "2025-05-05"  # the batch's markets follow its start

    later = {**moved, "batches": [{"number": 2, "start": "2025-06-01"}]}
    assert client.put("/api/phases", json=later, headers=auth["admin"]).status_code == 200
    page = client.get(f"/hotspots/{hotspot}")
    assert "整治重点：2025-06-01 起（尚未开始）" in page.text
    assert {n for n, focused in trend(page.text).values() if focused} == set()


def test_admin_edits_the_plan_on_the_page(
    client: TestClient, auth: Auth, web_users: dict[str, str], hotspot: int
) -> None:
    token = logged_in(client, web_users["admin"])
    unit = client.get("/api/units", headers=auth["admin"]).json()[0]
    form = {
        "csrf_token": token,
        "measures": "错时执法\n\n  设置疏导点  \n",
        "unit_id": str(unit["id"]),
        "due": ["2025-05-01", "", "2025-07-01"],
        "title": ["摸底", "", "验收"],
        "state": ["planned", "planned", "planned"],
    }
    saved = client.post(f"/hotspots/{hotspot}/plan", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/hotspots/{hotspot}?notice=plan_saved"
    page = html.unescape(client.get(saved.headers["location"]).text)
    assert "一点一策已保存" in page and f"责任单位: {unit['name']}" in page
    assert "<li>错时执法</li>" in page and "<li>设置疏导点</li>" in page
    assert re.search(r'<tr class="late"><td>2025-05-01</td><td>摸底</td><td>计划中 · 已逾期</td>', page)
    plan = client.get(f"/api/hotspots/{hotspot}/plan", headers=auth["reviewer"]).json()
    assert [m["title"] for m in plan["milestones"]] == ["摸底", "验收"]

    bad = client.post(f"/hotspots/{hotspot}/plan", data={**form, "due": ["", "", "2025-07-01"]})
    assert bad.status_code == 422 and "每个节点须有日期" in bad.text
    assert client.get(f"/api/hotspots/{hotspot}/plan", headers=auth["reviewer"]).json() == plan

    client.cookies.set("lang", "en")
    assert "Cases by week" in client.get(f"/hotspots/{hotspot}").text
    token = logged_in(client, web_users["reviewer"])
    refused = client.post(f"/hotspots/{hotspot}/plan", data={**form, "csrf_token": token, "measures": "x"})
    assert refused.status_code == 403
    assert client.get(f"/api/hotspots/{hotspot}/plan", headers=auth["reviewer"]).json() == plan
    assert client.get("/hotspots/99999").status_code == 404


def test_a_vending_points_hours_are_shown(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    zone = feature("vz", polygon(square(0, 500, 20)), kind="vending_zone", active_hours=["17:00-22:00"], name="夜市")
    hotspot = post(client, auth["admin"], "/api/hotspots/import", collection(zone))["hotspots"][0]["id"]
    logged_in(client, web_users["reviewer"])
    assert "允许经营时段（其余时段在此经营即为违规）: 17:00-22:00" in client.get(f"/hotspots/{hotspot}").text


def test_admin_edits_the_calendar_page(client: TestClient, auth: Auth, web_users: dict[str, str], hotspot: int) -> None:
    token = logged_in(client, web_users["admin"])
    page = client.get("/admin/calendar")
    assert page.status_code == 200 and 'value="聚焦当前重点，实施严管严查"' in page.text
    assert 'name="batch_start" value="2024-12-01"' in page.text
    form = {
        "csrf_token": token,
        "name": ["第一阶段", "第二阶段", ""],
        "name_en": ["One", "Two", ""],
        "start": ["2025-01-01", "2025-03-01", ""],
        "end": ["2025-02-28", "2025-06-30", ""],
        "batch_start": ["2025-01-01", "2025-05-05"],
    }
    case_id = client.get("/api/cases", headers=auth["reviewer"]).json()["items"][0]["id"]
    assert client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()["phase"] == 3  # shipped calendar
    saved = client.post("/admin/calendar", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert "整治阶段与批次已保存" in client.get(saved.headers["location"]).text
    answer = client.get("/api/phases", params={"on": "2025-05-12"}, headers=auth["reviewer"]).json()
    assert [(p["number"], p["name"], p["end"]) for p in answer["items"]] == [
        (1, "第一阶段", "2025-02-28"),
        (2, "第二阶段", "2025-06-30"),
    ]
    assert answer["phase"] == 2 and answer["batches"][1] == {"number": 2, "start": "2025-05-05"}
    assert "整治重点：自 2025-05-05 起" in client.get(f"/hotspots/{hotspot}").text
    assert "第二阶段" in client.get(f"/cases/{case_id}").text  # a case carries the phase it falls in
    assert client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()["phase"] == 2

    overlapping = {**form, "start": ["2025-01-01", "2025-02-01", ""]}
    refused = client.post("/admin/calendar", data=overlapping)
    assert refused.status_code == 422 and "互不重叠" in refused.text
    assert client.get("/api/phases", params={"on": "2025-05-12"}, headers=auth["reviewer"]).json() == answer
    token = logged_in(client, web_users["reviewer"])
    assert client.get("/admin/calendar").status_code == 403
    assert client.post("/admin/calendar", data={**form, "csrf_token": token}).status_code == 403
