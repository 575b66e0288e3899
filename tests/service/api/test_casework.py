"""Merge, split, rejecting one sighting and undo through the API: positions, errors and counts
recomputed from the sightings, every change audited and reversible, stale requests refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from service.cases import estimate, merged_position
from service.integrations.dataset_export import export_dataset
from service.settings import Settings
from tests.service.builders import Auth, obs, post, send, store_image
from tests.service.conftest import Clock
from tests.service.integrations.test_dataset_export import frame
from tests.service.places import offset
from vision import Taxonomy

REVIEWER = "reviewer"


def case(client: TestClient, auth: Auth, case_id: int) -> dict[str, Any]:
    response = client.get(f"/api/cases/{case_id}", headers=auth[REVIEWER])
    assert response.status_code == 200, response.text
    return response.json()


def act(client: TestClient, auth: Auth, path: str, body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
    response = client.post(path, json=body, headers=auth[REVIEWER])
    assert response.status_code == expect, response.text
    return response.json()


def actions(detail: dict[str, Any]) -> list[str]:
    return [e["action"] for e in detail["events"] if e["action"] != "hotspot"]


def test_estimate_is_merged_position_fix_by_fix() -> None:
    fixes = [(35.0, 112.0, 4.0), (35.0001, 112.0, 2.0), (35.0, 112.0001, 8.0)]
    step = merged_position(*fixes[0], *fixes[1])
    assert estimate(fixes) == pytest.approx(merged_position(*step, *fixes[2]))
    assert estimate([]) is None
    assert estimate(fixes[:1]) == fixes[0]


def test_merge_moves_sightings_and_unmerge_reverses_it(client: TestClient, auth: Auth) -> None:
    # two cases 30 m apart (no common gate): one object seen twice, say a reviewer
    a, b = (r["case_id"] for r in send(client, auth, [obs("1"), obs("2", north=30)])["results"])
    before_a, before_b = case(client, auth, a), case(client, auth, b)
    merged = act(client, auth, f"/api/cases/{a}/merge", {"into": b, "version": before_a["version"]})
    assert merged["id"] == b and merged["observation_count"] == 2
    lat, _ = offset(15, 0)  # equal default fix errors: the midpoint, error shrunk by sqrt(2)
    assert merged["lat"] == pytest.approx(lat, abs=1e-7)
    assert merged["position_sigma_m"] == pytest.approx(before_b["position_sigma_m"] / 2**0.5)
    gone = case(client, auth, a)
    assert gone["status"] == "merged" and gone["merged_into_id"] == b and gone["observation_count"] == 0
    assert [o["track_id"] for o in case(client, auth, b)["observations"]] == ["1", "2"]
    assert actions(gone)[-1] == "merged" and actions(case(client, auth, b))[-1] == "absorbed"

    assert "merged into another" in act(client, auth, f"/api/cases/{a}/merge", {"into": b}, 409)["detail"]
    assert "itself" in act(client, auth, f"/api/cases/{b}/merge", {"into": b}, 409)["detail"]
    assert act(client, auth, f"/api/cases/{b}/merge", {"into": 999999}, 404)["detail"] == "no such case"

    back = act(client, auth, f"/api/cases/{a}/unmerge", {})
    assert back["status"] == "new" and back["observation_count"] == 1 and back["merged_into_id"] is None
    assert back["lat"] == pytest.approx(before_a["lat"])
    assert case(client, auth, b)["observation_count"] == 1
    assert "is not merged" in act(client, auth, f"/api/cases/{a}/unmerge", {}, 409)["detail"]


def test_merge_refuses_stale_versions_and_other_categories(client: TestClient, auth: Auth) -> None:
    items = [obs("1"), obs("2", north=30), obs("3", north=60, category="goods_spill")]
    a, b, goods = (r["case_id"] for r in send(client, auth, items)["results"])
    version_b = case(client, auth, b)["version"]
    post(client, auth[REVIEWER], f"/api/cases/{b}/review", {"decision": "confirm"})
    stale = act(client, auth, f"/api/cases/{a}/merge", {"into": b, "into_version": version_b}, 409)
    assert "changed meanwhile" in stale["detail"]
    assert "different categories" in act(client, auth, f"/api/cases/{a}/merge", {"into": goods}, 409)["detail"]
    assert case(client, auth, a)["status"] == "new" and case(client, auth, b)["observation_count"] == 1


def test_split_makes_a_new_case_from_the_sightings(client: TestClient, auth: Auth) -> None:
    items = [obs("1"), obs("2", north=3, gps_accuracy_m=2.0), obs("3", north=6)]
    case_id = send(client, auth, items)["results"][0]["case_id"]
    detail = case(client, auth, case_id)
    ids = {o["track_id"]: o["id"] for o in detail["observations"]}
    answer = act(client, auth, f"/api/cases/{case_id}/split", {"observation_ids": [ids["2"], ids["3"]]})
    old, new = answer["case"], answer["split"]
    assert old["observation_count"] == 1 and old["lat"] == pytest.approx(offset(0, 0)[0])
    assert new["observation_count"] == 2 and new["status"] == "new" and new["category"] == "street_vendor"
    # the new case's estimate weights the 2 m fix four times the 4 m one
    assert new["lat"] == pytest.approx(offset((3 * 4 + 6 * 1) / 5, 0)[0], abs=1e-7)
    assert new["position_sigma_m"] == pytest.approx((1 / 4 + 1 / 16) ** -0.5)
    assert actions(case(client, auth, new["id"])) == ["split_from"]
    assert actions(case(client, auth, case_id))[-1] == "split_off"

    refused = act(client, auth, f"/api/cases/{case_id}/split", {"observation_ids": [ids["1"]]}, 409)
    assert "at least one sighting" in refused["detail"]
    other = act(client, auth, f"/api/cases/{case_id}/split", {"observation_ids": [ids["2"]]}, 409)
    assert "not in case" in other["detail"]
    act(client, auth, f"/api/cases/{case_id}/split", {"observation_ids": []}, 422)

    # reversed by merging the new case back
    act(client, auth, f"/api/cases/{new['id']}/merge", {"into": case_id})
    assert case(client, auth, case_id)["observation_count"] == 3


def test_a_rejected_sighting_stops_counting_and_can_be_restored(client: TestClient, auth: Auth) -> None:
    items = [obs("1", observed_at="2025-05-12T01:00:00Z"), obs("2", north=4, observed_at="2025-05-12T05:00:00Z")]
    case_id = send(client, auth, items)["results"][0]["case_id"]
    ids = {o["track_id"]: o["id"] for o in case(client, auth, case_id)["observations"]}
    path = f"/api/cases/{case_id}/sightings/{ids['2']}"
    after = act(client, auth, path, {"rejected": True})
    assert after["observation_count"] == 1 and after["last_seen"].startswith("2025-05-12T01:00")
    assert after["lat"] == pytest.approx(offset(0, 0)[0])
    listed = {o["track_id"]: o["rejected"] for o in case(client, auth, case_id)["observations"]}
    assert listed == {"1": False, "2": True}
    assert (
        "last counted"
        in act(client, auth, f"/api/cases/{case_id}/sightings/{ids['1']}", {"rejected": True}, 409)["detail"]
    )
    assert "so already" in act(client, auth, path, {"rejected": True}, 409)["detail"]
    assert act(client, auth, path, {"rejected": False})["observation_count"] == 2
    assert actions(case(client, auth, case_id))[-2:] == ["reject_sighting", "restore_sighting"]


def test_undo_reverses_the_callers_latest_decision_only(client: TestClient, auth: Auth, clock: Clock) -> None:
    a, b = (r["case_id"] for r in send(client, auth, [obs("1"), obs("2", north=30)])["results"])
    clock.advance(minutes=1)
    decided = post(client, auth[REVIEWER], f"/api/cases/{a}/review", {"decision": "reject", "category": "goods_spill"})
    assert decided["status"] == "rejected"
    undone = act(client, auth, f"/api/cases/{a}/undo", {"version": decided["version"]})
    assert undone["status"] == "new" and undone["category"] == "street_vendor"
    assert actions(case(client, auth, a))[-1] == "undo"
    assert "nothing to undo" in act(client, auth, f"/api/cases/{a}/undo", {"version": undone["version"]}, 409)["detail"]

    clock.advance(minutes=1)
    confirmed = post(client, auth[REVIEWER], f"/api/cases/{b}/review", {"decision": "confirm"})
    clock.advance(minutes=1)
    post(client, auth["admin"], f"/api/cases/{b}/status", {"status": "dispatched"})
    stale = act(client, auth, f"/api/cases/{b}/undo", {"version": confirmed["version"]}, 409)
    assert "changed meanwhile" in stale["detail"]
    latest = case(client, auth, b)["version"]
    assert "nothing to undo" in act(client, auth, f"/api/cases/{b}/undo", {"version": latest}, 409)["detail"]
    assert case(client, auth, b)["status"] == "dispatched"

    clock.advance(minutes=1)
    c = send(client, auth, [obs("3", north=300)])["results"][0]["case_id"]
    merged = act(client, auth, f"/api/cases/{c}/merge", {"into": a})
    version = case(client, auth, c)["version"]
    act(client, auth, f"/api/cases/{c}/undo", {"version": version})
    assert case(client, auth, c)["status"] == "new" and case(client, auth, a)["observation_count"] == 1
    assert merged["observation_count"] == 2


def test_undo_of_a_split_merges_the_new_case_back(client: TestClient, auth: Auth, clock: Clock) -> None:
    case_id = send(client, auth, [obs("1"), obs("2", north=3)])["results"][0]["case_id"]
    second = case(client, auth, case_id)["observations"][1]["id"]
    clock.advance(minutes=1)
    new = act(client, auth, f"/api/cases/{case_id}/split", {"observation_ids": [second]})
    act(client, auth, f"/api/cases/{case_id}/undo", {"version": new["case"]["version"]})
    assert case(client, auth, case_id)["observation_count"] == 2
    assert case(client, auth, new["split"]["id"])["status"] == "merged"


def test_a_rejected_sighting_is_a_hard_negative_in_the_training_export(
    client: TestClient, auth: Auth, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    key = store_image(client, auth, frame(60), "image/png")
    items = [obs("1", keyframe=key, bbox=[10, 10, 50, 50]), obs("2", north=3, keyframe=key, bbox=[200, 20, 300, 60])]
    case_id = send(client, auth, items)["results"][0]["case_id"]
    second = case(client, auth, case_id)["observations"][1]["id"]
    act(client, auth, f"/api/cases/{case_id}/sightings/{second}", {"rejected": True})
    with Session(engine) as session:
        summary = export_dataset(session, settings, tmp_path / "export", Taxonomy.load())
    assert summary.negatives == 1 and summary.images == 1
    rows = (tmp_path / "export" / "observations.csv").read_text().splitlines()[1:]
    assert [row.split(",")[3] for row in rows] == ["unreviewed", "negative"]
