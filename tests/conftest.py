"""Fixtures shared by every test package: where the read-only sample data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("YOLO_OFFLINE", "1")


def _shared_dir() -> Path:
    return Path(os.environ.get("STREETSCAN_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The sample-data folder (weights, datasets, patrol clip); tests that need it fail loudly without it."""
    path = _shared_dir()
    if not (path / "models" / "yolo11n-coco.pt").is_file():
        pytest.fail(f"sample data not found at {path}: set STREETSCAN_SHARED")
    return path


@pytest.fixture(scope="session")
def coco_weights(shared_dir: Path) -> Path:
    return shared_dir / "models" / "yolo11n-coco.pt"


@pytest.fixture(scope="session")
def patrol_dir(shared_dir: Path) -> Path:
    return shared_dir / "samples" / "patrol-facades"
