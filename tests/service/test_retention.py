"""Retention: with short settings a cleanup deletes exactly the expired evidence nothing else needs (the
store and upload folders listed before and after), records each deletion in the chain, collects store
files nothing names, and leaves an open case's evidence alone."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from service.chain import verify
from service.cli import main
from service.evidence import evidence_store, is_key
from service.models.batches import Job, JobStatus
from service.models.chain import ChainEntry, EntryKind
from service.privacy import index_name
from service.retention import cleanup
from service.settings import Settings
from service.workers.maintenance import run_maintenance
from service.writer import Writer
from tests.service.builders import Auth, dispose_and_verify, jpeg, obs, post, send, store_image
from tests.service.conftest import Clock
from tests.service.places import polygon, square

NOW = datetime.now(UTC)
RETENTION = {
    "retention_video_days": 30,
    "retention_rejected_keyframe_days": 30,
    "retention_closed_crop_days": 30,
    "retention_uncased_days": 30,
    "retention_unreferenced_days": 7,
}


def evidence_files(root: Path) -> list[str]:
    """The keys of the images in the evidence folder ``root``, sorted."""
    return sorted(key for path in root.glob("??/*") if is_key(key := path.relative_to(root).as_posix()))


def decide(client: TestClient, auth: Auth, case_id: int, *statuses: str) -> None:
    for status in statuses:
        if status in ("confirm", "reject"):
            post(client, auth["reviewer"], f"/api/cases/{case_id}/review", {"decision": status})
        elif status == "resolved":
            dispose_and_verify(client, auth, case_id)
        else:
            post(client, auth["reviewer"], f"/api/cases/{case_id}/status", {"status": status})


def job(engine: Engine, settings: Settings, sha: str, finished: datetime) -> str:
    """A processed upload whose video is still kept; its observation source."""
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    (settings.upload_dir / f"{sha[:8]}.mp4").write_bytes(b"video")
    with Session(engine) as session:
        row = Job(sha256=sha, name="a.mp4", video=f"{sha[:8]}.mp4", status=JobStatus.done, finished_at=finished)
        session.add(row)
        session.commit()
        return row.source


@pytest.fixture
def stored(client: TestClient, auth: Auth, engine: Engine, settings: Settings, clock: Clock) -> dict[str, Any]:
    """Cases in every state, 40 days ago unless said otherwise, with their images named by letter."""
    clock.now = NOW - timedelta(days=40)
    image = {name: store_image(client, auth, jpeg(shade)) for name, shade in zip("abcdefgh", range(20, 240, 25))}
    zone = {
        "type": "Feature",
        "id": "vz",
        "geometry": polygon(square(0, 3000, 30)),
        "properties": {"kind": "vending_zone", "name": "便民点"},
    }
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [zone]})
    old_video = job(engine, settings, "1" * 64, clock.now)
    open_video = job(engine, settings, "2" * 64, clock.now)
    results = send(
        client,
        auth,
        [
            obs("1", north=0, crop=image["a"], keyframe=image["b"]),  # to be rejected
            obs("2", north=300, crop=image["c"], keyframe=image["d"]),  # to be closed
            obs("3", north=600, crop=image["e"], keyframe=image["f"]),  # to be rejected, its keyframe ...
            obs("5", north=0, east=3000, crop=image["g"]),  # in the vending point: no case
        ],
        source=old_video,
    )["results"]
    rejected, closed, rejected_shared, uncased = (r["case_id"] for r in results)
    assert uncased is None
    (kept_open,) = send(client, auth, [obs("4", north=900, keyframe=image["f"])], source=open_video)["results"]
    decide(client, auth, rejected, "reject")
    decide(client, auth, rejected_shared, "reject")
    decide(client, auth, closed, "confirm", "resolved", "closed")
    clock.now = NOW - timedelta(days=1)
    (recent,) = send(client, auth, [obs("6", north=1200, crop=image["h"])], source="video-9")["results"]
    decide(client, auth, recent["case_id"], "confirm", "resolved", "closed")
    unused_old, unused_new = (store_image(client, auth, jpeg(shade, (8, 8))) for shade in (5, 250))
    eight_days_ago = (NOW - timedelta(days=8)).timestamp()
    os.utime(settings.evidence_dir / unused_old, times=(eight_days_ago, eight_days_ago))
    return {
        "image": image,
        "rejected": rejected,
        "closed": closed,
        "open": kept_open["case_id"],
        "unused": (unused_old, unused_new),
    }


def test_a_cleanup_deletes_exactly_what_expired_and_nothing_needs_it(
    client: TestClient, auth: Auth, engine: Engine, settings: Settings, stored: dict[str, Any]
) -> None:
    image, (unused_old, unused_new) = stored["image"], stored["unused"]
    short = settings.model_copy(update=RETENTION)
    blurred = client.get(f"/api/cases/{stored['open']}/evidence-report", headers=auth["uploader"])
    assert blurred.status_code == 200
    copy = (settings.evidence_dir / index_name(image["f"])).read_text()
    files = evidence_files(settings.evidence_dir)
    assert files == sorted([*image.values(), unused_old, unused_new, copy])
    videos = sorted(p.name for p in settings.upload_dir.iterdir())
    assert videos == ["11111111.mp4", "22222222.mp4"]

    with Session(engine) as session:
        done = cleanup(session, Writer(engine), short, NOW)

    gone = {image["b"], image["c"], image["g"], unused_old}
    # b: keyframe of a rejected case; c: crop of a closed case; g: an observation with no case;
    # unused_old: named by nothing for 8 days. Kept: a, e (crops of rejected cases), d (a closed case's
    # keyframe), f (a rejected case's keyframe an open case names too), h (closed a day ago), the new
    # unused upload, and the blurred copy of f.
    assert evidence_files(settings.evidence_dir) == sorted(set(files) - gone)
    assert sorted(p.name for p in settings.upload_dir.iterdir()) == ["22222222.mp4"]  # its case is open
    assert done.videos == ["11111111.mp4"] and sorted(done.files) == sorted(gone - {unused_old})
    assert done.collected == [unused_old]
    assert done.lines()[-1] == "cleanup: 1 videos, 3 evidence files, 1 unreferenced store files deleted"
    with Session(engine) as session:
        deletions = session.exec(select(ChainEntry).where(ChainEntry.kind == EntryKind.deletion)).all()
        assert sorted((d.case_id or 0, json.loads(d.record)["key"]) for d in deletions) == sorted(
            [(0, image["g"]), (stored["closed"], image["c"]), (stored["rejected"], image["b"])]
        )
        assert verify(session, evidence_store(settings)).clean  # deleted by retention is not missing
        with Session(engine) as again:
            assert cleanup(again, Writer(engine), short, NOW).lines() == [
                "cleanup: 0 videos, 0 evidence files, 0 unreferenced store files deleted"
            ]
    report = client.get(f"/api/cases/{stored['closed']}/evidence-report", headers=auth["reviewer"]).text
    assert "已按保留期限删除" in report and Path(image["c"]).stem in report


def test_blurred_copies_of_gone_images_are_collected(
    client: TestClient, auth: Auth, engine: Engine, settings: Settings, stored: dict[str, Any]
) -> None:
    client.get(f"/api/cases/{stored['closed']}/evidence-report", headers=auth["uploader"])
    index = settings.evidence_dir / index_name(stored["image"]["c"])
    copy = index.read_text()
    with Session(engine) as session:
        done = cleanup(session, Writer(engine), settings.model_copy(update=RETENTION), NOW)
    assert not index.exists() and not (settings.evidence_dir / copy).exists()
    assert copy in done.collected


def test_the_command(
    engine: Engine, settings: Settings, stored: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("STREETSCAN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("STREETSCAN_DATA_DIR", str(settings.data_dir))
    for name, value in RETENTION.items():
        monkeypatch.setenv(f"STREETSCAN_{name.upper()}", str(value))
    assert main(["cleanup"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "video 11111111.mp4: processed and past retention"
    assert f"evidence {stored['image']['c']}: crop of a closed case" in out
    assert out[-1] == "cleanup: 1 videos, 3 evidence files, 1 unreferenced store files deleted"
    with Session(engine) as session:
        assert len(session.exec(select(ChainEntry).where(col(ChainEntry.kind) == EntryKind.deletion)).all()) == 3


def test_the_periodic_run_anchors_the_chain_and_cleans_up(
    engine: Engine, settings: Settings, stored: dict[str, Any]
) -> None:
    with Session(engine) as session:
        before = session.exec(select(func.max(ChainEntry.seq))).one()
    run_maintenance(engine, settings.model_copy(update=RETENTION), Writer(engine), NOW)
    with Session(engine) as session:
        anchored = session.get_one(ChainEntry, before)
        report = verify(session, evidence_store(settings), settings.anchor_file)
    assert settings.anchor_file.read_text() == f"{NOW.isoformat()} seq={before} hash={anchored.hash}\n"
    assert report.clean and report.head is not None and report.head.seq == before + 3  # the deletions
    assert stored["unused"][0] not in evidence_files(settings.evidence_dir)
