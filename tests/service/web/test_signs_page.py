"""The sign register pages: search, the entry with its sightings by date, approve, violation, merge, split."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.service.api.test_signs import DAY1, sign
from tests.service.builders import Auth, jpeg, post, send, store_image
from tests.service.web_client import logged_in


def sign_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-sign="(\d+)">', html)]


def test_register_search_entry_and_edits(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    key = store_image(client, auth, jpeg(70))
    send(client, auth, [sign("a0", 0, 0, "BISTRO", crop=key), sign("c0", 10, 2, "ПАРФЮМ")], source="day-1.mp4")
    later = DAY1 + timedelta(days=1)
    send(client, auth, [sign("a1", 2, 1, "ZZYZX", at=later)], source="day-2.mp4")  # misread: an entry of its own
    csrf = logged_in(client, web_users["reviewer"])

    page = client.get("/signs").text
    assert "户外广告台账" in page and "店招" in page and len(sign_ids(page)) == 3
    [bistro] = sign_ids(client.get("/signs", params={"q": "bistro"}).text)
    assert sign_ids(client.get("/signs", params={"since": "2025-05-13"}).text) != [bistro]
    assert sign_ids(client.get("/signs", params={"status": "approved"}).text) == []
    assert client.get(f"/signs/{bistro}/crop").content == jpeg(70)

    entry = client.get(f"/signs/{bistro}").text
    assert "BISTRO" in entry and "待核实" in entry and "2025-05-12" in entry and "day-1.mp4" in entry
    refused = client.post(f"/signs/{bistro}/status", data={"status": "approved", "csrf_token": csrf})
    assert "审批需填写审批编号" in refused.text
    form = {"status": "approved", "permit_number": "JC-2025-001", "permit_expiry": "2026-05-01", "csrf_token": csrf}
    approved = client.post(f"/signs/{bistro}/status", data=form).text
    assert "已审批" in approved and "JC-2025-001" in approved
    assert sign_ids(client.get("/signs", params={"status": "approved"}).text) == [bistro]

    [misread] = sign_ids(client.get("/signs", params={"q": "zzyzx"}).text)
    merged = client.post(f"/signs/{misread}/merge", data={"into": bistro, "csrf_token": csrf})
    assert merged.url.path == f"/signs/{bistro}" and "已合并" in merged.text
    assert "2025-05-13" in merged.text and len(sign_ids(client.get("/signs").text)) == 2
    day2 = re.findall(r'<li data-observation="(\d+)">', merged.text)[-1]
    split = client.post(f"/signs/{bistro}/split", data={"observation_ids": [day2], "csrf_token": csrf})
    assert "已拆分为新条目" in split.text and split.url.path != f"/signs/{bistro}"
    assert len(sign_ids(client.get("/signs").text)) == 3

    violation = client.post(f"/signs/{bistro}/status", data={"status": "violation", "csrf_token": csrf}).text
    assert "违规" in violation
    assert client.post(f"/signs/{bistro}/status", data={"status": "violation"}).status_code == 403


def test_register_needs_a_login(client: TestClient) -> None:
    response = client.get("/signs", follow_redirects=False)
    assert response.status_code in (303, 307) and "/login" in response.headers["location"]


def test_register_pages_through_the_entries_keeping_the_filters(
    client: TestClient, auth: Auth, web_users: dict[str, str]
) -> None:
    send(client, auth, [sign(f"s{i}", 100.0 * i, i % 4, f"SHOP {i}") for i in range(5)], source="day-1.mp4")
    send(client, auth, [sign("k0", 900.0, 0, "KIOSK", label="projecting_sign")], source="day-1.mp4")
    logged_in(client, web_users["reviewer"])

    first = client.get("/signs", params={"q": "shop", "limit": 2}).text
    assert len(sign_ids(first)) == 2 and "第 1–2 条，共 5 条" in first and 'rel="prev"' not in first
    seen = sign_ids(first)
    page = first
    while 'rel="next"' in page:
        [link] = re.findall(r'<a rel="next" href="([^"]+)"', page)
        assert "q=shop" in link and "limit=2" in link
        page = client.get(link.replace("&amp;", "&")).text
        seen += sign_ids(page)
    assert "第 5–5 条，共 5 条" in page and 'rel="prev"' in page
    assert len(seen) == len(set(seen)) == 5  # every entry once, no other
    assert sign_ids(client.get("/signs", params={"q": "shop", "offset": 5}).text) == []
    assert client.get("/signs", params={"offset": -1}).status_code == 422


def test_register_shows_the_side_of_the_street(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    body = {"source": "day-1.mp4", "observations": [sign("a0", 0, 0, "BISTRO")], "mount": "right"}
    post(client, auth["uploader"], "/api/observations", body)
    send(client, auth, [sign("b0", 100, 1, "KIOSK")], source="day-2.mp4")
    logged_in(client, web_users["reviewer"])
    row = r'<td class="sign-text"><a href="/signs/\d+">([^<]+)</a>.*?<td class="facade">([^<]+)</td>'
    rows = dict(re.findall(row, client.get("/signs").text, re.S))
    assert rows == {"BISTRO": "行进方向右侧", "KIOSK": "—"}
    [bistro] = sign_ids(client.get("/signs", params={"q": "bistro"}).text)
    assert "行进方向右侧" in client.get(f"/signs/{bistro}").text
    client.cookies.set("lang", "en")
    assert "right of travel" in client.get(f"/signs/{bistro}").text
