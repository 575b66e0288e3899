"""Hotspot catalog: GeoJSON import/export, bad geometries, locating, the shipped catalog on first start."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.app import create_app
from service.settings import Settings
from tests.service.builders import Auth, obs, post, send
from tests.service.places import line, offset, point, polygon, square
from vision import SAMPLES_DIR

CATALOG = SAMPLES_DIR / "jincheng-hotspots.geojson"
BATCH_1 = [
    "文昌街望川楼路段",
    "太行路百纺超市路段",
    "建设路建东巷口",
    "百灵街东段",
    "赵树理岗周边",
    "英雄公园周边",
    "金屯菜市场周边",
    "栖青园菜市场周边",
]
BATCH_2 = [
    "儿童公园周边路段",
    "前进路游园路段",
    "晋城二中对面路段",
    "龙度华府小区门前",
    "陈岭路新市医院东门路段",
    "职业技术学院南门路段",
    "新市街东街富士康路段",
    "新市街方正小区路段",
    "四中岗周边",
]


PLACE = "public_place"


def feature(key: str, geometry: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": key, "geometry": geometry, "properties": {"name": key, **props}}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def hotspots(client: TestClient) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in client.get("/api/hotspots").json()["features"]}


MIXED = collection(
    feature("market", point(0, 0), kind="road_market", batch=2, start_date="2024-12-01"),
    feature("street", line((50, -300), (50, 300)), kind="strict_street", buffer_m=15),
    feature("park", polygon(square(-200, 0, 40)), kind="public_place", note="游园"),
    feature("school", point(200, 0), kind="school_zone", buffer_m=30, active_hours=["07:00-08:30"]),
    feature("unknown", None, kind="road_market", batch=1),
)


def test_import_export_round_trip(client: TestClient, auth: Auth) -> None:
    result = post(client, auth["admin"], "/api/hotspots/import", MIXED)
    assert result["imported"] == 5
    exported = hotspots(client)
    assert exported["street"]["geometry"]["type"] == "LineString"
    assert exported["park"]["properties"]["note"] == "游园"
    assert exported["unknown"]["geometry"] is None and exported["unknown"]["properties"]["located"] is False
    assert exported["market"]["properties"]["start_date"] == "2024-12-01"
    assert exported["school"]["properties"]["active_hours"] == ["07:00-08:30"]
    post(client, auth["admin"], "/api/hotspots/import", client.get("/api/hotspots").json())
    assert hotspots(client) == exported


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (feature("x", {"type": "MultiPolygon", "coordinates": []}, kind=PLACE), "'MultiPolygon' not supported"),
        (feature("x", {"type": "MultiLineString", "coordinates": []}, kind="strict_street"), "not supported"),
        (feature("x", {"type": "GeometryCollection", "geometries": []}, kind="public_place"), "not supported"),
        (feature("x", {"type": "Point", "coordinates": [35.49, 112.85]}, kind="public_place"), "out of range"),
        (feature("x", {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, kind=PLACE), "at least 4"),
        (feature("x", point(0, 0), kind="strict_street"), "not a Point"),
        (feature("x", None, kind="road_market"), "batch 1 or 2"),
        (feature("x", None, kind="road_market", batch=3), "batch must be 1 or 2"),
        (feature("x", None, kind="stadium"), "kind"),
        (feature("x", None, kind="school_zone", active_hours=["7-8"]), "HH:MM-HH:MM"),
        (feature("x", None, kind="public_place", active_hours=["07:00-08:00"]), "or a vending_zone has active_hours"),
        (feature("x", point(0, 0), kind="vending_zone"), "buffer_m > 0"),
        ({"type": "Feature", "properties": {"name": "x", "kind": "public_place"}}, "'geometry' member"),
        ({"type": "Point", "coordinates": [0, 0]}, "not a GeoJSON Feature"),
    ],
)
def test_bad_feature_rejects_whole_import(client: TestClient, auth: Auth, bad: dict[str, Any], reason: str) -> None:
    good = feature("fine", point(0, 0), kind="public_place")
    response = client.post("/api/hotspots/import", json=collection(good, bad), headers=auth["admin"])
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "features", 1] and reason in error["msg"] and error["type"] == "value_error"
    assert hotspots(client) == {}


@pytest.mark.parametrize("body", [{"type": "Feature"}, {"type": "FeatureCollection"}, [], "x"])
def test_not_a_feature_collection(client: TestClient, auth: Auth, body: Any) -> None:
    assert client.post("/api/hotspots/import", json=body, headers=auth["admin"]).status_code == 422


def test_locate_by_coordinates_geojson_and_case(client: TestClient, auth: Auth) -> None:
    admin = auth["admin"]
    post(client, admin, "/api/hotspots/import", json.loads(CATALOG.read_text(encoding="utf-8")))
    ids = {k: f["properties"]["hotspot_id"] for k, f in hotspots(client).items()}
    vendor = send(client, auth, [obs("1", north=30)])["results"][0]["case_id"]
    assert client.get(f"/api/cases/{vendor}", headers=auth["reviewer"]).json()["hotspot_id"] is None

    lat, lon = offset(0, 0)
    post(client, admin, f"/api/hotspots/{ids['road-market-1-01']}/locate", {"lat": lat, "lon": lon})
    case = client.get(f"/api/cases/{vendor}", headers=auth["reviewer"]).json()
    assert case["hotspot_id"] == ids["road-market-1-01"] and case["hotspot_name"] == "文昌街望川楼路段"
    assert case["hotspot_distance_m"] == pytest.approx(30, abs=0.5)
    assert case["events"][-1]["action"] == "hotspot" and case["events"][-1]["user"] == "admin-1"

    street = ids["strict-street-fengtai-jie"]
    response = client.post(f"/api/hotspots/{street}/locate", json={"lat": lat, "lon": lon}, headers=admin)
    assert response.status_code == 422 and "LineString" in response.json()["detail"]
    body = {"geometry": line((20, -100), (20, 100)), "buffer_m": 8}
    located = post(client, admin, f"/api/hotspots/{street}/locate", body)
    assert located["properties"]["buffer_m"] == 8 and located["properties"]["located"]
    case = client.get(f"/api/cases/{vendor}", headers=auth["reviewer"]).json()
    assert case["hotspot_distance_m"] == pytest.approx(2, abs=0.5)

    market = ids["road-market-2-05"]
    response = client.post(f"/api/hotspots/{market}/locate", json={"case_id": vendor}, headers=admin)
    assert response.status_code == 409  # the case is not confirmed yet
    post(client, auth["reviewer"], f"/api/cases/{vendor}/review", {"decision": "confirm"})
    post(client, admin, f"/api/hotspots/{market}/locate", {"case_id": vendor})
    case = client.get(f"/api/cases/{vendor}", headers=auth["reviewer"]).json()
    assert (case["hotspot_id"], case["hotspot_distance_m"]) == (market, 0.0)

    moved = post(client, admin, f"/api/hotspots/{market}/locate", {"lat": offset(0, 900)[0], "lon": offset(0, 900)[1]})
    assert moved["geometry"]["type"] == "Point"
    assert client.get(f"/api/cases/{vendor}", headers=auth["reviewer"]).json()["hotspot_id"] == street


@pytest.mark.parametrize(
    "body",
    [{}, {"lat": 1.0}, {"lat": 1.0, "lon": 1.0, "case_id": 1}, {"lat": 95.0, "lon": 1.0}, {"geometry": {"type": "X"}}],
)
def test_bad_locate_requests(client: TestClient, auth: Auth, body: dict[str, Any]) -> None:
    post(client, auth["admin"], "/api/hotspots/import", MIXED)
    hid = hotspots(client)["park"]["properties"]["hotspot_id"]
    assert client.post(f"/api/hotspots/{hid}/locate", json=body, headers=auth["admin"]).status_code == 422
    missing = client.post("/api/hotspots/999999/locate", json={"lat": 1, "lon": 1}, headers=auth["admin"])
    assert missing.status_code == 404


def test_catalog_loaded_on_first_start_only(engine: Engine, database_url: str, tmp_path: Any, auth: Auth) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    assert settings.hotspot_catalog == CATALOG
    with TestClient(create_app(settings)) as client:
        features = list(hotspots(client).values())
        street = hotspots(client)["strict-street-zezhou-lu"]["properties"]["hotspot_id"]
        post(client, auth["admin"], f"/api/hotspots/{street}/locate", {"geometry": line((0, 0), (0, 100))})
    props = [f["properties"] for f in features]
    assert all(f["geometry"] is None for f in features)
    assert [p["name"] for p in props if p["kind"] == "strict_street"] == ["泽州路", "凤台街"]
    assert [(p["name"], p["start_date"]) for p in props if p["batch"] == 1] == [(n, "2024-07-15") for n in BATCH_1]
    assert [(p["name"], p["start_date"]) for p in props if p["batch"] == 2] == [(n, "2024-12-01") for n in BATCH_2]
    with TestClient(create_app(settings)) as client:
        again = hotspots(client)
    assert len(again) == 19 and again["strict-street-zezhou-lu"]["geometry"]["type"] == "LineString"


def test_reimport_updates_but_never_unlocates(client: TestClient, auth: Auth) -> None:
    located = feature("m", point(0, 0), kind="road_market", batch=1)
    post(client, auth["admin"], "/api/hotspots/import", collection(located))
    renamed = feature("m", None, kind="road_market", batch=2, name="新名")
    post(client, auth["admin"], "/api/hotspots/import", collection(renamed))
    (only,) = hotspots(client).values()
    assert only["geometry"] == point(0, 0) and only["properties"]["batch"] == 2 and only["properties"]["name"] == "新名"


def test_reimport_moving_a_hotspot_reassigns_cases(client: TestClient, auth: Auth) -> None:
    post(client, auth["admin"], "/api/hotspots/import", collection(feature("m", point(0, 0), kind=PLACE)))
    case_id = send(client, auth, [obs("1", north=10)])["results"][0]["case_id"]
    assert client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()["hotspot_name"] == "m"
    post(client, auth["admin"], "/api/hotspots/import", collection(feature("m", point(0, 1000), kind=PLACE)))
    assert client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()["hotspot_id"] is None
