"""The hotspot map editor: an admin draws a strict street's line and a market's polygon on the plain
map, the drawing is saved through the hotspot placement, and new sightings are tied to them."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.builders import Auth, obs, post, send
from tests.service.places import offset, polygon, square
from tests.service.web_client import logged_in

UNLOCATED = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "street",
            "geometry": None,
            "properties": {"name": "泽州路", "kind": "strict_street"},
        },
        {
            "type": "Feature",
            "id": "market",
            "geometry": None,
            "properties": {"name": "英雄公园周边", "kind": "road_market", "batch": 1},
        },
    ],
}


@pytest.fixture
def ids(client: TestClient, auth: Auth) -> dict[str, int]:
    result = post(client, auth["admin"], "/api/hotspots/import", UNLOCATED)
    return {h["key"]: h["id"] for h in result["hotspots"]}


def clicked(*metres: tuple[float, float]) -> list[list[float]]:
    """[lon, lat] of clicks on the editor's map at the places ``metres`` (north, east) from the test
    origin, as its script writes them (7 decimals)."""
    return [[round(lon, 7), round(lat, 7)] for lat, lon in (offset(north, east) for north, east in metres)]


def data(page: str, name: str) -> Any:
    """The JSON of the editor's ``data-NAME`` attribute."""
    found = re.search(rf'data-{name}="([^"]*)"', page)
    assert found, name
    return json.loads(html.unescape(found.group(1)))


def located(client: TestClient) -> dict[str, Any]:
    return {f["id"]: f["geometry"] for f in client.get("/api/hotspots").json()["features"]}


def test_admin_draws_a_line_and_a_polygon_and_sightings_are_tied_to_them(
    client: TestClient, auth: Auth, web_users: dict[str, str], ids: dict[str, int]
) -> None:
    token = logged_in(client, web_users["admin"])
    assert f'href="/hotspots/{ids["street"]}/edit"' in client.get("/hotspots").text
    origin = "lat={}&lon={}".format(*offset(0, 0))
    page = client.get(f"/hotspots/{ids['street']}/edit?{origin}")
    assert page.status_code == 200 and 'name="geometry"' in page.text
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert all(src.startswith("/static/") for src in scripts)  # no CDN: Leaflet and its plugin are ours
    assert any("vendor/leaflet/leaflet.js" in src for src in scripts)
    assert any("vendor/leaflet-geoman-free/" in src for src in scripts)
    for src in scripts + re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text):
        assert client.get(src).status_code == 200, src
    (south, west), (north, east) = data(page.text, "view")
    assert south < offset(0, 0)[0] < north and west < offset(0, 0)[1] < east
    assert data(page.text, "titles")["drawLineButton"] == "线（严管街）"
    assert client.get("/hotspots/999999/edit").status_code == 404
    street = {"type": "LineString", "coordinates": clicked((-300, 0), (300, 0))}
    form = {"geometry": json.dumps(street), "buffer_m": "15", "csrf_token": token}
    saved = client.post(f"/hotspots/{ids['street']}/geometry", data=form)
    assert saved.url.path == f"/hotspots/{ids['street']}/edit" and "热点位置已保存" in saved.text
    assert data(saved.text, "current") == located(client)["street"]  # to edit on

    page = client.get(f"/hotspots/{ids['market']}/edit?{origin}").text
    context = data(page, "context")["features"]  # the street drawn around the market, to draw by
    assert [(f["geometry"], f["properties"]["title"]) for f in context] == [
        (located(client)["street"], "泽州路 · 严管街")
    ]
    assert 'data-current=""' in page
    ring = clicked((100, 100), (100, 200), (200, 200), (200, 100))
    market = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    form = {"geometry": json.dumps(market), "csrf_token": token}
    assert client.post(f"/hotspots/{ids['market']}/geometry", data=form).status_code == 200
    assert located(client)["market"]["type"] == "Polygon"

    near_street, in_market = send(client, auth, [obs("1", north=50, east=10), obs("2", north=150, east=150)])["results"]
    street_case = client.get(f"/api/cases/{near_street['case_id']}", headers=auth["reviewer"]).json()
    assert street_case["hotspot_id"] == ids["street"] and street_case["hotspot_distance_m"] == 0.0  # within 15 m
    market_case = client.get(f"/api/cases/{in_market['case_id']}", headers=auth["reviewer"]).json()
    assert market_case["hotspot_id"] == ids["market"]


@pytest.mark.parametrize(
    ("key", "geometry", "reason"),
    [
        ("market", {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "Self-intersection"),
        ("street", {"type": "Point", "coordinates": [112.85, 35.49]}, "not a Point"),
        ("street", "{not json", "Expecting"),
    ],
)
def test_bad_drawings_are_refused_and_change_nothing(
    client: TestClient, web_users: dict[str, str], ids: dict[str, int], key: str, geometry: Any, reason: str
) -> None:
    token = logged_in(client, web_users["admin"])
    text = geometry if isinstance(geometry, str) else json.dumps(geometry)
    refused = client.post(f"/hotspots/{ids[key]}/geometry", data={"geometry": text, "csrf_token": token})
    assert refused.status_code == 422 and reason in refused.text
    assert located(client)[key] is None


def test_only_admins_edit_hotspots(client: TestClient, web_users: dict[str, str], ids: dict[str, int]) -> None:
    token = logged_in(client, web_users["reviewer"])
    assert client.get(f"/hotspots/{ids['street']}/edit").status_code == 403
    line = json.dumps({"type": "LineString", "coordinates": [[112.85, 35.49], [112.86, 35.49]]})
    refused = client.post(f"/hotspots/{ids['street']}/geometry", data={"geometry": line, "csrf_token": token})
    assert refused.status_code == 403
    assert 'class="edit"' not in client.get("/hotspots").text


def test_admin_sets_a_school_zones_hours_and_cases_follow_them(
    client: TestClient, auth: Auth, web_users: dict[str, str], ids: dict[str, int]
) -> None:
    school = {"type": "Feature", "id": "school", "geometry": polygon(square(0, 0, 30))}
    school["properties"] = {"name": "实验小学", "kind": "school_zone"}
    school_id = post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [school]})
    school_id = school_id["hotspots"][0]["id"]
    mid_morning = send(client, auth, [obs("1", observed_at="2025-05-12T02:00:00Z")])["results"][0]  # 10:00 local
    assert case_of(client, auth, mid_morning)["hotspot_id"] is None  # outside the default school-run hours
    token = logged_in(client, web_users["admin"])
    page = client.get(f"/hotspots/{school_id}/edit").text
    assert 'name="active_hours"' in page and 'value="07:00-08:30; 11:30-12:30; 16:30-18:00"' in page
    assert 'name="active_hours"' not in client.get(f"/hotspots/{ids['market']}/edit").text  # a market has none

    form = {"active_hours": "07:00-08:30；09:30-10:30, 16:30-18:00", "csrf_token": token}
    saved = client.post(f"/hotspots/{school_id}/hours", data=form)
    assert saved.url.path == f"/hotspots/{school_id}/edit" and "时段已保存" in saved.text
    assert hours(client, "school") == ["07:00-08:30", "09:30-10:30", "16:30-18:00"]
    assert case_of(client, auth, mid_morning)["hotspot_id"] == school_id  # the case around follows the new hours

    for hotspot, text, reason in [
        (school_id, "7:00-8:30", "expected HH:MM-HH:MM"),
        (ids["street"], "08:00-09:00", "only a"),
    ]:
        refused = client.post(f"/hotspots/{hotspot}/hours", data={"active_hours": text, "csrf_token": token})
        assert refused.status_code == 422 and reason in refused.text
    assert hours(client, "school") == ["07:00-08:30", "09:30-10:30", "16:30-18:00"]
    assert hours(client, "street") is None
    client.post(f"/hotspots/{school_id}/hours", data={"active_hours": " ", "csrf_token": token})
    assert hours(client, "school") is None  # empty: all day


def case_of(client: TestClient, auth: Auth, result: dict[str, Any]) -> dict[str, Any]:
    return dict(client.get(f"/api/cases/{result['case_id']}", headers=auth["reviewer"]).json())


def hours(client: TestClient, key: str) -> list[str] | None:
    features = client.get("/api/hotspots").json()["features"]
    return next(f["properties"]["active_hours"] for f in features if f["id"] == key)
