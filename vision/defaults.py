"""Where the files the project ships live, and their environment overrides.

``models/`` (weights, model card, taxonomy, tracker YAML) and ``samples/`` (hotspot catalog, example
tracks) lie beside the packages in a checkout; an installed package carries them in ``vision/shipped/``.
"""

from __future__ import annotations

import os
from pathlib import Path


def _shipped(name: str) -> Path:
    """The shipped folder ``name``: the installed copy, else the checkout's."""
    here = Path(__file__).resolve().parent
    installed = here / "shipped" / name
    return installed if installed.is_dir() else here.parent / name


MODELS_DIR = Path(os.environ.get("STREETSCAN_MODELS_DIR", _shipped("models")))
SAMPLES_DIR = _shipped("samples")
DEFAULT_TAXONOMY = MODELS_DIR / "taxonomy.yaml"
DEFAULT_TRACKER = MODELS_DIR / "tracker.yaml"
FIXED_CAMERA_TRACKER = MODELS_DIR / "tracker-fixed.yaml"


def default_model() -> Path:
    """The detector weights to use when none is given: ``STREETSCAN_MODEL`` or the shipped model."""
    return Path(os.environ.get("STREETSCAN_MODEL", MODELS_DIR / "streetscan-v1.pt"))
