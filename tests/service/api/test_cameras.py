"""/api/cameras: the registry (admins only), validation, run-time start/stop/edit and the status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.app import create_app
from service.settings import Settings
from tests.polling import wait_until
from tests.service.builders import Auth
from tests.service.conftest import Clock


def camera(**fields: Any) -> dict[str, Any]:
    body = {"name": "gate-1", "url": "rtsp://127.0.0.1:9/none", "lat": 30.0, "lon": 120.0, "heading_deg": 90.0}
    return {**body, "fps": 2, **fields}


def create(client: TestClient, auth: Auth, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/cameras", json=camera(**fields), headers=auth["admin"])
    assert response.status_code == 201, response.text
    return response.json()


def wait_for(
    client: TestClient, auth: Auth, camera_id: int, check: Callable[[dict[str, Any]], bool], timeout: float = 20.0
) -> dict[str, Any]:
    """Poll GET /api/cameras/{id} until ``check(body)`` holds; the body."""
    body: dict[str, Any] = {}

    def reached() -> bool:
        body.update(client.get(f"/api/cameras/{camera_id}", headers=auth["admin"]).json())
        return check(body)

    wait_until(reached, timeout, f"camera {camera_id} state")
    return body


def test_only_admins_manage_cameras(client: TestClient, auth: Auth) -> None:
    assert client.get("/api/cameras").status_code == 401
    for role in ("uploader", "reviewer"):
        assert client.get("/api/cameras", headers=auth[role]).status_code == 403
        assert client.post("/api/cameras", json=camera(), headers=auth[role]).status_code == 403


def test_register_read_list_and_delete(client: TestClient, auth: Auth, tmp_path: Path) -> None:
    made = create(client, auth, url=str(tmp_path / "missing.mp4"), schedule=None)
    assert made["name"] == "gate-1" and made["fps"] == 2 and made["transport"] == "auto" and made["enabled"]
    assert made["status"] in ("connecting", "reconnecting") and made["frames"] == 0
    got = client.get(f"/api/cameras/{made['id']}", headers=auth["admin"]).json()
    assert {k: got[k] for k in ("id", "name", "url", "lat", "lon", "heading_deg")} == {
        k: made[k] for k in ("id", "name", "url", "lat", "lon", "heading_deg")
    }
    listing = client.get("/api/cameras", headers=auth["admin"]).json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == made["id"]
    assert client.delete(f"/api/cameras/{made['id']}", headers=auth["admin"]).status_code == 204
    assert client.get(f"/api/cameras/{made['id']}", headers=auth["admin"]).status_code == 404
    assert client.delete(f"/api/cameras/{made['id']}", headers=auth["admin"]).status_code == 404


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"colour": "red"}, "Extra inputs are not permitted"),
        ({"url": "ftp://cam/1"}, "unsupported stream scheme"),
        ({"lat": 95}, "lat"),
        ({"fps": 0}, "fps"),
        ({"heading_deg": 360}, "heading_deg"),
        ({"transport": "quic"}, "transport"),
        ({"schedule": ["7:00-9:00"]}, "expected HH:MM-HH:MM"),
        ({"regions": [[[0, 0], [10, 0]]]}, "3 to 100"),
        ({"ignore_regions": [[[0, 0], [10, 0], [-1, 5]]]}, ">= 0"),
        ({"dwell_s": {"street_vendor": -1}}, "greater than or equal to 0"),
        ({"dwell_s": {"parking": 10}}, "unknown category 'parking'"),
    ],
)
def test_bad_camera_is_422(client: TestClient, auth: Auth, fields: dict[str, Any], reason: str) -> None:
    response = client.post("/api/cameras", json=camera(**fields), headers=auth["admin"])
    assert response.status_code == 422 and reason in response.text


def test_names_are_unique(client: TestClient, auth: Auth) -> None:
    create(client, auth, enabled=False)
    assert client.post("/api/cameras", json=camera(enabled=False), headers=auth["admin"]).status_code == 409


def test_patch_edits_and_stops_at_run_time(client: TestClient, auth: Auth, tmp_path: Path) -> None:
    made = create(client, auth, url=str(tmp_path / "missing.mp4"), schedule=["07:00-09:00"])
    path = f"/api/cameras/{made['id']}"
    edit = {"fps": 1, "schedule": None, "regions": [[[0, 0], [9, 0], [9, 9]]]}
    changed = client.patch(path, json=edit, headers=auth["admin"])
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["fps"] == 1 and body["schedule"] is None and body["regions"] == [[[0, 0], [9, 0], [9, 9]]]
    assert body["name"] == "gate-1"  # untouched
    for bad in ({"fps": None}, {"name": None}, {"id": 5}, {"dwell_s": {"parking": 1}}):
        assert client.patch(path, json=bad, headers=auth["admin"]).status_code == 422, bad
    stopped = client.patch(path, json={"enabled": False}, headers=auth["admin"]).json()
    assert stopped["status"] == "stopped" and not stopped["enabled"]
    assert client.patch("/api/cameras/999", json={"fps": 1}, headers=auth["admin"]).status_code == 404


def test_a_failing_stream_reports_reconnecting(client: TestClient, auth: Auth, tmp_path: Path) -> None:
    made = create(client, auth, url=str(tmp_path / "missing.mp4"))
    body = wait_for(client, auth, made["id"], lambda b: b["reconnects"] >= 1)
    assert body["status"] == "reconnecting" and "missing.mp4" in body["last_error"]


def test_a_live_camera_reports_frames_and_detector_trouble(
    client: TestClient, auth: Auth, clip: Path, tmp_path: Path, settings: Settings
) -> None:
    settings.model_path = tmp_path / "no-model.pt"
    failing = create(client, auth, name="broken", url=str(tmp_path / "missing.mp4"))
    made = create(client, auth, url=clip.as_uri())
    body = wait_for(client, auth, made["id"], lambda b: b["status"] == "live" and b["last_error"])
    assert body["last_frame_at"] is not None and body["reconnects"] == 0
    assert "no-model.pt" in body["last_error"]  # the detector could not load: said on every camera
    other = client.get(f"/api/cameras/{failing['id']}", headers=auth["admin"]).json()
    assert other["status"] == "reconnecting"  # one camera failing does not stop another


def test_without_the_supervisor_cameras_are_kept_but_not_run(
    engine: Engine, settings: Settings, clock: Clock, auth: Auth
) -> None:
    settings.camera_supervisor = False  # e.g. `streetscan cameras run` runs them in another process
    with TestClient(create_app(settings, clock)) as client:
        made = create(client, auth)
        assert made["status"] == "stopped" and "not running in this server process" in made["last_error"]
