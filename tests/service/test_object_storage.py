"""Evidence and uploads in an S3-compatible bucket (moto's server on loopback): content-addressed
keys, served through the same routes, videos that reach the job runner from the bucket, and the
evidence chain, blurred copies and retention cleanup on the bucket."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from service.app import create_app
from service.chain import verify
from service.evidence import evidence_store
from service.models.base import utcnow
from service.models.batches import Job, JobStatus
from service.privacy import blurred_key, index_name
from service.retention import cleanup
from service.settings import Settings
from service.storage import LocalStore, S3Store, open_store
from service.workers.jobs import process_video
from service.writer import Writer
from tests.service.builders import Auth, jpeg, obs, post, send, store_image
from tests.service.s3 import Bucket, s3_settings
from vision import Frame, Observation

EVIDENCE = "s3://{bucket}/city/evidence"
UPLOADS = "s3://{bucket}/city/uploads"


@pytest.fixture
def bucket_settings(settings: Settings, s3_endpoint: str, bucket: Bucket) -> Settings:
    """Evidence and uploads in the test bucket, no job workers (the tests run jobs themselves)."""
    return s3_settings(settings, s3_endpoint, bucket, evidence_url=EVIDENCE, upload_url=UPLOADS).model_copy(
        update={"workers": 0}
    )


@pytest.fixture
def bucket_client(engine: Engine, bucket_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(bucket_settings)) as test_client:
        yield test_client


def test_store_urls(settings: Settings) -> None:
    assert isinstance(open_store("", settings.evidence_dir, settings), LocalStore)
    store = open_store("s3://photos/city/a/", settings.evidence_dir, settings)
    assert isinstance(store, S3Store) and (store.bucket, store.prefix) == ("photos", "city/a")
    for url in ("file:///tmp/x", "s3://", "/var/evidence"):
        with pytest.raises(ValueError, match="s3://bucket/prefix"):
            open_store(url, settings.evidence_dir, settings)


def test_evidence_in_a_bucket_is_content_addressed_and_served(
    bucket_client: TestClient, auth: Auth, bucket: Bucket, bucket_settings: Settings
) -> None:
    crop, keyframe = jpeg(40), jpeg(200, (64, 48))
    crop_key, keyframe_key = store_image(bucket_client, auth, crop), store_image(bucket_client, auth, keyframe)
    assert crop_key == f"{hashlib.sha256(crop).hexdigest()[:2]}/{hashlib.sha256(crop).hexdigest()}.jpg"
    assert store_image(bucket_client, auth, crop) == crop_key  # the same bytes, the same key
    assert bucket.objects() == {f"city/evidence/{crop_key}": crop, f"city/evidence/{keyframe_key}": keyframe}
    assert not bucket_settings.evidence_dir.exists()  # nothing went to the local folder

    missing = "ab/ab" + "0" * 62 + ".jpg"
    result = send(bucket_client, auth, [obs("1", crop=crop_key, keyframe=keyframe_key), obs("2", crop=missing)])
    kept, refused = result["results"]
    assert kept["outcome"] == "created" and "no image" in refused["error"]
    case = bucket_client.get(f"/api/cases/{kept['case_id']}", headers=auth["reviewer"]).json()
    [observation] = case["observations"]
    for url, data in ((observation["crop_url"], crop), (observation["keyframe_url"], keyframe)):
        image = bucket_client.get(url, headers=auth["reviewer"])
        assert image.status_code == 200 and image.content == data
        assert image.headers["content-type"] == "image/jpeg" and image.headers["x-content-type-options"] == "nosniff"
        assert bucket_client.get(url).status_code == 401


class OneSighting:
    """Stands in for a Scanner: remembers the bytes of the video it was given and reports one object,
    its crop written where a scan writes it."""

    def __init__(self) -> None:
        self.videos: list[bytes] = []

    def observations(self, video: Path, out_dir: Path, gps: Any, on_frame: Any, stats: Any) -> Iterator[Observation]:
        self.videos.append(video.read_bytes())
        on_frame(Frame(0, 0.0, np.zeros((4, 4, 3), dtype=np.uint8)))
        (out_dir / "crops").mkdir(parents=True, exist_ok=True)
        (out_dir / "crops" / "1.jpg").write_bytes(jpeg(77))
        yield Observation(**obs("1", crop="crops/1.jpg"))


def test_an_uploaded_video_reaches_the_job_runner_through_the_bucket(
    bucket_client: TestClient, auth: Auth, bucket: Bucket, bucket_settings: Settings, engine: Engine, clip: Path
) -> None:
    data = clip.read_bytes()
    response = bucket_client.post(
        "/api/batches", files=[("files", ("drive.mp4", data, "video/mp4"))], headers=auth["uploader"]
    )
    assert response.status_code == 202, response.text
    sha = hashlib.sha256(data).hexdigest()
    assert bucket.objects() == {f"city/uploads/{sha}.mp4": data}
    assert not any(p.is_file() for p in bucket_settings.upload_dir.rglob("*"))
    with Session(engine) as session:
        job = session.exec(select(Job)).one()
    scanner = OneSighting()
    settings = bucket_settings.model_copy(update={"video_retention": "delete"})
    assert job.id is not None
    assert process_video(engine, settings, job.id, scanner=lambda: scanner) == JobStatus.done
    assert scanner.videos == [data]
    crop = jpeg(77)
    digest = hashlib.sha256(crop).hexdigest()
    assert bucket.objects() == {f"city/evidence/{digest[:2]}/{digest}.jpg": crop}  # the video deleted once done
    assert not (settings.data_dir / "work").exists() or not any((settings.data_dir / "work").iterdir())


def test_blurred_copies_verify_and_cleanup_work_on_a_bucket(
    bucket_client: TestClient, auth: Auth, bucket: Bucket, bucket_settings: Settings, engine: Engine
) -> None:
    crop, keyframe, unused = jpeg(40), jpeg(200, (64, 48)), jpeg(90, (8, 8))
    crop_key, keyframe_key, unused_key = (store_image(bucket_client, auth, data) for data in (crop, keyframe, unused))
    [result] = send(bucket_client, auth, [obs("1", crop=crop_key, keyframe=keyframe_key)])["results"]
    case = bucket_client.get(f"/api/cases/{result['case_id']}", headers=auth["reviewer"]).json()
    keyframe_url = case["observations"][0]["keyframe_url"]

    shown = bucket_client.get(keyframe_url, headers=auth["uploader"])  # not a reviewer: the blurred copy
    assert shown.status_code == 200 and shown.content != keyframe
    store = evidence_store(bucket_settings)
    copy = blurred_key(store, keyframe_key, bucket_settings.model_path)
    prefix = "city/evidence/"
    assert bucket.objects()[prefix + copy] == shown.content and copy != keyframe_key
    assert bucket.objects()[prefix + index_name(keyframe_key)] == copy.encode()
    assert bucket_client.get(keyframe_url, headers=auth["reviewer"]).content == keyframe

    with Session(engine) as session:
        assert verify(session, store).clean
        bucket.client.put_object(Bucket=bucket.name, Key=prefix + crop_key, Body=jpeg(41))
        problems = [str(p) for p in verify(session, store).problems]
        assert len(problems) == 1 and problems[0].startswith(f"edited: crop {crop_key}")
        bucket.client.put_object(Bucket=bucket.name, Key=prefix + crop_key, Body=crop)

    post(bucket_client, auth["reviewer"], f"/api/cases/{result['case_id']}/review", {"decision": "reject"})
    short = bucket_settings.model_copy(update={"retention_rejected_keyframe_days": 1, "retention_unreferenced_days": 7})
    with Session(engine) as session:
        done = cleanup(session, Writer(engine), short, utcnow() + timedelta(days=8))
        assert verify(session, store).clean  # the keyframe went by retention, recorded in the chain
    assert list(done.files) == [keyframe_key]
    assert sorted(done.collected) == sorted([index_name(keyframe_key), copy, unused_key])
    assert bucket.objects() == {prefix + crop_key: crop}
