"""Simulated patrols over several days feed the API; cases must match the objects on the ground."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from service.settings import Settings
from tests.service.builders import post
from tests.service.patrol import Patrol, Thing
from tests.service.places import line, offset, polygon, square
from vision import SAMPLES_DIR, haversine_m

Headers = dict[str, str]

DAY0 = datetime(2025, 5, 12, tzinfo=UTC)
DAYS = [0, 1, 2, 3, 4, 5, 40]  # day 40: beyond the 30-day look-back from day 0
STREET = line((300, -400), (300, 400))  # a strict street 300 m north, running east-west
VENDING = polygon(square(0, 250, 20))

THINGS = [
    Thing("A", "street_vendor", 10, 5),
    Thing("B", "street_vendor", 10, 55),  # 50 m from A: two vendors
    Thing("C", "goods_spill", 12, 8),  # beside A, another category
    Thing("D", "lightbox_ad", -30, 0),
    Thing("E", "lightbox_ad", -30, 25),  # 25 m from D: beyond the 12 m ad radius
    Thing("F", "outdoor_ad", 310, 100),  # on the strict street
    Thing("G", "street_vendor", 330, -200),  # 30 m from its centre line: 10 m outside the 20 m buffer
    Thing("H", "street_vendor", -600, 200),  # far from any located hotspot, until one is located at its case
    Thing("V", "street_vendor", 0, 250),  # inside the vending zone: never a case
    Thing("W", "goods_spill", 0, 252),  # inside the vending zone but not a vendor: a case
    Thing("R", "street_vendor", -100, -300, frozenset({0, 1, 3, 5})),  # removed and back, twice
    Thing("S", "lightbox_ad", 150, -150, frozenset({0, 1})),  # removed for good
    Thing("T", "street_vendor", -200, 300, frozenset({0, 40})),  # back after the look-back window
]
EXPECTED_HOTSPOT = {
    "A": "road-market-1-01",
    "B": "road-market-1-01",
    "C": "road-market-1-01",
    "D": "road-market-1-01",
    "E": "road-market-1-01",
    "F": "strict-street-zezhou-lu",
    "G": "strict-street-zezhou-lu",
    "H": "road-market-2-01",
    "W": "test-vending-zone",
    "R": None,
    "S": "strict-street-zezhou-lu",  # 150 m from the centre line, 130 m from the street's edge
    "T": None,
}


def all_cases(client: TestClient, headers: Headers, **filters: Any) -> list[dict[str, Any]]:
    """Every case matching the filters, fetched page by page."""
    items: list[dict[str, Any]] = []
    while True:
        page = client.get("/api/cases", params={**filters, "limit": 20, "offset": len(items)}, headers=headers).json()
        items += page["items"]
        if len(items) >= page["total"]:
            return items


def thing_at(case: dict[str, Any], settings: Settings) -> Thing | None:
    """The real object a case stands for, if any."""
    for thing in THINGS:
        if (
            thing.category == case["category"]
            and case["lat"] is not None
            and haversine_m(case["lat"], case["lon"], *thing.position) <= settings.radius_for(thing.category)
        ):
            return thing
    return None


def setup_hotspots(client: TestClient, admin: Headers) -> dict[str, int]:
    """Import the shipped catalog, locate two of its hotspots, add a vending zone; key -> id."""
    catalog = json.loads((SAMPLES_DIR / "jincheng-hotspots.geojson").read_text(encoding="utf-8"))
    post(client, admin, "/api/hotspots/import", catalog)
    zone = {
        "type": "Feature",
        "id": "test-vending-zone",
        "geometry": VENDING,
        "properties": {"name": "便民经营点", "kind": "vending_zone"},
    }
    post(client, admin, "/api/hotspots/import", {"type": "FeatureCollection", "features": [zone]})
    ids = {f["id"]: f["properties"]["hotspot_id"] for f in client.get("/api/hotspots").json()["features"]}
    lat, lon = offset(0, 0)
    post(client, admin, f"/api/hotspots/{ids['road-market-1-01']}/locate", {"lat": lat, "lon": lon})
    post(client, admin, f"/api/hotspots/{ids['strict-street-zezhou-lu']}/locate", {"geometry": STREET})
    return ids


def review_day(client: TestClient, reviewer: Headers, settings: Settings, day: int) -> None:
    """Confirm real objects, reject false positives, resolve objects gone tomorrow."""
    later = [d for d in DAYS if d > day]
    for case in all_cases(client, reviewer, status="new") + all_cases(client, reviewer, status="reopened"):
        decision = "confirm" if thing_at(case, settings) else "reject"
        post(client, reviewer, f"/api/cases/{case['id']}/review", {"decision": decision})
    for case in all_cases(client, reviewer, status="confirmed"):
        thing = thing_at(case, settings)
        if later and thing and not thing.present(later[0]):
            post(client, reviewer, f"/api/cases/{case['id']}/status", {"status": "dispatched"})
            post(client, reviewer, f"/api/cases/{case['id']}/status", {"status": "resolved", "note": "gone"})


def test_patrol_days(client: TestClient, auth: dict[str, Headers], clock: Any, settings: Settings) -> None:
    admin, reviewer, uploader = auth["admin"], auth["reviewer"], auth["uploader"]
    ids = setup_hotspots(client, admin)
    patrol = Patrol(THINGS)
    posted = vending = 0
    for day in DAYS:
        for n, sightings in enumerate(patrol.day(day)):
            start = DAY0 + timedelta(days=day, hours=0.5 + 5 * n)
            clock.now = start + timedelta(minutes=20)
            source = f"patrol-{day:02d}-{n}"
            body = {"source": source, "observations": patrol.observations(source, sightings, start)}
            result = post(client, uploader, "/api/observations", body)
            assert result["accepted"] == len(body["observations"])
            assert all(r["error"] is None for r in result["results"])
            posted += len(body["observations"])
            vending += sum(r["outcome"] == "vending_zone" for r in result["results"])
            if day == 1:  # an upload retried: nothing new
                again = post(client, uploader, "/api/observations", body)
                assert {r["outcome"] for r in again["results"]} == {"duplicate"}
                assert [r["case_id"] for r in again["results"]] == [r["case_id"] for r in result["results"]]
        clock.now = DAY0 + timedelta(days=day, hours=10)
        review_day(client, reviewer, settings, day)
        if day == 0:  # the reviewer knows H's case is at road market 2-01
            (h_case,) = [c for c in all_cases(client, reviewer) if getattr(thing_at(c, settings), "name", "") == "H"]
            post(client, admin, f"/api/hotspots/{ids['road-market-2-01']}/locate", {"case_id": h_case["id"]})

    cases = all_cases(client, reviewer)
    by_thing: dict[str, list[dict[str, Any]]] = {t.name: [] for t in THINGS}
    for case in cases:
        if thing := thing_at(case, settings):
            by_thing[thing.name].append(case)
    open_statuses = {"new", "confirmed", "dispatched", "reopened"}

    # one object, one case: never duplicated, never merged with its neighbours
    for name in "ABCDEFGHWRS":
        assert len(by_thing[name]) == 1, (name, by_thing[name])
    assert len({by_thing[n][0]["id"] for n in "ABCDEFGHWRS"}) == 11
    for name, found in by_thing.items():
        assert sum(c["status"] in open_statuses for c in found) <= 1, name
    assert by_thing["V"] == [] and vending > 0

    # recurrences (回头看): R came back twice within the look-back; T after it, so a new case
    (r_case,) = by_thing["R"]
    assert (r_case["recurrence_count"], r_case["status"]) == (2, "resolved")
    (s_case,) = by_thing["S"]
    assert (s_case["recurrence_count"], s_case["status"]) == (0, "resolved")
    old_t, new_t = sorted(by_thing["T"], key=lambda c: c["first_seen"])
    assert (old_t["status"], old_t["recurrence_count"], new_t["recurrence_count"]) == ("resolved", 0, 0)
    assert new_t["first_seen"].startswith((DAY0 + timedelta(days=40)).date().isoformat())

    # the right hotspot for every case
    props = [f["properties"] for f in client.get("/api/hotspots").json()["features"]]
    names = {p["hotspot_id"]: p["name"] for p in props}
    for name, key in EXPECTED_HOTSPOT.items():
        for case in by_thing[name]:
            assert case["hotspot_id"] == (ids[key] if key else None), (name, case)
            assert case["hotspot_name"] == names.get(case["hotspot_id"])
            assert (case["hotspot_distance_m"] is None) == (key is None)
    assert by_thing["F"][0]["hotspot_distance_m"] == 0.0  # inside the street's buffer
    assert 5 < by_thing["G"][0]["hotspot_distance_m"] < 15
    assert by_thing["H"][0]["hotspot_distance_m"] < 5

    # every kept observation counted once; false positives were rejected, not merged into objects
    assert sum(c["observation_count"] for c in cases) == posted - vending
    strays = [c for c in cases if thing_at(c, settings) is None]
    assert strays and {c["status"] for c in strays} == {"rejected"}

    # the audit trail names who did what
    events = client.get(f"/api/cases/{r_case['id']}", headers=reviewer).json()["events"]
    actions = [(e["action"], e["user"]) for e in events]
    assert actions.count(("recurrence", "uploader-1")) == 2
    assert ("review", "reviewer-1") in actions and actions[0] == ("created", "uploader-1")
