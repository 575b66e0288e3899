"""POST /api/batches without processing (no workers): streaming intake, size limit, per-file
checks, GPS pairing, duplicates, roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from service.batches import incoming
from service.models.batches import Job, JobStatus
from service.settings import Settings
from tests.service.builders import Auth
from tests.vision.conftest import MakeVideo

MIB = 1024 * 1024
GPX = """<?xml version="1.0"?><gpx version="1.1"><trk><trkseg>
<trkpt lat="35.4950" lon="112.8500"><time>2025-05-09T09:30:00Z</time></trkpt>
<trkpt lat="35.4950" lon="112.8510"><time>2025-05-09T09:30:30Z</time></trkpt>
</trkseg></trk></gpx>"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"workers": 0, "max_upload_mb": 2.0})


def upload(
    client: TestClient, headers: dict[str, str], files: list[tuple[str, bytes]], fields: dict[str, Any] | None = None
) -> Any:
    """POST the files (name, bytes) as a batch."""
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    return client.post("/api/batches", files=parts, data=fields or {}, headers=headers)


def accepted(response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    return response.json()


def by_name(batch: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in batch["files"]}


def jobs(engine: Engine) -> list[Job]:
    with Session(engine) as session:
        return list(session.exec(select(Job).order_by(col(Job.id))))


def test_each_bad_file_is_reported_and_the_rest_goes_on(
    client: TestClient, auth: Auth, settings: Settings, engine: Engine, make_video: MakeVideo
) -> None:
    video = make_video("street.mp4", seconds=2).read_bytes()
    faststart = make_video("long.mp4", seconds=3, args=("-movflags", "+faststart")).read_bytes()
    batch = accepted(
        upload(
            client,
            auth["uploader"],
            [
                ("street.mp4", video),
                ("street.gpx", GPX.encode()),
                ("notes.mp4", b"this is not a video\n"),
                ("empty.mp4", b""),
                ("cut.mp4", faststart[: len(faststart) * 2 // 3]),
                ("route.gpx", b"lat lon\nsomewhere\n"),
            ],
        )
    )
    files = by_name(batch)
    assert files["street.mp4"]["status"] == "queued" and files["street.mp4"]["gps"] == "street.gpx"
    assert files["street.mp4"]["size"] == len(video) and files["street.mp4"]["error"] is None
    assert files["street.gpx"]["status"] == "attached"
    reasons = {"notes.mp4": "cannot open video", "empty.mp4": "empty", "cut.mp4": "truncated", "route.gpx": "GPS"}
    for name, reason in reasons.items():
        assert files[name]["status"] == "rejected", files[name]
        assert reason in files[name]["error"] and files[name]["error"].startswith(name), files[name]["error"]
    assert batch["status"] == "queued" and batch["progress"] == 0
    [job] = jobs(engine)
    assert job.video and job.gps
    assert job.status == JobStatus.queued and (settings.upload_dir / job.video).read_bytes() == video
    assert job.sha256 == files["street.mp4"]["sha256"] and (settings.upload_dir / job.gps).read_bytes() == GPX.encode()
    assert list(incoming(settings).iterdir()) == []  # nothing left behind


def test_a_video_with_an_unreadable_track_waits_for_a_good_one(
    client: TestClient, auth: Auth, engine: Engine, make_video: MakeVideo
) -> None:
    video = make_video("a.mp4", seconds=1).read_bytes()
    batch = accepted(upload(client, auth["uploader"], [("a.mp4", video), ("a.gpx", b"<gpx><trk>")]))
    files = by_name(batch)
    assert files["a.mp4"]["status"] == "rejected" and "a.gpx is unreadable" in files["a.mp4"]["error"]
    assert files["a.gpx"]["status"] == "rejected" and batch["status"] == "failed" and jobs(engine) == []
    again = accepted(upload(client, auth["uploader"], [("a.mp4", video), ("a.gpx", GPX.encode())]))
    assert by_name(again)["a.mp4"]["status"] == "queued" and not by_name(again)["a.mp4"]["duplicate"]


def test_gps_for_pairs_one_track_with_several_videos(
    client: TestClient, auth: Auth, engine: Engine, make_video: MakeVideo
) -> None:
    one = make_video("one.mp4", seconds=1).read_bytes()
    two = make_video("two.mp4", seconds=1, source="color=c=red").read_bytes()
    fields = {"gps_for": ["one.mp4=day.gpx", "two.mp4 = day.gpx"]}
    sent = [("one.mp4", one), ("two.mp4", two), ("day.gpx", GPX.encode())]
    files = by_name(accepted(upload(client, auth["uploader"], sent, fields)))
    assert files["one.mp4"]["gps"] == files["two.mp4"]["gps"] == "day.gpx"
    tracks = {job.gps for job in jobs(engine)}
    assert len(tracks) == 1 and None not in tracks
    lonely = accepted(upload(client, auth["uploader"], [("elsewhere.gpx", GPX.encode())]))
    assert "no video of this batch goes with it" in by_name(lonely)["elsewhere.gpx"]["error"]


@pytest.mark.parametrize(
    ("files", "fields", "reason"),
    [
        ([("x.mp4", b"x")], {"gps_for": "x.mp4"}, "VIDEO=TRACK"),
        ([("x.mp4", b"x")], {"gps_for": "x.mp4=y.gpx"}, "VIDEO=TRACK"),
        ([("x.mp4", b"x")], {"note": "hello"}, "unknown form field"),
    ],
)
def test_malformed_batch_is_422(
    client: TestClient, auth: Auth, engine: Engine, files: list[tuple[str, bytes]], fields: dict[str, Any], reason: str
) -> None:
    response = upload(client, auth["uploader"], files, fields)
    assert response.status_code == 422 and reason in response.json()["detail"]
    assert jobs(engine) == []


def test_fields_without_files_is_422(client: TestClient, auth: Auth) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="gps_for"\r\n\r\nx.mp4=y.gpx\r\n--b--\r\n'
    headers = {**auth["uploader"], "Content-Type": "multipart/form-data; boundary=b"}
    response = client.post("/api/batches", content=body, headers=headers)
    assert response.status_code == 422 and "no files" in response.json()["detail"]


def test_body_cut_off_inside_a_file_is_400(client: TestClient, auth: Auth, settings: Settings) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.mp4"\r\n\r\npartial video'
    headers = {**auth["uploader"], "Content-Type": "multipart/form-data; boundary=b"}
    response = client.post("/api/batches", content=body, headers=headers)
    assert response.status_code == 400 and "closing boundary" in response.json()["detail"]
    assert list(incoming(settings).iterdir()) == []


def test_not_multipart_is_415(client: TestClient, auth: Auth) -> None:
    response = client.post("/api/batches", json={"files": []}, headers=auth["uploader"])
    assert response.status_code == 415


def test_same_video_twice_is_processed_once(
    client: TestClient, auth: Auth, engine: Engine, make_video: MakeVideo
) -> None:
    video = make_video("a.mp4", seconds=1).read_bytes()
    first = by_name(accepted(upload(client, auth["uploader"], [("a.mp4", video), ("copy of a.mp4", video)])))
    assert not first["a.mp4"]["duplicate"] and first["copy of a.mp4"]["duplicate"]
    second = by_name(accepted(upload(client, auth["uploader"], [("a-again.mp4", video)])))["a-again.mp4"]
    assert second["duplicate"] and second["job_id"] == first["a.mp4"]["job_id"] == first["copy of a.mp4"]["job_id"]
    assert len(jobs(engine)) == 1
    listing = client.get("/api/batches", headers=auth["reviewer"]).json()
    assert listing["total"] == 2 and [b["files"][0]["name"] for b in listing["items"]] == ["a-again.mp4", "a.mp4"]
    with Session(engine) as session:  # a job that failed for good is queued again by a new upload
        job = session.get(Job, second["job_id"])
        job.status, job.attempts, job.error = JobStatus.failed, 3, "boom"
        session.add(job)
        session.commit()
    retry = by_name(accepted(upload(client, auth["uploader"], [("a.mp4", video)])))["a.mp4"]
    assert retry["duplicate"] and retry["status"] == "queued" and retry["attempts"] == 0 and retry["error"] is None


def _body(size: int) -> Iterator[bytes]:
    """A multipart body of one ``size``-byte file, streamed in 64 KiB chunks (no Content-Length)."""
    yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.mp4"\r\n\r\n'
    for _ in range(size // 65536):
        yield b"\0" * 65536
    yield b"\r\n--b--\r\n"


def test_upload_over_the_limit_is_413_and_the_server_stays_healthy(
    client: TestClient, auth: Auth, settings: Settings, engine: Engine, make_video: MakeVideo
) -> None:
    told = upload(client, auth["uploader"], [("big.mp4", b"\0" * (3 * MIB))])  # Content-Length says so
    assert told.status_code == 413 and "limit is 2 MiB" in told.json()["detail"]
    headers = {**auth["uploader"], "Content-Type": "multipart/form-data; boundary=b"}
    streamed = client.post("/api/batches", content=_body(3 * MIB), headers=headers)  # found out midway
    assert streamed.status_code == 413 and "limit is 2 MiB" in streamed.json()["detail"]
    assert list(incoming(settings).iterdir()) == [] and jobs(engine) == []
    assert client.get("/api/health").status_code == 200
    accepted(upload(client, auth["uploader"], [("small.mp4", make_video("small.mp4", seconds=1).read_bytes())]))


def test_only_uploaders_upload_and_token_holders_read(client: TestClient, auth: Auth, make_video: MakeVideo) -> None:
    video = [("a.mp4", make_video("a.mp4", seconds=1).read_bytes())]
    assert upload(client, {}, video).status_code == 401
    assert upload(client, auth["reviewer"], video).status_code == 403
    batch = accepted(upload(client, auth["admin"], video))
    assert client.get(f"/api/batches/{batch['id']}").status_code == 401
    assert client.get(f"/api/batches/{batch['id']}", headers=auth["reviewer"]).json()["files"][0]["name"] == "a.mp4"
    assert client.get("/api/batches/999", headers=auth["reviewer"]).status_code == 404
