"""POST /api/observations: per-item validation, limits, idempotency and case assignment."""

from __future__ import annotations

import hashlib
import importlib
import json
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.service.builders import Auth, jpeg, obs, post, send, store_image
from tests.service.places import polygon, square


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"source": "s", "observations": [', 422),
        (b"not json at all", 422),
        (b'{"observations": []}', 422),
        (b'{"source": "", "observations": []}', 422),
        (b'{"source": "s", "observations": {"track_id": "1"}}', 422),
        (b'["source", "observations"]', 422),
    ],
)
def test_malformed_request_is_422(client: TestClient, auth: Auth, body: bytes, status: int) -> None:
    headers = {**auth["uploader"], "Content-Type": "application/json"}
    assert client.post("/api/observations", content=body, headers=headers).status_code == status


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({k: v for k, v in obs().items() if k != "category"}, "category: Field required"),
        ({k: v for k, v in obs().items() if k != "bbox"}, "bbox: Field required"),
        (obs(lat=91.0), "lat: Input should be less than or equal to 90"),
        (obs(lon=-180.5), "lon: Input should be greater than or equal to -180"),
        (obs(lon=None), "lat and lon go together"),
        (obs(category="parking"), "unknown category 'parking'"),
        (obs(confidence=1.5), "confidence"),
        (obs(bbox=[0, 0, 10]), "bbox must be [x1, y1, x2, y2]"),
        (obs(bbox=[50, 0, 10, 10]), "x2 >= x1"),
        (obs(t_best=9.0), "t_first <= t_best <= t_last"),
        (obs(observed_at="yesterday"), "observed_at"),
        ({**obs(), "track_id": 17}, "track_id: Input should be a valid string"),
        ("just a string", "valid dictionary"),
    ],
)
def test_bad_item_is_rejected_and_good_ones_kept(client: TestClient, auth: Auth, item: Any, reason: str) -> None:
    result = send(client, auth, [obs("good-1"), item, obs("good-2", east=100)])
    assert result["accepted"] == 2
    first, bad, last = result["results"]
    assert first["error"] is None and first["case_id"] and last["error"] is None
    assert bad["case_id"] is None and reason in bad["error"]


def test_not_a_number_is_rejected(client: TestClient, auth: Auth) -> None:
    body = json.dumps({"source": "s", "observations": [obs(confidence=float("nan"))]}).encode()
    headers = {**auth["uploader"], "Content-Type": "application/json"}
    result = client.post("/api/observations", content=body, headers=headers).json()
    assert "confidence" in result["results"][0]["error"]


def test_huge_batch_is_413(client: TestClient, auth: Auth) -> None:
    response = client.post(
        "/api/observations", json={"source": "s", "observations": [{}] * 1001}, headers=auth["uploader"]
    )
    assert response.status_code == 413
    assert "limit is 1000" in response.json()["detail"]


def test_idempotent_on_source_and_track(client: TestClient, auth: Auth) -> None:
    first = send(client, auth, [obs("1"), obs("2", east=200)])
    again = send(client, auth, [obs("2", east=200), obs("1")])
    assert [r["case_id"] for r in again["results"]] == [first["results"][1]["case_id"], first["results"][0]["case_id"]]
    assert {r["outcome"] for r in again["results"]} == {"duplicate"}
    other_source = send(client, auth, [obs("1", east=1)], source="video-2")
    assert other_source["results"][0]["outcome"] == "joined"
    case = client.get(f"/api/cases/{first['results'][0]['case_id']}", headers=auth["reviewer"]).json()
    assert case["observation_count"] == 2


def test_one_request_one_new_object_one_case(client: TestClient, auth: Auth) -> None:
    result = send(client, auth, [obs("1"), obs("2", north=3), obs("3", north=40), obs("4", north=1, east=2)])
    ids = [r["case_id"] for r in result["results"]]
    assert [r["outcome"] for r in result["results"]] == ["created", "joined", "created", "joined"]
    assert ids[0] == ids[1] == ids[3] != ids[2]


def test_positionless_observations_share_a_case_per_source(client: TestClient, auth: Auth) -> None:
    items = [obs("1", north=None), obs("2", north=None), obs("3", north=None, category="outdoor_ad"), obs("4")]
    result = send(client, auth, items)
    a, b, c, located = (r["case_id"] for r in result["results"])
    assert a == b and len({a, c, located}) == 3
    other = send(client, auth, [obs("1", north=None)], source="video-2")["results"][0]["case_id"]
    assert other != a
    case = client.get(f"/api/cases/{a}", headers=auth["reviewer"]).json()
    assert (case["located"], case["source"], case["lat"], case["hotspot_id"]) == (False, "video-1", None, None)


def test_missing_observed_at_uses_receive_time(client: TestClient, auth: Auth, clock: Any) -> None:
    case_id = send(client, auth, [obs("1", observed_at=None)])["results"][0]["case_id"]
    case = client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()
    assert case["first_seen"] == case["observations"][0]["seen_at"] == clock.now.isoformat().replace("+00:00", "Z")


def test_vendor_in_vending_zone_makes_no_case(client: TestClient, auth: Auth) -> None:
    zone = {
        "type": "Feature",
        "id": "vz",
        "geometry": polygon(square(0, 0, 30)),
        "properties": {"name": "便民点", "kind": "vending_zone"},
    }
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [zone]})
    result = send(client, auth, [obs("1"), obs("2", category="goods_spill"), obs("3", north=60)])
    vendor, goods, outside = result["results"]
    assert (vendor["case_id"], vendor["outcome"], vendor["error"]) == (None, "vending_zone", None)
    assert goods["outcome"] == outside["outcome"] == "created"
    assert send(client, auth, [obs("1")])["results"][0] == {**vendor, "outcome": "duplicate"}


def test_crop_and_keyframe_are_served_to_token_holders(client: TestClient, auth: Auth) -> None:
    crop, keyframe = jpeg(40), jpeg(200, (90, 160))
    keys = [store_image(client, auth, crop), store_image(client, auth, keyframe)]
    case_id = send(client, auth, [obs("1", crop=keys[0], keyframe=keys[1]), obs("2", north=2)])["results"][0]["case_id"]
    first, second = client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()["observations"]
    for url, data in ((first["crop_url"], crop), (first["keyframe_url"], keyframe)):
        image = client.get(url, headers=auth["reviewer"])
        assert image.content == data and image.headers["content-type"] == "image/jpeg"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert client.get(url).status_code == 401
    assert second["crop_url"] is None
    assert client.get(f"/api/observations/{second['id']}/crop", headers=auth["reviewer"]).status_code == 404


def test_evidence_upload_is_content_addressed_and_checked(client: TestClient, auth: Auth, settings: Any) -> None:
    importlib.import_module("ultralytics.utils.patches")  # as in a server that runs the detector: it patches PIL
    _, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    for data, media, suffix in ((jpeg(), "image/jpeg", ".jpg"), (png.tobytes(), "image/png", ".png")):
        key = store_image(client, auth, data, media)
        digest = hashlib.sha256(data).hexdigest()
        assert key == f"{digest[:2]}/{digest}{suffix}"
        assert (settings.evidence_dir / key).read_bytes() == data
        assert store_image(client, auth, data, "application/octet-stream") == key  # same bytes, same key
    evidence = {**auth["uploader"], "Content-Type": "image/jpeg"}
    truncated = client.post("/api/evidence", content=jpeg()[:-40], headers=evidence)
    assert truncated.status_code == 422 and "not a readable JPEG or PNG" in truncated.json()["detail"]
    _, bmp = cv2.imencode(".bmp", np.zeros((8, 8, 3), np.uint8))
    for other in (bmp.tobytes(), b"plain text, no picture", b""):
        refused = client.post("/api/evidence", content=other, headers=evidence)
        assert refused.status_code == 422 and "send JPEG or PNG" in refused.json()["detail"]
    svg = {**evidence, "Content-Type": "image/svg+xml"}
    assert client.post("/api/evidence", content=b"<svg/>", headers=svg).status_code == 415
    reviewer = {**auth["reviewer"], "Content-Type": "image/jpeg"}
    assert client.post("/api/evidence", content=jpeg(), headers=reviewer).status_code == 403
    too_big = client.post("/api/evidence", content=b"\xff" * (10 * 1024 * 1024 + 1), headers=evidence)
    assert too_big.status_code == 413 and "10 MiB" in too_big.json()["detail"]
    assert sorted(p.name for p in settings.evidence_dir.rglob("*") if p.is_file()) == sorted(
        f"{hashlib.sha256(d).hexdigest()}{x}" for d, x in ((jpeg(), ".jpg"), (png.tobytes(), ".png"))
    )


def test_an_image_reference_must_be_a_stored_key(client: TestClient, auth: Auth) -> None:
    missing = "ab/ab" + "0" * 62 + ".jpg"
    result = send(client, auth, [obs("1", crop="crops/1.jpg"), obs("2", keyframe=missing), obs("3")])
    bad_path, not_stored, fine = result["results"]
    assert "crop: not an evidence key" in bad_path["error"] and "POST /api/evidence" in bad_path["error"]
    assert "keyframe: no image" in not_stored["error"] and fine["error"] is None and result["accepted"] == 1
