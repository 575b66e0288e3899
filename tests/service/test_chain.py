"""The evidence chain: observations and decisions appended as they are stored, and ``verify`` naming
each edited, missing, reordered or unchained item (on SQLite and PostgreSQL)."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from service.chain import GENESIS, Provenance, Report, anchor, entry_hash, model_provenance, verify
from service.cli import main
from service.evidence import evidence_store
from service.ingest import ingest
from service.models.base import row_id
from service.models.batches import Job, JobStatus
from service.models.cases import CaseEvent
from service.models.chain import ChainEntry, EntryKind
from service.models.observations import ObservationRow
from service.settings import Settings
from service.workers.jobs import process_video
from tests.service.builders import Auth, jpeg, obs, post, send, store_image
from tests.service.test_concurrent_decisions import racing
from vision import Observation


@pytest.fixture
def evidence(client: TestClient, auth: Auth) -> dict[str, Any]:
    """Two cases, each with a crop and a keyframe; the first confirmed, then dispatched."""
    images = [store_image(client, auth, jpeg(shade)) for shade in (40, 80, 120, 160)]
    items = [
        obs("1", crop=images[0], keyframe=images[1]),
        obs("2", north=300, crop=images[2], keyframe=images[3]),
    ]
    first, second = (r["case_id"] for r in send(client, auth, items)["results"])
    post(client, auth["reviewer"], f"/api/cases/{first}/review", {"decision": "confirm"})
    post(client, auth["reviewer"], f"/api/cases/{first}/status", {"status": "dispatched"})
    return {"cases": (first, second), "images": images}


def check(engine: Engine, settings: Settings) -> Report:
    with Session(engine) as session:
        return verify(session, evidence_store(settings), settings.anchor_file)


def entries(engine: Engine) -> list[ChainEntry]:
    with Session(engine) as session:
        return list(session.exec(select(ChainEntry).order_by(col(ChainEntry.seq))))


def sql(engine: Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)


def test_every_observation_and_decision_is_chained_in_order(
    engine: Engine, settings: Settings, evidence: dict[str, Any]
) -> None:
    first, second = evidence["cases"]
    chain = entries(engine)
    kinds = [(e.kind, e.case_id) for e in chain]
    assert kinds == [
        (EntryKind.observation, first),
        (EntryKind.observation, second),
        (EntryKind.case_event, first),  # created
        (EntryKind.case_event, second),  # created
        (EntryKind.case_event, first),  # confirmed
        (EntryKind.case_event, first),  # dispatched
    ]
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5, 6]
    assert chain[0].prev_hash == GENESIS
    assert all(e.prev_hash == before.hash and e.hash == entry_hash(e) for before, e in itertools.pairwise(chain))
    crop, keyframe = evidence["images"][:2]
    assert json.loads(chain[0].record)["crop"] == crop and json.loads(chain[0].record)["keyframe"] == keyframe
    assert [json.loads(e.record)["to_status"] for e in chain[4:]] == ["confirmed", "dispatched"]


def test_a_refused_decision_adds_nothing(
    client: TestClient, auth: Auth, engine: Engine, evidence: dict[str, Any]
) -> None:
    first, _ = evidence["cases"]
    response = client.post(f"/api/cases/{first}/status", json={"status": "closed"}, headers=auth["reviewer"])
    assert response.status_code == 409
    assert len(entries(engine)) == 6


def test_a_clean_store_verifies(engine: Engine, settings: Settings, evidence: dict[str, Any]) -> None:
    report = check(engine, settings)
    assert report.clean and report.entries == 6 and report.files == 4
    assert report.lines()[-1].startswith("evidence intact: 6 chain entries and 4 evidence files checked; head 6 ")


def test_one_byte_of_a_crop_edited(engine: Engine, settings: Settings, evidence: dict[str, Any]) -> None:
    crop = evidence["images"][0]
    path = settings.evidence_dir / crop
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    report = check(engine, settings)
    assert [str(p) for p in report.problems] == [
        f"edited: crop {crop} of observation 1 (chain entry 1): the file's bytes changed "
        f"(affects case {evidence['cases'][0]})"
    ]


def test_a_keyframe_deleted(engine: Engine, settings: Settings, evidence: dict[str, Any]) -> None:
    keyframe = evidence["images"][3]
    (settings.evidence_dir / keyframe).unlink()
    report = check(engine, settings)
    assert [str(p) for p in report.problems] == [
        f"missing: keyframe {keyframe} of observation 2 (chain entry 2): the file is gone "
        f"(affects case {evidence['cases'][1]})"
    ]


def test_a_decision_row_changed_in_the_database(engine: Engine, settings: Settings, evidence: dict[str, Any]) -> None:
    first, _ = evidence["cases"]
    sql(engine, "UPDATE case_events SET to_status = 'rejected' WHERE to_status = 'confirmed'")
    report = check(engine, settings)
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert problem.what == "changed" and problem.affects == f"case {first}"
    assert problem.item.startswith("case event 3: review new->confirmed by reviewer-1 at 2025-05-12T01:00:00")
    assert problem.item.endswith("(chain entry 5): database row differs in to_status")


def test_a_case_status_changed_in_the_database(engine: Engine, settings: Settings, evidence: dict[str, Any]) -> None:
    first, _ = evidence["cases"]
    sql(engine, f"UPDATE cases SET status = 'closed' WHERE id = {first}")
    (problem,) = check(engine, settings).problems
    assert str(problem) == (
        f"changed: case {first} is closed in the database, but the last chained decision, case event 4: "
        "status confirmed->dispatched by reviewer-1 at 2025-05-12T01:00:00+00:00 (chain entry 6), made it "
        f"dispatched (affects case {first})"
    )


def test_rows_deleted_or_added_around_the_service(engine: Engine, settings: Settings, evidence: dict[str, Any]) -> None:
    first, second = evidence["cases"]
    sql(engine, "DELETE FROM case_events WHERE to_status = 'confirmed'")
    sql(
        engine,
        "INSERT INTO case_events (case_id, at, action, from_status, to_status) "
        f"VALUES ({second}, '2025-05-12 02:00:00', 'status', 'new', 'rejected')",
    )
    problems = [(p.what, p.affects) for p in check(engine, settings).problems]
    assert problems == [("missing", f"case {first}"), ("unchained", f"case {second}")]


def test_entries_reordered_or_edited(engine: Engine, settings: Settings, evidence: dict[str, Any]) -> None:
    sql(engine, "UPDATE evidence_chain SET seq = 100 WHERE seq = 3")
    sql(engine, "UPDATE evidence_chain SET seq = 3 WHERE seq = 4")
    sql(engine, "UPDATE evidence_chain SET seq = 4 WHERE seq = 100")
    sql(engine, "UPDATE evidence_chain SET at = '2025-01-01 00:00:00' WHERE seq = 6")
    problems = [(p.what, p.item.split(" (")[0]) for p in check(engine, settings).problems]
    assert problems == [
        ("reordered", "case event 2: created ->new by uploader-1 at 2025-05-12T01:00:00+00:00"),
        ("edited", "chain entry 3"),
        ("reordered", "case event 1: created ->new by uploader-1 at 2025-05-12T01:00:00+00:00"),
        ("edited", "chain entry 4"),
        ("reordered", "case event 3: review new->confirmed by reviewer-1 at 2025-05-12T01:00:00+00:00"),
        ("edited", "chain entry 6"),
    ]


def test_a_rewritten_chain_breaks_its_anchor(engine: Engine, settings: Settings, evidence: dict[str, Any]) -> None:
    with Session(engine) as session:
        written = anchor(session, settings.anchor_file, evidence_time())
    assert written is not None and written.seq == 6
    assert check(engine, settings).clean
    sql(engine, "UPDATE case_events SET note = 'changed' WHERE to_status = 'dispatched'")
    with Session(engine) as session:  # rewrite the last entry to match the edited row, as a forger would
        last = session.get_one(ChainEntry, 6)
        record = json.loads(last.record)
        last.record = json.dumps({**record, "note": "changed"}, sort_keys=True, separators=(",", ":"))
        last.hash = entry_hash(last)
        session.add(last)
        session.commit()
    problems = check(engine, settings).problems
    assert [p.what for p in problems] == ["anchor"]
    assert "the chain up to entry 6 is not the one anchored at" in problems[0].item


def evidence_time() -> datetime:
    return datetime(2025, 5, 12, 3, 0, tzinfo=UTC)


def test_the_commands(
    engine: Engine, settings: Settings, evidence: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("STREETSCAN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("STREETSCAN_DATA_DIR", str(settings.data_dir))
    assert main(["anchor"]) == 0
    assert settings.anchor_file.read_text().count("seq=6 hash=") == 1
    assert main(["verify"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("evidence intact: 6 chain entries")
    (settings.evidence_dir / evidence["images"][0]).unlink()
    assert main(["verify"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"missing: crop {evidence['images'][0]}") and out[-1].startswith("1 problems")


def test_observations_record_where_they_came_from(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"weights")
    found = model_provenance(weights, "ab" * 32)
    assert found == Provenance("w.pt", hashlib.sha256(b"weights").hexdigest(), "ab" * 32)
    item = Observation("7", "street_vendor", "person", 0.9, 1.0, 2.0, 1.5, None, [0, 0, 4, 4], None, None, None)
    with Session(engine) as session:
        ingest(session, settings, "video-1", [item], None, evidence_time(), found)
    (entry,) = entries(engine)[:1]
    record = json.loads(entry.record)
    assert (record["model"], record["model_sha256"], record["source_sha256"]) == (
        "w.pt",
        found.model_sha256,
        "ab" * 32,
    )
    assert check(engine, settings).clean


def test_racing_writers_append_one_unbroken_chain(
    client: TestClient, auth: Auth, engine: Engine, settings: Settings
) -> None:
    cases = [r["case_id"] for r in send(client, auth, [obs(str(i), north=300 * i) for i in range(6)])["results"]]
    sightings = [functools.partial(send, client, auth, [obs(f"s{i}", north=300 * i)], f"cam-{i}") for i in range(6)]
    decisions = [
        functools.partial(post, client, auth["reviewer"], f"/api/cases/{c}/review", {"decision": "confirm"})
        for c in cases
    ]
    racing(*sightings, *decisions)
    report = check(engine, settings)
    assert report.clean, report.lines()
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(ObservationRow)).one()
        events = session.exec(select(func.count()).select_from(CaseEvent)).one()
    assert (rows, events) == (12, 12) and report.entries == 24


class OneSighting:
    """Stands in for a Scanner: one vendor with a crop, in any video."""

    def observations(self, video: Path, out_dir: Path, gps: Any, on_frame: Any, stats: Any) -> Iterator[Observation]:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "c.jpg").write_bytes(jpeg(90))
        yield Observation("1", "street_vendor", "person", 0.9, 0.0, 1.0, 0.5, None, [0, 0, 4, 4], None, None, "c.jpg")


def test_a_processed_video_records_its_weights_and_its_own_hash(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    weights = tmp_path / "detector.pt"
    weights.write_bytes(b"some weights")
    job_settings = settings.model_copy(update={"model_path": weights})
    job_settings.upload_dir.mkdir(parents=True)
    (job_settings.upload_dir / "v.mp4").write_bytes(b"video")
    with Session(engine) as session:
        job = Job(sha256="c" * 64, name="v.mp4", video="v.mp4", duration_s=1.0)
        session.add(job)
        session.commit()
        job_id = row_id(job)
    assert process_video(engine, job_settings, job_id, scanner=OneSighting) == JobStatus.done
    (entry,) = entries(engine)[:1]
    record = json.loads(entry.record)
    assert (record["model"], record["model_sha256"], record["source_sha256"]) == (
        "detector.pt",
        hashlib.sha256(b"some weights").hexdigest(),
        "c" * 64,
    )
    assert record["crop"] == f"{hashlib.sha256(jpeg(90)).hexdigest()[:2]}/{hashlib.sha256(jpeg(90)).hexdigest()}.jpg"
    assert check(engine, settings).clean


def test_corrections_keep_the_chain_clean(engine: Engine, settings: Settings, client: TestClient, auth: Auth) -> None:
    """Merge, unmerge, split, a rejected sighting and an undo move sightings and statuses through the
    service: each is a chained case event, so verify finds nothing wrong."""
    first = [
        r["case_id"]
        for r in send(client, auth, [obs("1"), obs("2", north=2), obs("3", north=1), obs("4", north=200)])["results"]
    ]
    a, b = first[0], first[3]
    reviewer = auth["reviewer"]

    def version(case_id: int) -> int:
        return int(client.get(f"/api/cases/{case_id}", headers=reviewer).json()["version"])

    decided = post(client, reviewer, f"/api/cases/{a}/review", {"decision": "confirm"})
    post(client, reviewer, f"/api/cases/{a}/undo", {"version": decided["version"]})
    post(client, reviewer, f"/api/cases/{b}/merge", {"into": a, "version": version(b)})
    post(client, reviewer, f"/api/cases/{b}/unmerge", {"version": version(b)})
    ids = [o["id"] for o in client.get(f"/api/cases/{a}", headers=reviewer).json()["observations"]]
    post(client, reviewer, f"/api/cases/{a}/sightings/{ids[0]}", {"rejected": True, "version": version(a)})
    post(client, reviewer, f"/api/cases/{a}/split", {"observation_ids": [ids[1]], "version": version(a)})
    report = check(engine, settings)
    assert report.clean, report.lines()
