"""The sign register on the sample patrol clip driven on two days: each signboard is one entry holding both
days' sightings, entries do not mix signboards, and ordinary shop signs put nothing in the review queue.

The clip is scanned once (``streetscan scan``, the shipped model and taxonomy); its observations are sent
to the service through ``POST /api/observations`` twice: as they are, and as a second patrol one day later
whose GPS fixes lie 8 m off (the same as uploading a re-muxed copy with a shifted track, without scanning
the video a second time)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.app import create_app
from service.auth.users import create_user
from service.geometry import M_PER_DEG
from service.models.users import Role
from service.settings import Settings
from tests.e2e.test_scan import iou, streetscan, strip_box

SHIFT_M = 8.0


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, patrol_dir: Path) -> tuple[Path, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("register-scan")
    proc = streetscan(
        "scan", str(patrol_dir / "patrol.mp4"), "--gps", str(patrol_dir / "patrol.gpx"), "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    lines = (out / "observations.jsonl").read_text(encoding="utf-8").splitlines()
    return out, [json.loads(line) for line in lines]


def second_day(observation: dict[str, Any]) -> dict[str, Any]:
    """The observation as the next day's patrol reports it: a day later, its fix 8 m north."""
    at = datetime.fromisoformat(observation["observed_at"]) + timedelta(days=1)
    return {**observation, "observed_at": at.isoformat(), "lat": observation["lat"] + SHIFT_M / M_PER_DEG}


@pytest.fixture(scope="module")
def two_days(
    scanned: tuple[Path, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str], list[dict[str, Any]], list[dict[str, Any]]]]:
    """The service after both patrol days: (client, admin headers, observations, results of day 1 and 2
    side by side per observation)."""
    out, observations = scanned
    settings = Settings(data_dir=tmp_path_factory.mktemp("register-data"), hotspot_catalog=None)
    with TestClient(create_app(settings)) as client:
        with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
            _, token = create_user(session, "li-admin", Role.admin)
        headers = {"Authorization": f"Bearer {token}"}
        items = []
        for o in observations:
            crop = (out / o["crop"]).read_bytes()
            stored = client.post("/api/evidence", content=crop, headers={**headers, "Content-Type": "image/jpeg"})
            assert stored.status_code == 201, stored.text
            items.append({**o, "crop": stored.json()["key"], "keyframe": None})
        days = []
        for source, batch in (("patrol-day-1.mp4", items), ("patrol-day-2.mp4", [second_day(o) for o in items])):
            response = client.post("/api/observations", json={"source": source, "observations": batch}, headers=headers)
            assert response.status_code == 200, response.text
            days.append(response.json()["results"])
        yield client, headers, observations, [{"day1": a, "day2": b} for a, b in zip(*days, strict=True)]


@pytest.mark.slow
def test_each_signboard_is_one_entry_with_both_days(two_days: Any, patrol_dir: Path) -> None:
    client, headers, observations, results = two_days
    truth = json.loads((patrol_dir / "truth.json").read_text(encoding="utf-8"))
    signboards = [np.asarray(o["strip_box"]) for o in truth["objects"] if o["class"] == "signboard"]
    board_of: dict[int, int] = {}  # observation index -> the signboard its best box is
    for i, o in enumerate(observations):
        if results[i]["day1"]["sign_id"] is None:
            continue
        overlap = [iou(strip_box(o), box) for box in signboards]
        if max(overlap) >= 0.3:
            board_of[i] = int(np.argmax(overlap))
    entries_of: dict[int, set[int]] = defaultdict(set)
    boards_in: dict[int, set[int]] = defaultdict(set)
    for i, board in board_of.items():
        for day in ("day1", "day2"):
            entries_of[board].add(results[i][day]["sign_id"])
            boards_in[results[i][day]["sign_id"]].add(board)
    assert len(entries_of) >= 0.7 * len(signboards), f"found {len(entries_of)} of {len(signboards)} signboards"
    whole = [board for board, entries in entries_of.items() if len(entries) == 1]
    assert len(whole) >= 0.9 * len(entries_of), {b: e for b, e in entries_of.items() if len(e) > 1}
    mixed = [entry for entry, boards in boards_in.items() if len(boards) > 1]
    assert len(mixed) < 0.05 * len(boards_in), {e: boards_in[e] for e in mixed}
    for entry in {next(iter(entries_of[board])) for board in whole}:
        detail = client.get(f"/api/signs/{entry}", headers=headers).json()
        assert {o["source"] for o in detail["observations"]} == {"patrol-day-1.mp4", "patrol-day-2.mp4"}
        assert detail["sighting_count"] == 2 and detail["crop_url"]


@pytest.mark.slow
def test_shop_signs_make_no_cases_and_lightboxes_on_the_sidewalk_do(two_days: Any) -> None:
    client, headers, observations, results = two_days
    signs = [o["label"] for o, r in zip(observations, results, strict=True) if r["day1"]["sign_id"] is not None]
    assert signs.count("shop_sign") >= 30
    cases = client.get("/api/cases", params={"limit": 500}, headers=headers).json()["items"]
    assert {c["category"] for c in cases} <= {"lightbox_ad", "street_vendor", "goods_spill"}
    for case in cases:
        detail = client.get(f"/api/cases/{case['id']}", headers=headers).json()
        assert {o["category"] for o in detail["observations"]} == {case["category"]}
    on_ground = [r for o, r in zip(observations, results, strict=True) if o["category"] == "lightbox_ad"]
    assert on_ground and all(r["day1"]["case_id"] is not None and r["day1"]["sign_id"] for r in on_ground)
    assert all(r["day2"]["case_id"] == r["day1"]["case_id"] for r in on_ground)
