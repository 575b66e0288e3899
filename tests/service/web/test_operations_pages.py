"""Operations pages: the dispatched cases with overdue ones marked, the admins' units page, and the
case page's audit trail naming the operations steps."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.service.api.test_operations import STREET, confirmed_case, units
from tests.service.builders import Auth, post
from tests.service.web_client import logged_in


def test_dispatched_cases_page_marks_overdue(
    client: TestClient, auth: Auth, web_users: dict[str, str], clock: Any
) -> None:
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [STREET]})
    vendor = confirmed_case(client, auth, "1")
    goods = confirmed_case(client, auth, "2", north=60, category="goods_spill")
    for case_id in (vendor, goods):
        post(client, auth["dispatcher"], f"/api/cases/{case_id}/dispatch", {})
    clock.advance(hours=3)  # past the vendor's 2 h, within the goods' 24 h

    logged_in(client, web_users["reviewer"])
    html = client.get("/operations").text
    assert html.index(f'data-case="{vendor}" class="overdue"') < html.index(f'data-case="{goods}">')
    assert "第一执法大队" in html and "已超期" in html and "处置中" in html
    only = client.get("/operations", params={"overdue": "true"}).text
    assert f'data-case="{vendor}"' in only and f'data-case="{goods}"' not in only
    other = units(client, auth)["brigade-2"]["id"]
    assert "没有待处置的案件" in client.get("/operations", params={"unit": other}).text
    page = client.get(f"/cases/{vendor}").text
    assert "<b>dispatcher-1</b> 派遣" in page
    assert '<dd id="case-unit" class="overdue">第一执法大队 · 处置期限 05-12 11:00 · 已超期</dd>' in page
    assert '<dd id="case-phase">3 · 巩固阶段成果，保证整治效果</dd>' in page  # seen 2025-05-12


def test_admins_add_units_and_members(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    token = logged_in(client, web_users["reviewer"])
    assert client.get("/admin/units").status_code == 403
    token = logged_in(client, web_users["admin"])
    page = client.get("/admin/units").text
    assert 'data-unit="brigade-1"' in page and "交警部门" in page

    added = client.post(
        "/admin/units", data={"key": "school-office", "name": "教育局", "kind": "department", "csrf_token": token}
    )
    assert added.status_code == 200 and 'data-unit="school-office"' in added.text
    again = client.post(
        "/admin/units", data={"key": "school-office", "name": "x", "kind": "department", "csrf_token": token}
    )
    assert again.status_code == 409
    unit = units(client, auth)["school-office"]
    reviewer_id = client.get("/api/users/me", headers=auth["reviewer"]).json()["id"]
    joined = client.post(
        f"/admin/units/{unit['id']}/members", data={"user_id": reviewer_id, "head": "true", "csrf_token": token}
    )
    assert joined.status_code == 200
    assert units(client, auth)["school-office"]["head_user_id"] == reviewer_id
    assert client.get("/api/users/me", headers=auth["reviewer"]).json()["unit_id"] == unit["id"]
    disabled = client.post(f"/admin/units/{unit['id']}/disable", data={"csrf_token": token})
    assert 'data-unit="school-office" class="disabled"' in disabled.text
    assert units(client, auth)["school-office"]["disabled"] is True
