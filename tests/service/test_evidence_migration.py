"""Migration 0004_security on both backends: evidence references that are not store keys are
copied into the store when they are images of the old crops folder, else cleared, and logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from service.db import alembic_config, make_engine, scratch_database
from service.evidence import evidence_store, store_bytes
from service.settings import Settings
from tests.service.builders import jpeg
from tests.service.conftest import BACKENDS, PG_SERVER

OBSERVATIONS = sa.table(
    "observations",
    *(sa.column(name) for name in ("id", "track_id", "category", "label", "confidence", "t_first", "t_last", "t_best")),
    sa.column("bbox", sa.JSON),
    sa.column("source"),
    sa.column("received_at"),
    sa.column("seen_at"),
    sa.column("crop"),
    sa.column("keyframe"),
)


@contextmanager
def empty_database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'old.db'}"
    else:
        with scratch_database(PG_SERVER) as url:
            yield url


@pytest.mark.parametrize("backend", BACKENDS)
def test_references_become_store_keys_or_are_cleared(
    backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    (data / "crops").mkdir(parents=True)
    photo, legacy = jpeg(30), jpeg(220)
    (data / "crops" / "a.jpg").write_bytes(photo)
    (data / "crops" / "fake.jpg").write_text("not an image")
    (data / "elsewhere.jpg").write_bytes(jpeg(120))  # an image, but outside the crops folder
    (data / "streetscan.db").write_bytes(b"SQLite format 3\x00")
    (data / "evidence" / "ab").mkdir(parents=True)
    (data / "evidence" / "ab" / "legacy.jpeg").write_bytes(legacy)  # an old key with another suffix
    settings = Settings(data_dir=data, hotspot_catalog=None)
    kept = store_bytes(evidence_store(settings), jpeg(90))
    references = {
        1: ("crops/a.jpg", "streetscan.db"),
        2: ("crops/fake.jpg", None),
        3: ("elsewhere.jpg", "crops/../crops/a.jpg"),
        4: (kept, "../../etc/passwd"),
        5: ("ab/legacy.jpeg", str(data / "crops" / "a.jpg")),
    }
    with empty_database(backend, tmp_path) as url:
        engine = make_engine(url)
        config = alembic_config(engine, settings.model_copy(update={"database_url": url}))
        for revision in ("0002_batches", "0003_cameras"):
            command.upgrade(config, revision)
        now = datetime(2025, 5, 12)
        with engine.begin() as conn:
            conn.execute(
                OBSERVATIONS.insert(),
                [
                    {
                        "id": i,
                        "track_id": str(i),
                        "category": "street_vendor",
                        "label": "x",
                        "confidence": 0.5,
                        "t_first": 0.0,
                        "t_last": 1.0,
                        "t_best": 0.5,
                        "bbox": [0, 0, 1, 1],
                        "source": "old",
                        "received_at": now,
                        "seen_at": now,
                        "crop": crop,
                        "keyframe": keyframe,
                    }
                    for i, (crop, keyframe) in references.items()
                ],
            )
        with caplog.at_level(logging.INFO, logger="streetscan.migrations"):
            command.upgrade(config, "heads")
        with engine.connect() as conn:
            rows = {
                i: (crop, keyframe)
                for i, crop, keyframe in conn.execute(
                    sa.select(OBSERVATIONS.c.id, OBSERVATIONS.c.crop, OBSERVATIONS.c.keyframe)
                )
            }
        engine.dispose()
    photo_key = store_bytes(evidence_store(settings), photo)
    assert rows == {
        1: (photo_key, None),
        2: (None, None),
        3: (None, photo_key),
        4: (kept, None),
        5: (store_bytes(evidence_store(settings), legacy), photo_key),
    }
    log = caplog.text
    assert "observation 1: keyframe 'streetscan.db' is no image of the crops folder: cleared" in log
    assert f"observation 1: crop 'crops/a.jpg' copied into the evidence store as {photo_key}" in log
    assert "observation 2: crop 'crops/fake.jpg'" in log and "observation 4: crop" not in log
