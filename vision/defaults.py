"""Where the files the project ships live (``models/`` beside the packages), and env overrides."""

from __future__ import annotations

import os
from pathlib import Path

MODELS_DIR = Path(os.environ.get("STREETSCAN_MODELS_DIR", Path(__file__).resolve().parent.parent / "models"))
DEFAULT_TAXONOMY = MODELS_DIR / "taxonomy.yaml"
DEFAULT_TRACKER = MODELS_DIR / "tracker.yaml"
FIXED_CAMERA_TRACKER = MODELS_DIR / "tracker-fixed.yaml"


def default_model() -> Path:
    """The detector weights to use when none is given: ``STREETSCAN_MODEL`` or the shipped model."""
    return Path(os.environ.get("STREETSCAN_MODEL", MODELS_DIR / "streetscan-v1.pt"))
