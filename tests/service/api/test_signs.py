"""The sign register through the API: sign observations join one entry per physical sign, only the sign
rules put signs in the review queue, and reviewers edit, merge and split entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from service.models.patrols import PatrolPass
from service.patrols import Route, record_pass
from service.settings import Settings
from service.signs import sweep_removed
from tests.service.builders import Auth, jpeg, post, send, store_image
from tests.service.places import line, offset
from vision.appearance import SIGNATURE_LENGTH, encode_signature

RNG = np.random.default_rng(3)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.abs(v).max()


LOOKS = [unit(RNG.normal(size=SIGNATURE_LENGTH)) for _ in range(4)]
DAY1 = datetime(2025, 5, 12, 1, 0, tzinfo=UTC)


def sign(
    track_id: str,
    east: float,
    look: int,
    text: str | None = None,
    label: str = "shop_sign",
    category: str = "outdoor_ad",
    at: datetime = DAY1,
    north: float = 0.0,
    **fields: Any,
) -> dict[str, Any]:
    """A sign observation ``east`` metres along the test street, looking like ``LOOKS[look]`` (slightly
    noisy, as another view of it is)."""
    lat, lon = offset(north, east)
    signature = LOOKS[look] * 0.95 + 0.05 * unit(RNG.normal(size=SIGNATURE_LENGTH))
    item = {
        "track_id": track_id,
        "category": category,
        "label": label,
        "confidence": 0.8,
        "t_first": 1.0,
        "t_last": 4.0,
        "t_best": 2.0,
        "observed_at": at.isoformat(),
        "bbox": [100, 100, 400, 180],
        "lat": lat,
        "lon": lon,
        "crop": None,
        "text": text,
        "text_confidence": 0.9 if text else None,
        "signature": encode_signature(signature),
    }
    return {**item, **fields}


# A facade: four shop signs 5 m apart, two of them read, and a lightbox on the sidewalk in front.
FACADE = [
    ("a", 0.0, 0, "BISTRO"),
    ("b", 5.0, 1, None),
    ("c", 10.0, 2, "ПАРФЮМ"),
    ("d", 15.0, 3, None),
]


def day(n: int, shift_m: float = 0.0) -> list[dict[str, Any]]:
    at = DAY1 + timedelta(days=n)
    items = [sign(f"{name}{n}", east + shift_m, look, text, at=at) for name, east, look, text in FACADE]
    items.append(sign(f"box{n}", 7.0 + shift_m, 0, None, label="lightbox", category="lightbox_ad", at=at, north=-3))
    return items


def signs(client: TestClient, auth: Auth, **params: Any) -> dict[str, Any]:
    response = client.get("/api/signs", params=params, headers=auth["reviewer"])
    assert response.status_code == 200, response.text
    return response.json()


def test_each_sign_is_one_entry_over_two_days_and_only_the_lightbox_is_a_case(client: TestClient, auth: Auth) -> None:
    first = send(client, auth, day(0), source="day-1.mp4")
    second = send(client, auth, day(1, shift_m=8.0), source="day-2.mp4")
    assert [r["sign_id"] for r in first["results"]] == [r["sign_id"] for r in second["results"]]
    assert len({r["sign_id"] for r in first["results"]}) == 5
    outcomes = [r["outcome"] for r in first["results"]]
    assert outcomes == ["registered"] * 4 + ["created"]
    assert [r["outcome"] for r in second["results"]] == ["registered"] * 4 + ["joined"]

    cases = client.get("/api/cases", headers=auth["reviewer"]).json()
    assert [(c["category"], c["observation_count"]) for c in cases["items"]] == [("lightbox_ad", 2)]

    listed = signs(client, auth)
    assert listed["total"] == 5
    for entry in listed["items"]:
        assert entry["sighting_count"] == 2 and entry["status"] == "unverified"
        assert entry["first_seen"].startswith("2025-05-12") and entry["last_seen"].startswith("2025-05-13")
        assert entry["position_sigma_m"] < 4.0  # two fixes of 4 m
    bistro = signs(client, auth, q="bistro")["items"]
    assert [e["text"] for e in bistro] == ["BISTRO"]
    assert signs(client, auth, kind="lightbox")["total"] == 1
    assert signs(client, auth, since="2025-05-13T00:00:00Z")["total"] == 0


def test_the_list_pages_by_limit_and_offset(client: TestClient, auth: Auth) -> None:
    send(client, auth, [sign(f"s{i}", 100.0 * i, i % 4, f"SHOP {i}", at=DAY1 + timedelta(minutes=i)) for i in range(7)])
    send(client, auth, [sign("k0", 900.0, 0, "KIOSK", label="projecting_sign")])
    pages = [signs(client, auth, q="shop", limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [p["total"] for p in pages] == [7] * 4
    texts = [[e["text"] for e in p["items"]] for p in pages]
    assert texts == [["SHOP 6", "SHOP 5", "SHOP 4"], ["SHOP 3", "SHOP 2", "SHOP 1"], ["SHOP 0"], []]  # last seen first
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
        assert client.get("/api/signs", params=bad, headers=auth["reviewer"]).status_code == 422


def test_each_entry_has_the_side_of_the_street_its_sightings_show(client: TestClient, auth: Auth) -> None:
    forward = [
        sign("l0", 0, 0, "BISTRO", bbox=[100, 100, 400, 180]),
        sign("r0", 50, 1, "ПАРФЮМ", bbox=[1500, 90, 1800, 200]),
    ]
    body = {"source": "day-1.mp4", "observations": forward, "mount": "forward", "frame_width": 1920}
    post(client, auth["uploader"], "/api/observations", body)
    body = {"source": "day-2.mp4", "observations": [sign("s0", 200, 2, "KIOSK")], "mount": "right"}
    post(client, auth["uploader"], "/api/observations", body)
    send(client, auth, [sign("n0", 400, 3, "SHAWARMA")], source="day-3.mp4")  # a forward camera, width unknown
    entries = {e["text"]: e for e in signs(client, auth)["items"]}
    assert {text: e["facade"] for text, e in entries.items()} == {
        "BISTRO": "left",
        "ПАРФЮМ": "right",
        "KIOSK": "right",
        "SHAWARMA": None,
    }
    detail = client.get(f"/api/signs/{entries['BISTRO']['id']}", headers=auth["reviewer"]).json()
    assert [o["facade"] for o in detail["observations"]] == ["left"]
    for bad in ({"mount": "up"}, {"frame_width": 0}):
        body = {"source": "day-4.mp4", "observations": [sign("b0", 600, 0)], **bad}
        assert client.post("/api/observations", json=body, headers=auth["uploader"]).status_code == 422


def test_entry_detail_lists_its_sightings(client: TestClient, auth: Auth) -> None:
    key = store_image(client, auth, jpeg(90))
    send(client, auth, [sign("a0", 0, 0, "BISTRO", crop=key)], source="day-1.mp4")
    send(client, auth, [sign("a1", 3, 0, "BISTR0", at=DAY1 + timedelta(days=1))], source="day-2.mp4")
    entry = signs(client, auth)["items"][0]
    detail = client.get(f"/api/signs/{entry['id']}", headers=auth["reviewer"]).json()
    assert [(o["source"], o["track_id"], o["text"]) for o in detail["observations"]] == [
        ("day-1.mp4", "a0", "BISTRO"),
        ("day-2.mp4", "a1", "BISTR0"),
    ]
    first = detail["observations"][0]
    assert first["t_best"] == 2.0 and first["bbox"] == [100, 100, 400, 180] and first["case_id"] is None
    assert client.get(first["crop_url"], headers=auth["reviewer"]).content == jpeg(90)
    assert client.get(detail["crop_url"], headers=auth["reviewer"]).content == jpeg(90)
    assert detail["observations"][1]["crop_url"] is None
    assert client.get("/api/signs/999", headers=auth["reviewer"]).status_code == 404
    assert client.get("/api/signs", headers={}).status_code == 401


def strict_street(client: TestClient, auth: Auth) -> int:
    street = {
        "type": "Feature",
        "id": "street",
        "geometry": line((0, -100), (0, 100)),
        "properties": {"name": "凤台街", "kind": "strict_street", "buffer_m": 15},
    }
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [street]})
    found = client.get("/api/hotspots").json()["features"]
    return int(found[0]["properties"]["hotspot_id"])


def test_on_a_strict_street_unapproved_and_projecting_signs_are_cases(client: TestClient, auth: Auth) -> None:
    street = strict_street(client, auth)
    first = send(client, auth, [sign("a0", 0, 0, "BISTRO"), sign("p0", 20, 1, label="projecting_sign")])
    assert [r["outcome"] for r in first["results"]] == ["created", "created"]
    assert {c["category"] for c in client.get("/api/cases", headers=auth["reviewer"]).json()["items"]} == {"outdoor_ad"}
    bistro, projecting = (r["sign_id"] for r in first["results"])
    assert signs(client, auth, hotspot_id=street)["total"] == 2

    for entry in (bistro, projecting):
        body = {"status": "approved", "permit_number": f"JC-{entry}", "permit_expiry": "2025-06-01"}
        response = client.patch(f"/api/signs/{entry}", json=body, headers=auth["reviewer"])
        assert response.status_code == 200 and response.json()["status"] == "approved"
    assert signs(client, auth, status="approved", q="jc-")["total"] == 2

    later = DAY1 + timedelta(days=7)
    items = [sign("a1", 1, 0, "BISTRO", at=later), sign("p1", 21, 1, label="projecting_sign", at=later)]
    again = send(client, auth, items, source="day-8.mp4")
    assert [r["outcome"] for r in again["results"]] == ["registered", "joined"]  # approved; projecting stays a case

    expired = DAY1 + timedelta(days=30)
    last = send(client, auth, [sign("a2", 1, 0, "BISTRO", at=expired)], source="day-31.mp4")
    assert last["results"][0]["outcome"] == "joined" and last["results"][0]["sign_id"] == bistro


def test_edits_are_checked(client: TestClient, auth: Auth) -> None:
    result = send(client, auth, [sign("a0", 0, 0, "BISTRO")])
    entry = result["results"][0]["sign_id"]
    path = f"/api/signs/{entry}"
    assert client.patch(path, json={"status": "approved"}, headers=auth["reviewer"]).status_code == 409
    assert client.patch(path, json={"status": "gone"}, headers=auth["reviewer"]).status_code == 422
    assert client.patch(path, json={"status": "violation"}, headers=auth["uploader"]).status_code == 403
    changed = client.patch(path, json={"status": "violation", "note": "无审批"}, headers=auth["reviewer"]).json()
    assert (changed["status"], changed["note"]) == ("violation", "无审批")
    assert client.patch("/api/signs/999", json={"note": "x"}, headers=auth["reviewer"]).status_code == 404
    assert client.post(f"{path}/merge", json={"into": entry}, headers=auth["reviewer"]).status_code == 409
    assert client.post(f"{path}/merge", json={"into": 999}, headers=auth["reviewer"]).status_code == 404
    assert client.post(f"{path}/split", json={"observation_ids": []}, headers=auth["reviewer"]).status_code == 422


def test_merge_and_split(client: TestClient, auth: Auth) -> None:
    # One sign whose text was misread on day 2 (another look, another text): two entries.
    send(client, auth, [sign("a0", 0, 0, "BISTRO")], source="day-1.mp4")
    send(client, auth, [sign("a1", 2, 1, "ZZYZX", at=DAY1 + timedelta(days=1))], source="day-2.mp4")
    first, second = sorted(e["id"] for e in signs(client, auth)["items"])
    merged = post(client, auth["reviewer"], f"/api/signs/{second}/merge", {"into": first})
    assert merged["id"] == first and merged["sighting_count"] == 2 and merged["text"] == "BISTRO"
    assert merged["last_seen"].startswith("2025-05-13")
    assert client.get(f"/api/signs/{second}", headers=auth["reviewer"]).status_code == 404

    day2 = [o["id"] for o in merged["observations"] if o["source"] == "day-2.mp4"]
    other = post(client, auth["reviewer"], f"/api/signs/{first}/split", {"observation_ids": day2})
    assert other["id"] != first and [o["id"] for o in other["observations"]] == day2
    assert other["sighting_count"] == 1 and other["text"] == "ZZYZX"
    kept = client.get(f"/api/signs/{first}", headers=auth["reviewer"]).json()
    assert kept["sighting_count"] == 1 and kept["last_seen"].startswith("2025-05-12")

    everything = {"observation_ids": [o["id"] for o in kept["observations"]]}
    assert client.post(f"/api/signs/{first}/split", json=everything, headers=auth["reviewer"]).status_code == 409
    strangers = {"observation_ids": day2}
    assert client.post(f"/api/signs/{first}/split", json=strangers, headers=auth["reviewer"]).status_code == 409


def test_a_sign_where_an_earlier_pass_saw_none_is_new(client: TestClient, auth: Auth, engine: Engine) -> None:
    with Session(engine) as session:
        drive(session, "day-0.mp4", DAY1 - timedelta(days=1))
        session.commit()
    result = send(client, auth, [sign("a0", 0, 0, "BISTRO"), sign("far", 0, 1, north=300)])
    assert [r["outcome"] for r in result["results"]] == ["registered", "registered"]
    entries = {e["text"]: e["new"] for e in signs(client, auth)["items"]}
    assert entries == {"BISTRO": True, None: False}


@pytest.mark.parametrize("label", ["person", "vendor_stall"])
def test_other_labels_still_make_cases(client: TestClient, auth: Auth, label: str) -> None:
    result = send(client, auth, [sign("x", 0, 0, label=label, category="street_vendor")])
    assert result["results"][0]["outcome"] == "created" and result["results"][0]["sign_id"] is None
    assert signs(client, auth)["total"] == 0


def drive(session: Session, source: str, start: datetime) -> PatrolPass:
    """A patrol pass along the test street (5 m south of the signs, forward camera), stored."""
    east = np.linspace(-50.0, 50.0, 21)
    lat, lon = zip(*(offset(-5.0, e) for e in east), strict=True)
    row = record_pass(session, source, Route(start.timestamp() + np.arange(21.0), np.array(lat), np.array(lon)))
    session.flush()
    return row


def test_a_sign_two_passes_no_longer_see_is_removed_and_back_when_seen(
    client: TestClient, auth: Auth, engine: Engine, settings: Settings
) -> None:
    result = send(client, auth, [sign("a0", 0, 0, "BISTRO"), sign("b0", 20, 1)], source="day-1.mp4")
    bistro, other = (r["sign_id"] for r in result["results"])
    with Session(engine) as session:
        drive(session, "day-1.mp4", DAY1 - timedelta(seconds=5))  # the pass that saw them
        session.commit()
    send(client, auth, [sign("b1", 20, 1, at=DAY1 + timedelta(days=1))], source="day-2.mp4")
    with Session(engine) as session:
        assert sweep_removed(session, settings, drive(session, "day-2.mp4", DAY1 + timedelta(days=1)), DAY1) == []
        session.commit()
    with Session(engine) as session:
        third = drive(session, "day-3.mp4", DAY1 + timedelta(days=2))
        assert sweep_removed(session, settings, third, DAY1) == [bistro]  # missed twice; the other seen on day 2
        session.commit()
    assert signs(client, auth, status="removed")["items"][0]["id"] == bistro
    back = send(client, auth, [sign("a3", 1, 0, "BISTRO", at=DAY1 + timedelta(days=3))], source="day-4.mp4")
    assert back["results"][0]["sign_id"] == bistro
    assert client.get(f"/api/signs/{bistro}", headers=auth["reviewer"]).json()["status"] == "unverified"
    assert other != bistro
