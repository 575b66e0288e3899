"""Web pages rendered through the app: queue cards, paging, decisions, the case page and its
actions, the hotspot catalog and the two languages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.cases import TRANSITIONS
from service.models.cases import CaseStatus
from service.web.queries import PAGE_SIZE
from tests.service.builders import Auth, jpeg, obs, post, send, store_image
from tests.service.places import line, point
from tests.service.web_client import logged_in

CATALOG = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "market",
            "geometry": point(0, 12),
            "properties": {"name": "东街市场", "kind": "road_market", "batch": 1},
        },
        {
            "type": "Feature",
            "id": "street",
            "geometry": line((400, -300), (400, 300)),
            "properties": {"name": "泽州路", "kind": "strict_street"},
        },
        {
            "type": "Feature",
            "id": "later",
            "geometry": None,
            "properties": {"name": "待定市场", "kind": "road_market", "batch": 2},
        },
        {
            "type": "Feature",
            "id": "far",
            "geometry": point(3000, 3000),
            "properties": {"name": "远处广场", "kind": "public_place"},
        },
    ],
}


@pytest.fixture
def hotspot_ids(client: TestClient, auth: Auth) -> dict[str, int]:
    """The test catalog: key -> hotspot id."""
    result = post(client, auth["admin"], "/api/hotspots/import", CATALOG)
    return {h["key"]: h["id"] for h in result["hotspots"]}


def card_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="card[^"]*" tabindex="-1" data-id="(\d+)"', html)]


def next_cursor(html: str) -> str:
    return re.findall(r'class="page" data-next="([^"]*)"', html)[-1]


def api_case(client: TestClient, auth: Auth, case_id: int) -> dict[str, Any]:
    return client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()


def test_card_shows_the_evidence_at_a_glance(
    client: TestClient, auth: Auth, web_users: dict[str, str], hotspot_ids: dict[str, int]
) -> None:
    crop = store_image(client, auth, jpeg())
    results = send(
        client,
        auth,
        [
            obs("a", confidence=0.61, observed_at="2025-05-12T01:00:00Z", crop=crop),
            obs("b", north=2, confidence=0.93, observed_at="2025-05-12T02:30:00Z", crop=crop),
        ],
    )["results"]
    case_id = results[0]["case_id"]
    best = api_case(client, auth, case_id)["observations"][1]
    logged_in(client, web_users["reviewer"])
    html = client.get("/review").text
    card = html[html.index(f'data-id="{case_id}"') :]
    assert "流动摊贩/占道经营" in card and "置信度 93%" in card
    assert f'src="/evidence/{best["id"]}/crop"' in card  # the best crop
    assert "05-12 10:30" in card  # last seen, local time (UTC+8)
    assert "东街市场 · 12 m" in card and "2 次发现" in card
    assert 'class="keyframe' not in card  # no keyframe stored: the crop alone


def test_queue_pages_in_order_and_decisions_do_not_shift_pages(
    client: TestClient, auth: Auth, web_users: dict[str, str]
) -> None:
    n = PAGE_SIZE + 5
    items = [
        obs(
            str(i),
            north=60 * i,
            confidence=0.30 + 0.01 * ((i * 37) % n),
            observed_at=f"2025-05-{1 + i // 24:02d}T{i % 24:02d}:00:00Z",
        )
        for i in range(n)
    ]
    ids = [r["case_id"] for r in send(client, auth, items)["results"]]
    token = logged_in(client, web_users["reviewer"])

    first = client.get("/review").text
    assert card_ids(first) == ids[::-1][:PAGE_SIZE]  # newest first
    assert f'<span id="waiting" class="count">{n}</span>' in first
    decided = card_ids(first)[:3]
    client.post("/review/decide", json={"ids": decided, "decision": "reject"}, headers={"X-CSRF-Token": token})
    rest = client.get("/review/cards", params={"after": next_cursor(first)}).text
    assert card_ids(rest) == ids[::-1][PAGE_SIZE:] and next_cursor(rest) == ""

    by_confidence = sorted((items[i]["confidence"], ids[i]) for i in range(n) if ids[i] not in decided)
    page = client.get("/review", params={"order": "confidence"}).text
    more = client.get("/review/cards", params={"order": "confidence", "after": next_cursor(page)}).text
    assert card_ids(page) + card_ids(more) == [case_id for _, case_id in by_confidence]
    assert client.get("/review/cards", params={"after": "nonsense"}).status_code == 422

    vendors = client.get("/review", params={"category": "goods_spill"}).text
    assert card_ids(vendors) == []


def test_decisions_go_through_the_review_rules(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    a, b, c = (
        r["case_id"] for r in send(client, auth, [obs("1"), obs("2", north=100), obs("3", north=200)])["results"]
    )
    token = logged_in(client, web_users["reviewer"])
    headers = {"X-CSRF-Token": token}

    def decide(**body: Any) -> Any:
        response = client.post("/review/decide", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    answer = decide(ids=[a, b, 999999], decision="confirm")
    assert [(r["id"], r["status"], r["error"]) for r in answer["results"]] == [
        (a, "confirmed", None),
        (b, "confirmed", None),
        (999999, None, "没有该案件"),
    ]
    assert answer["waiting"] == 1
    again = decide(ids=[a, c], decision="reject")["results"]
    assert again[0]["status"] == "rejected" and again[1]["status"] == "rejected"  # confirmed -> rejected is allowed
    refused = decide(ids=[c], decision="confirm", category="parking")["results"][0]
    assert refused["error"] == "未知类别 parking"
    assert decide(ids=[b], decision="recategorize", category="outdoor_ad")["results"][0]["category"] == "outdoor_ad"
    closed = decide(ids=[b], decision="reject")  # confirmed may be rejected
    assert closed["results"][0]["error"] is None
    refused_again = decide(ids=[b], decision="reject")["results"][0]["error"]
    assert refused_again == "案件不能从“已驳回”变为“已驳回”（可变为：已确认）"
    bad = client.post("/review/decide", json={"ids": [a], "decision": "recategorize"}, headers=headers)
    assert bad.status_code == 422
    trail = api_case(client, auth, b)["events"]
    assert [(e["action"], e["user"]) for e in trail[1:]] == [
        ("review", web_users["reviewer"]),
        ("recategorize", web_users["reviewer"]),
        ("review", web_users["reviewer"]),
    ]


def test_case_page_timeline_actions_and_trail(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    crop = store_image(client, auth, jpeg())
    items = [obs("1", crop=crop), obs("2", north=3, observed_at="2025-05-12T03:00:00Z", crop=crop)]
    case_id = send(client, auth, items)["results"][0]["case_id"]
    token = logged_in(client, web_users["reviewer"])
    html = client.get(f"/cases/{case_id}").text
    assert html.count('class="crop zoom"') == 2 and "来源 video-1 · #2" in html
    buttons = re.findall(r'name="status" value="(\w+)"', html)
    assert buttons == [s.value for s in CaseStatus if s in TRANSITIONS[CaseStatus.new]]
    assert '<circle class="this-case cat0"' in html  # the map

    moved = client.post(
        f"/cases/{case_id}/status", data={"status": "confirmed", "note": "现场核实", "csrf_token": token}
    )
    assert moved.url.path == f"/cases/{case_id}" and "状态已更新" in moved.text
    assert "已确认" in moved.text and "现场核实" in moved.text and web_users["reviewer"] in moved.text
    refused = client.post(f"/cases/{case_id}/status", data={"status": "closed", "csrf_token": token})
    assert "当前状态不允许该操作" in refused.text
    assert api_case(client, auth, case_id)["status"] == "confirmed"
    assert client.get("/cases/999999").status_code == 404


def test_assign_to_a_hotspot_locates_an_unlocated_one(
    client: TestClient, auth: Auth, web_users: dict[str, str], hotspot_ids: dict[str, int]
) -> None:
    case_id = send(client, auth, [obs("1", north=-500, east=-500)])["results"][0]["case_id"]
    token = logged_in(client, web_users["admin"])

    def assign(key: str) -> str:
        data = {"hotspot_id": str(hotspot_ids[key]), "csrf_token": token}
        return client.post(f"/cases/{case_id}/hotspot", data=data).text

    assert "只有已确认且有定位的案件才能定位热点" in assign("later")  # a new case cannot place a hotspot
    assert (
        "热点已按本案件定位" not in assign("far")
        and api_case(client, auth, case_id)["hotspot_id"] == hotspot_ids["far"]
    )
    client.post(f"/cases/{case_id}/status", data={"status": "confirmed", "csrf_token": token})
    page = assign("later")
    assert "热点已按本案件定位" in page and "待定市场 · 0 m" in page
    case = api_case(client, auth, case_id)
    assert case["hotspot_id"] == hotspot_ids["later"] and case["events"][-1]["detail"]["to"] == hotspot_ids["later"]
    located = {f["id"]: f for f in client.get("/api/hotspots").json()["features"]}["later"]
    assert located["geometry"] == {"type": "Point", "coordinates": [case["lon"], case["lat"]]}
    assert "远处广场 → 待定市场" in page  # the audit trail names the hotspots


def test_hotspot_catalog_counts_filters_and_map(
    client: TestClient, auth: Auth, web_users: dict[str, str], hotspot_ids: dict[str, int]
) -> None:
    send(
        client,
        auth,
        [
            obs("1"),
            obs("2", north=5, category="goods_spill"),
            obs("3", north=395, east=50, category="lightbox_ad"),
            obs("4", north=-2000),
        ],
    )
    logged_in(client, web_users["reviewer"])
    html = client.get("/hotspots").text
    assert html.count("<tr data-key=") == 4 and html.count('class="unlocated"') == 1
    market = html[html.index('data-key="market"') :].split("</tr>")[0]
    # per category in the taxonomy's order (street vendor, goods, lightbox, outdoor ad, vending vehicle), then all
    assert re.findall(r'<td class="num">(\d*)</td>', market) == ["1", "1", "", "", "", "2"]
    assert "2025-05-12 09:00" in market  # last sighting, local time
    assert html.count('class="hs hs-strict_street hs-line"') == 1 and html.count('<circle class="case ') == 4

    batch_1 = client.get("/hotspots", params={"batch": "1"}).text
    assert re.findall(r'<tr data-key="(\w+)"', batch_1) == ["market"]
    assert batch_1.count('<circle class="case ') == 2  # only the cases at the listed hotspots
    streets = client.get("/hotspots", params={"kind": "strict_street", "category": "lightbox_ad"}).text
    assert re.findall(r'<tr data-key="(\w+)"', streets) == ["street"] and "占道灯箱广告" in streets
    ignored = client.get("/hotspots", params={"batch": "7", "kind": "moon", "category": "x"})
    assert ignored.status_code == 200 and ignored.text.count("<tr data-key=") == 4


def test_chinese_by_default_english_on_request(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    case_id = send(client, auth, [obs("1")])["results"][0]["case_id"]
    logged_in(client, web_users["reviewer"])
    assert "审核队列" in client.get("/review").text and "待审核" in client.get(f"/cases/{case_id}").text
    switched = client.get(f"/lang/en?next=/cases/{case_id}", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == f"/cases/{case_id}"
    page = client.get(f"/cases/{case_id}").text
    assert '<html lang="en">' in page and "street vendor / business on the road" in page and ">new<" in page
    assert "Review queue" in client.get("/review").text
    client.get("/lang/zh")
    assert "审核队列" in client.get("/review").text


def test_root_goes_to_the_queue(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/review"
