"""Case matching with noisy GPS, measured on a simulated patrol week: how often one object gets two
cases, how often two objects share one, and how often a returning object reopens its old case."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from tests.service.builders import obs, post, send
from tests.service.patrol import Patrol, Thing
from tests.service.places import offset
from tests.service.web_client import logged_in

Headers = dict[str, str]

DAY0 = datetime(2025, 6, 2, tzinfo=UTC)
DAYS = range(5)
PASSES_PER_DAY = 3
BACK = frozenset({0, 1, 3, 4})
"""The days a returning object is there: removed after day 1 (its case resolved), back on day 3."""


def street() -> list[Thing]:
    """Objects along three parallel streets 200 m apart: vendors 60 m apart, goods 60 m apart between
    them, lightbox ads every 30 m on the far side; every third object returns after its case is resolved."""
    things = []
    for row in range(3):
        north = 200.0 * row
        for n in range(10):
            things.append(Thing(f"V{row}{n}", "street_vendor", north, 60.0 * n))
            things.append(Thing(f"G{row}{n}", "goods_spill", north + 8, 60.0 * n + 30))
        for n in range(20):
            things.append(Thing(f"L{row}{n:02d}", "lightbox_ad", north - 20, 30.0 * n))
    return [Thing(t.name, t.category, t.north, t.east, BACK if i % 3 == 0 else None) for i, t in enumerate(things)]


def test_simulated_week_with_4_m_gps_noise(client: TestClient, auth: dict[str, Headers], clock: Any) -> None:
    reviewer, uploader = auth["reviewer"], auth["uploader"]
    things = street()
    patrol = Patrol(things, seed=11, noise_m=4.0, gaussian=True, false_positives=0, passes_per_day=PASSES_PER_DAY)
    cases_of: dict[str, set[int]] = defaultdict(set)  # object -> the cases its sightings went to
    objects_in: dict[int, set[str]] = defaultdict(set)  # case -> the objects whose sightings it holds
    case_before: dict[str, set[int]] = {}  # returning object -> its cases before it was removed
    returns: dict[str, tuple[int, str]] = {}  # returning object -> its first case and outcome when back
    for day in DAYS:
        for n, sightings in enumerate(patrol.day(day)):
            start = DAY0 + timedelta(days=day, hours=1 + 3 * n)
            clock.now = start + timedelta(minutes=30)
            source = f"patrol-{day}-{n}"
            body = {"source": source, "observations": patrol.observations(source, sightings, start)}
            results = post(client, uploader, "/api/observations", body)["results"]
            for thing, result in zip(sightings, results, strict=True):
                assert thing is not None and result["error"] is None
                cases_of[thing.name].add(result["case_id"])
                objects_in[result["case_id"]].add(thing.name)
                if day == 3 and thing.days == BACK and thing.name not in returns:
                    returns[thing.name] = (result["case_id"], result["outcome"])
        if day == 1:  # the reviewer confirms everything and resolves the objects removed overnight
            clock.now = DAY0 + timedelta(days=day, hours=12)
            for thing in things:
                if thing.days == BACK:
                    case_before[thing.name] = set(cases_of[thing.name])
                    for case_id in case_before[thing.name]:
                        post(client, reviewer, f"/api/cases/{case_id}/review", {"decision": "confirm"})
                        post(client, reviewer, f"/api/cases/{case_id}/status", {"status": "resolved", "note": "gone"})

    duplicated = sum(len(cases) > 1 for cases in cases_of.values()) / len(things)
    merged = sum(len(names) > 1 for names in objects_in.values()) / len(objects_in)
    recognised = sum(returns[n][0] in case_before[n] and returns[n][1] == "recurrence" for n in case_before) / len(
        case_before
    )
    print(f"\nduplicate {duplicated:.1%}, merge {merged:.1%}, recurrence recognised {recognised:.1%}")
    assert len(case_before) == len(returns) == 40
    assert duplicated <= 0.05 and merged <= 0.05 and recognised >= 0.9


def test_accurate_fixes_keep_neighbours_apart_and_a_sighting_between_them_proposes_a_merge(
    client: TestClient, auth: dict[str, Headers], web_users: dict[str, str]
) -> None:
    ad: dict[str, Any] = {"category": "lightbox_ad", "gps_accuracy_m": 1.0}
    first = send(client, auth, [obs("1", 0, **ad), obs("2", 0, 20, **ad)])["results"]
    left, right = first[0]["case_id"], first[1]["case_id"]
    assert left != right and [r["outcome"] for r in first] == ["created", "created"]
    case = client.get(f"/api/cases/{left}", headers=auth["reviewer"]).json()
    assert case["position_sigma_m"] == 1.0

    # a poor fix (HDOP 3) 8 m from one and 12 m from the other: in both gates, joins the nearer
    for track in ("3", "4"):
        result = send(client, auth, [obs(track, 0, 8, category="lightbox_ad", gps_accuracy_m=12.0)], "video-2")
        assert result["results"][0]["case_id"] == left
    case = client.get(f"/api/cases/{left}", headers=auth["reviewer"]).json()
    proposals = [e for e in case["events"] if e["action"] == "merge_proposed"]
    assert [e["detail"] for e in proposals] == [{"with": [right]}]  # once per pair
    # weighted by inverse variance: the two poor fixes count 1/144 each against the first one's 1
    assert case["observation_count"] == 3 and case["position_sigma_m"] == pytest.approx((1 + 2 / 144) ** -0.5)
    assert case["lon"] == pytest.approx(offset(0, 8 * (2 / 144) / (1 + 2 / 144))[1], abs=1e-9)

    logged_in(client, web_users["reviewer"])
    html = client.get(f"/cases/{left}").text
    assert "疑似同一对象" in html and f'<a href="/cases/{right}">#{right}</a>' in html


def test_without_accuracy_the_setting_applies(client: TestClient, auth: dict[str, Headers], settings: Settings) -> None:
    result = send(client, auth, [obs("1", 0, 0), obs("2", 0, 1)])["results"]
    assert result[0]["case_id"] == result[1]["case_id"]
    case = client.get(f"/api/cases/{result[0]['case_id']}", headers=auth["reviewer"]).json()
    assert case["position_sigma_m"] == pytest.approx(settings.gps_sigma_m / 2**0.5)
