"""The sign register on the sample patrol clip uploaded as two patrol days: each signboard is one entry
holding both days' sightings, entries do not mix signboards, and ordinary shop signs put nothing in the
review queue.

Both days go through the real upload path (``POST /api/batches`` with the video and its GPS track,
scanned by the service's embedded worker with the shipped model and taxonomy): day 1 is the clip as it
is; day 2 is the clip re-muxed into another file (the same frames, another sha256, so it is not taken for
a duplicate) with its track a day later and every fix 8 m north. The clip's camera faces right of travel
(``SCAN_MOUNT=right``), so every sign stands on the right."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.app import create_app
from service.auth.users import create_user
from service.geometry import M_PER_DEG
from service.models.users import Role
from service.settings import Settings
from tests.e2e.test_scan import iou, strip_box
from tests.service.workers.test_batches_processing import wait_until_done

SHIFT_M = 8.0
DAYS = (date(2025, 5, 9), date(2025, 5, 10))  # the clip's track is of 2025-05-09 (UTC)
pytestmark = pytest.mark.slow  # the service scans the clip twice


def remux(source: Path, target: Path) -> None:
    """Copy the video's packets into a new MP4 file without decoding them: the same frames, other bytes."""
    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        out.metadata["comment"] = "patrol day 2"
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            packet.stream = copy
            out.mux(packet)


def next_day_track(source: Path, target: Path) -> None:
    """The GPX track a day later with every fix ``SHIFT_M`` north."""

    def north(match: re.Match[str]) -> str:
        return f'lat="{float(match[1]) + SHIFT_M / M_PER_DEG:.7f}"'

    def later(match: re.Match[str]) -> str:
        at = datetime.fromisoformat(match[1].replace("Z", "+00:00")) + timedelta(days=1)
        return f"<time>{at.isoformat().replace('+00:00', 'Z')}</time>"

    text = re.sub(r'lat="([-0-9.]+)"', north, source.read_text(encoding="utf-8"))
    target.write_text(re.sub(r"<time>([^<]+)</time>", later, text), encoding="utf-8")


def all_signs(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every register entry with its sightings, read page by page."""
    entries: list[dict[str, Any]] = []
    while True:
        page = client.get("/api/signs", params={"limit": 100, "offset": len(entries)}, headers=headers).json()
        entries += page["items"]
        if not page["items"] or len(entries) >= page["total"]:
            break
    return [client.get(f"/api/signs/{entry['id']}", headers=headers).json() for entry in entries]


@pytest.fixture(scope="module")
def two_days(
    patrol_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str], list[dict[str, Any]]]]:
    """The service after both patrol days were uploaded and processed: (client, admin headers, every
    register entry with its sightings)."""
    folder = tmp_path_factory.mktemp("register-days")
    remux(patrol_dir / "patrol.mp4", folder / "patrol-day-2.mp4")
    next_day_track(patrol_dir / "patrol.gpx", folder / "patrol-day-2.gpx")
    days = [
        (("patrol-day-1.mp4", patrol_dir / "patrol.mp4"), ("patrol-day-1.gpx", patrol_dir / "patrol.gpx")),
        (("patrol-day-2.mp4", folder / "patrol-day-2.mp4"), ("patrol-day-2.gpx", folder / "patrol-day-2.gpx")),
    ]
    settings = Settings(data_dir=folder / "data", hotspot_catalog=None, workers=1, scan_mount="right")
    with TestClient(create_app(settings)) as client:
        with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
            _, token = create_user(session, "li-admin", Role.admin)
        headers = {"Authorization": f"Bearer {token}"}
        shas = []
        for files in days:
            sent = client.post(
                "/api/batches", files=[("files", (n, p.read_bytes())) for n, p in files], headers=headers
            )
            assert sent.status_code == 202, sent.text
            batch = wait_until_done(client, headers, sent.json()["id"], timeout_s=900)
            video = batch["files"][0]
            assert batch["status"] == "done" and video["status"] == "done" and not video["duplicate"], batch
            shas.append(video["sha256"])
        assert shas[0] != shas[1]
        yield client, headers, all_signs(client, headers)


def test_each_signboard_is_one_entry_with_both_days(two_days: Any, patrol_dir: Path) -> None:
    entries = two_days[2]
    truth = json.loads((patrol_dir / "truth.json").read_text(encoding="utf-8"))
    signboards = [np.asarray(o["strip_box"]) for o in truth["objects"] if o["class"] == "signboard"]
    entries_of: dict[int, set[int]] = defaultdict(set)  # signboard -> entries holding a sighting of it
    days_of: dict[int, set[date]] = defaultdict(set)  # signboard -> days it was seen on
    boards_in: dict[int, set[int]] = defaultdict(set)  # entry -> signboards it holds
    for entry in entries:
        for o in entry["observations"]:
            overlap = [iou(strip_box(o), box) for box in signboards]
            if max(overlap) < 0.3:
                continue
            board = int(np.argmax(overlap))
            entries_of[board].add(entry["id"])
            days_of[board].add(datetime.fromisoformat(o["seen_at"]).date())
            boards_in[entry["id"]].add(board)
    assert set().union(*days_of.values()) == set(DAYS)
    assert len(entries_of) >= 0.7 * len(signboards), f"found {len(entries_of)} of {len(signboards)} signboards"
    whole = [board for board, held in entries_of.items() if len(held) == 1 and days_of[board] == set(DAYS)]
    assert len(whole) >= 0.9 * len(entries_of), {b: e for b, e in entries_of.items() if b not in whole}
    mixed = [entry for entry, boards in boards_in.items() if len(boards) > 1]
    assert len(mixed) < 0.05 * len(boards_in), {e: boards_in[e] for e in mixed}
    by_id = {entry["id"]: entry for entry in entries}
    for board in whole:
        entry = by_id[next(iter(entries_of[board]))]
        assert {datetime.fromisoformat(o["seen_at"]).date() for o in entry["observations"]} == set(DAYS)
        assert len({o["source"] for o in entry["observations"]}) == 2 and entry["crop_url"]
    assert {entry["facade"] for entry in entries} == {"right"}
    assert {o["facade"] for entry in entries for o in entry["observations"]} == {"right"}


def test_shop_signs_make_no_cases_and_lightboxes_on_the_sidewalk_do(two_days: Any) -> None:
    client, headers, entries = two_days
    assert sum(entry["kind"] == "shop_sign" for entry in entries) >= 30
    cases = client.get("/api/cases", params={"limit": 500}, headers=headers).json()["items"]
    assert {c["category"] for c in cases} <= {"lightbox_ad", "street_vendor", "goods_spill"}
    details = [client.get(f"/api/cases/{case['id']}", headers=headers).json() for case in cases]
    for case, detail in zip(cases, details, strict=True):
        assert {o["category"] for o in detail["observations"]} == {case["category"]}
    on_ground = [detail for detail in details if detail["category"] == "lightbox_ad"]
    assert on_ground
    for detail in on_ground:  # a lightbox on the sidewalk is one case, both days, and in the register
        assert len({o["source"] for o in detail["observations"]}) == 2
        assert all(o["sign_id"] is not None for o in detail["observations"])
