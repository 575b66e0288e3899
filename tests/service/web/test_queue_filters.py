"""The queue's filters (category, hotspot, source, status, local date range) in the URL, and counts that
follow them after a decision; the case page's next case."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.service.builders import Auth, obs, post, send
from tests.service.places import point
from tests.service.web.test_pages import card_ids
from tests.service.web_client import logged_in


def waiting(html: str) -> int:
    return int(re.findall(r'<span id="waiting" class="count">(\d+)</span>', html)[0])


def test_filters_narrow_the_queue_and_its_count(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    catalog = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "m",
                "geometry": point(0, 10),
                "properties": {"name": "东街市场", "kind": "road_market", "batch": 1},
            }
        ],
    }
    market = post(client, auth["admin"], "/api/hotspots/import", catalog)["hotspots"][0]["id"]
    day1, day2 = "2025-05-10T02:00:00Z", "2025-05-11T02:00:00Z"  # 10:00 local (UTC+8)
    ads = [obs(f"ad{i}", north=400 * i, category="lightbox_ad", observed_at=day1) for i in range(1, 4)]
    near_market = [obs("v", observed_at=day2)]
    send(client, auth, ads, source="patrol-a")
    vendor = send(client, auth, near_market, source="patrol-b")["results"][0]["case_id"]
    ad_ids = [
        c["id"]
        for c in client.get("/api/cases", params={"category": "lightbox_ad"}, headers=auth["reviewer"]).json()["items"]
    ]
    token = logged_in(client, web_users["reviewer"])

    assert waiting(client.get("/review").text) == 4
    page = client.get("/review", params={"category": "lightbox_ad"}).text
    assert waiting(page) == 3 and sorted(card_ids(page)) == sorted(ad_ids)
    assert 'data-query="category=lightbox_ad"' in page
    assert card_ids(client.get("/review", params={"hotspot": market}).text) == [vendor]
    assert card_ids(client.get("/review", params={"source": "patrol-b"}).text) == [vendor]
    assert sorted(card_ids(client.get("/review", params={"from": "2025-05-10", "to": "2025-05-10"}).text)) == sorted(
        ad_ids
    )
    assert card_ids(client.get("/review", params={"from": "2025-05-11"}).text) == [vendor]
    assert client.get("/review", params={"from": "yesterday"}).status_code == 422
    assert client.get("/review", params={"category": "", "hotspot": "", "status": ""}).status_code == 200

    headers = {"X-CSRF-Token": token}
    answer = client.post(
        "/review/decide?category=lightbox_ad", json={"ids": [ad_ids[0]], "decision": "confirm"}, headers=headers
    ).json()
    assert answer["waiting"] == 2  # the filtered queue, not the 3 left in all
    confirmed = client.get("/review", params={"status": "confirmed"}).text
    assert card_ids(confirmed) == [ad_ids[0]] and waiting(confirmed) == 1
    undone = client.post(
        "/review/undo?category=lightbox_ad",
        json={"id": ad_ids[0], "version": answer["results"][0]["version"]},
        headers=headers,
    ).json()
    assert undone["waiting"] == 3
    more = client.get("/review/cards", params={"after": f"2025-05-10T02:00:00+00:00~{ad_ids[0]}", "source": "patrol-b"})
    assert card_ids(more.text) == []


def test_the_case_page_links_the_next_case_of_the_queue(
    client: TestClient, auth: Auth, web_users: dict[str, str]
) -> None:
    older, newer = (
        r["case_id"]
        for r in send(
            client,
            auth,
            [obs("1", observed_at="2025-05-12T01:00:00Z"), obs("2", north=100, observed_at="2025-05-12T02:00:00Z")],
        )["results"]
    )
    logged_in(client, web_users["reviewer"])
    assert f'href="/cases/{older}" id="next-case"' in client.get(f"/cases/{newer}").text
    assert 'id="next-case"' not in client.get(f"/cases/{older}").text
