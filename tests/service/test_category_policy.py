"""A category added to a copy of the taxonomy (one entry with its names, and a label reported as it) is
known to the whole service: ingest accepts it and merges its sightings within its own radius, its
vending-point exemption applies, the web view names it in both languages, the camera API takes it and
a fixed camera reports it after its own dwell."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from service.app import create_app
from service.db import make_engine, migrate
from service.models.base import row_id
from service.models.cameras import Camera
from service.models.cases import Case
from service.models.observations import ObservationRow
from service.settings import Settings
from service.workers.supervisor import Supervisor
from tests.polling import wait_until
from tests.service.builders import Auth, obs, post, send
from tests.service.conftest import Clock
from tests.service.places import polygon, square
from tests.service.web_client import logged_in
from vision import DEFAULT_TAXONOMY, Detections, Detects

ADDED = """  fruit_stand:
    zh: 水果摊
    en: fruit stand
    radius_m: 60
    dwell_s: 1.5
    exempt_in: [vending_zone]
"""


@pytest.fixture
def taxonomy(tmp_path: Path) -> Path:
    """The shipped taxonomy with ``fruit_stand`` added, and the detector's ``person`` reported as one."""
    text = DEFAULT_TAXONOMY.read_text(encoding="utf-8")
    text = text.replace("\ncategories:\n", "\ncategories:\n" + ADDED, 1).replace(
        "\nlabels:\n", "\nlabels:\n  person: fruit_stand\n", 1
    )
    assert "fruit_stand" in text and "person: fruit_stand" in text
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def client(engine: Engine, database_url: str, tmp_path: Path, taxonomy: Path, clock: Clock) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        hotspot_catalog=None,
        taxonomy_path=taxonomy,
        camera_supervisor=False,
    )
    with TestClient(create_app(settings, clock)) as test_client:
        yield test_client


def test_ingest_takes_the_added_category_with_its_radius_and_exemption(client: TestClient, auth: Auth) -> None:
    zone = {
        "type": "Feature",
        "id": "vz",
        "geometry": polygon(square(0, 0, 30)),
        "properties": {"name": "便民点", "kind": "vending_zone"},
    }
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [zone]})
    result = send(
        client,
        auth,
        [
            obs("1", north=200, category="fruit_stand"),
            obs("2", north=245, category="fruit_stand"),  # 45 m on: within a fruit stand's 60 m
            obs("3", north=200, east=300),
            obs("4", north=245, east=300),  # 45 m on: beyond a vendor's 25 m
            obs("5", category="fruit_stand"),  # in the vending point: exempt, as the entry says
            obs("6", category="goods_spill"),  # goods are not exempt there
            obs("7", category="kiosk"),  # in no taxonomy
        ],
    )["results"]
    assert [r["outcome"] for r in result] == [
        "created",
        "joined",
        "created",
        "created",
        "vending_zone",
        "created",
        None,
    ]
    assert result[0]["case_id"] == result[1]["case_id"] and result[4]["case_id"] is None
    assert "unknown category 'kiosk'" in result[6]["error"] and "fruit_stand" in result[6]["error"]
    case = client.get(f"/api/cases/{result[0]['case_id']}", headers=auth["reviewer"]).json()
    assert case["category"] == "fruit_stand" and len(case["observations"]) == 2


def test_a_school_zone_without_hours_takes_its_kinds_default(client: TestClient, auth: Auth) -> None:
    school = {
        "type": "Feature",
        "id": "school",
        "geometry": polygon(square(0, 0, 30)),
        "properties": {"name": "实验小学", "kind": "school_zone"},
    }
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [school]})
    stored = client.get("/api/hotspots").json()["features"][0]["properties"]
    assert stored["active_hours"] == ["07:00-08:30", "11:30-12:30", "16:30-18:00"]  # the plan file's default
    school_run, mid_morning = "2025-05-12T00:00:00Z", "2025-05-12T02:00:00Z"  # 08:00 and 10:00 in Jincheng
    result = send(client, auth, [obs("1", observed_at=school_run), obs("2", east=200, observed_at=mid_morning)])
    tied = client.get(f"/api/cases/{result['results'][0]['case_id']}", headers=auth["reviewer"]).json()
    assert tied["hotspot_name"] == "实验小学"
    school["geometry"] = polygon(square(0, 200, 30))
    school["id"] = school["properties"]["name"] = "second"
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [school]})
    untied = client.get(f"/api/cases/{result['results'][1]['case_id']}", headers=auth["reviewer"]).json()
    assert untied["hotspot_id"] is None  # last seen at 10:00, outside the school-run hours


def test_vending_outside_the_permitted_hours_is_a_violation(client: TestClient, auth: Auth) -> None:
    zone = {
        "type": "Feature",
        "id": "night-market",
        "geometry": polygon(square(0, 0, 30)),
        "properties": {"name": "夜市疏导点", "kind": "vending_zone", "active_hours": ["17:00-22:00"]},
    }
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [zone]})
    morning, evening = "2025-05-12T01:00:00Z", "2025-05-12T11:00:00Z"  # 09:00 and 19:00 in Jincheng
    result = send(
        client,
        auth,
        [
            obs("1", category="fruit_stand", observed_at=evening),
            obs("2", north=5, category="fruit_stand", observed_at=morning),
        ],
    )["results"]
    assert [r["outcome"] for r in result] == ["vending_zone", "created"]
    case = client.get(f"/api/cases/{result[1]['case_id']}", headers=auth["reviewer"]).json()
    assert case["category"] == "fruit_stand" and case["status"] == "new"


def test_web_view_and_camera_api_know_the_added_category(
    client: TestClient, auth: Auth, web_users: dict[str, str]
) -> None:
    case_id = send(client, auth, [obs("1", category="fruit_stand")])["results"][0]["case_id"]
    logged_in(client, web_users["reviewer"])
    assert "水果摊" in client.get(f"/cases/{case_id}").text
    client.get("/lang/en")
    assert "fruit stand" in client.get(f"/cases/{case_id}").text
    camera = {
        "name": "market gate",
        "url": "rtsp://127.0.0.1:1/none",
        "lat": 35.49,
        "lon": 112.85,
        "fps": 2,
        "dwell_s": {"fruit_stand": 30},
    }
    created = client.post("/api/cameras", json=camera, headers=auth["admin"])
    assert created.status_code == 201, created.text
    assert created.json()["dwell_s"] == {"fruit_stand": 30}


def standing_person() -> Detects:
    """A detector that sees one person standing at the same place in every frame."""

    class Detector:
        def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
            return [Detections([[40, 20, 80, 110]], [0.9], [0], names={0: "person"}) for _ in images]

    return Detector()


def stored(engine: Engine) -> list[ObservationRow]:
    with Session(engine) as session:
        return list(session.exec(select(ObservationRow)))


def test_a_camera_reports_the_added_category_after_its_own_dwell(tmp_path: Path, taxonomy: Path, clip: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cameras.db'}")
    migrate(engine)
    settings = Settings(database_url=str(engine.url), data_dir=tmp_path, hotspot_catalog=None, taxonomy_path=taxonomy)
    with Session(engine, expire_on_commit=False) as session:
        camera = Camera(name="gate", lat=35.49, lon=112.85, fps=5.0, url=str(clip))
        session.add(camera)
        session.commit()
    supervisor = Supervisor(engine, settings, load_detector=standing_person)
    try:
        supervisor.start()
        assert supervisor.workers[row_id(camera)].watch.dwell.rules.dwell_for("fruit_stand") == 1.5  # no override
        wait_until(lambda: len(stored(engine)) == 1, 30)
    finally:
        supervisor.stop()
    (found,) = stored(engine)
    with Session(engine) as session:
        assert session.get(Case, found.case_id).category == found.category == "fruit_stand"
    assert found.t_last >= 1.5  # reported once it had stayed its dwell, not before
    engine.dispose()
