"""``GET /api/hotspots/{id}/coverage``: which patrol passes covered a hotspot, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from service.models.cameras import Camera
from service.patrols import record_pass
from tests.service.builders import Auth, post
from tests.service.places import drive, line, offset, point

T0 = datetime(2025, 5, 6, 1, 0, tzinfo=UTC)
CATALOG = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "market",
            "geometry": point(300, 10),
            "properties": {"name": "市场", "kind": "road_market", "batch": 1, "buffer_m": 15},
        },
        {
            "type": "Feature",
            "id": "street",
            "geometry": line((0, 500), (600, 500)),
            "properties": {"name": "街", "kind": "strict_street"},
        },
        {
            "type": "Feature",
            "id": "nowhere",
            "geometry": None,
            "properties": {"name": "未定位", "kind": "public_place"},
        },
    ],
}


def test_coverage_lists_the_passes_that_faced_the_hotspot(client: TestClient, engine: Engine, auth: Auth) -> None:
    ids = {h["key"]: h["id"] for h in post(client, auth["admin"], "/api/hotspots/import", CATALOG)["hotspots"]}
    with Session(engine) as session:
        record_pass(session, "video-1", drive(T0, (0, 0), (600, 0), mount="right"))  # 300 m north at 30 s
        record_pass(session, "video-2", drive(T0 + timedelta(days=2), (0, 0), (600, 0), mount="left"))
        record_pass(session, "video-3", drive(T0 + timedelta(days=3), (600, 0), (0, 0), mount="left"))  # southbound
        session.commit()
    url = f"/api/hotspots/{ids['market']}/coverage"
    body = client.get(url, headers=auth["reviewer"]).json()
    assert body["total"] == 2
    assert [(p["source"], p["covered_at"], p["mount"]) for p in body["passes"]] == [
        ("video-1", "2025-05-06T01:00:30Z", "right"),
        ("video-3", "2025-05-09T01:00:30Z", "left"),  # the market lay on its left: east, driving south
    ]
    since = client.get(url, params={"since": "2025-05-07T00:00:00+08:00"}, headers=auth["reviewer"]).json()
    assert [p["source"] for p in since["passes"]] == ["video-3"]
    assert since["since"] == "2025-05-06T16:00:00Z"
    limited = client.get(url, params={"limit": 1}, headers=auth["uploader"]).json()
    assert limited["total"] == 2 and len(limited["passes"]) == 1
    street = client.get(f"/api/hotspots/{ids['street']}/coverage", headers=auth["reviewer"]).json()
    assert street == {**street, "total": 0, "passes": [], "cameras": []}  # 500 m east of every drive


def market_camera(name: str, heading: float, **fields: Any) -> Camera:
    """A camera 20 m east of the market, registered at T0, its observations placed 20 m along ``heading``
    (270: on the market)."""
    lat, lon = offset(300, 30)
    return Camera(
        name=name, url="cam.mp4", lat=lat, lon=lon, heading_deg=heading, offset_m=20.0, created_at=T0, **fields
    )


def test_coverage_lists_the_live_cameras_facing_the_hotspot(client: TestClient, engine: Engine, auth: Auth) -> None:
    ids = {h["key"]: h["id"] for h in post(client, auth["admin"], "/api/hotspots/import", CATALOG)["hotspots"]}
    with Session(engine) as session:
        session.add_all(
            [
                market_camera("west", 270.0, schedule=["07:00-19:00"]),
                market_camera("off", 270.0, enabled=False, updated_at=T0 + timedelta(days=1)),
                market_camera("away", 90.0),
            ]
        )
        session.commit()
    url = f"/api/hotspots/{ids['market']}/coverage"
    body = client.get(url, params={"since": "2025-05-06T00:00:00Z"}, headers=auth["reviewer"]).json()
    assert [(c["name"], c["schedule"]) for c in body["cameras"]] == [("west", ["07:00-19:00"]), ("off", None)]
    later = client.get(url, params={"since": "2025-05-08T00:00:00Z"}, headers=auth["reviewer"]).json()
    assert [c["name"] for c in later["cameras"]] == ["west"]  # "off" was switched off the day before
    before = client.get(url, params={"until": "2025-05-05T00:00:00Z"}, headers=auth["reviewer"]).json()
    assert before["cameras"] == []  # none was registered yet


def test_coverage_refuses_what_it_cannot_answer(client: TestClient, auth: Auth) -> None:
    ids = {h["key"]: h["id"] for h in post(client, auth["admin"], "/api/hotspots/import", CATALOG)["hotspots"]}
    assert client.get(f"/api/hotspots/{ids['market']}/coverage").status_code == 401
    unlocated = client.get(f"/api/hotspots/{ids['nowhere']}/coverage", headers=auth["reviewer"])
    assert unlocated.status_code == 409 and "not located" in unlocated.json()["detail"]
    assert client.get("/api/hotspots/9999/coverage", headers=auth["reviewer"]).status_code == 404
    bad = client.get(f"/api/hotspots/{ids['market']}/coverage", params={"since": "yesterday"}, headers=auth["reviewer"])
    assert bad.status_code == 422
