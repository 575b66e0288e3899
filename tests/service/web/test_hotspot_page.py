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


def test_trend_and_focus(client: TestClient, web_users: dict[str, str], hotspot: int) -> None:
    logged_in(client, web_users["reviewer"])
    page = client.get(f"/hotspots/{hotspot}")
    assert page.status_code == 200
    assert trend(page.text) == {"2025-05-12": (1, 1), "2025-05-05": (1, 1), "2025-04-28": (1, 0)}
    assert len(re.findall(r'<rect class="in-focus"', page.text)) == 12
    assert "整治重点：自 2025-05-05 起" in page.text
    assert 'action="/hotspots/' not in page.text  # a reviewer reads the plan, no form
    assert f'href="/hotspots/{hotspot}"' in client.get("/hotspots").text


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
