"""The shipped weights name their custom layer by the path that does not move (``vision.layers``), and
weights saved when it lived in ``vision.graft`` still load and detect exactly the same."""

from __future__ import annotations

import hashlib
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import vision
from tests.images import read_image
from vision.defaults import MODELS_DIR
from vision.detector import Detector
from vision.layers import LEGACY_MODULES, TwoHeads

SHIPPED = MODELS_DIR / "streetscan-v1.pt"


def pickled_names(weights: Path) -> bytes:
    with zipfile.ZipFile(weights) as archive:
        return b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".pkl"))


def save_with_old_layer_path(weights: Path, out: Path) -> None:
    """Re-save ``weights`` with TwoHeads pickled as ``vision.graft.TwoHeads``, as files were before the move."""
    checkpoint = torch.load(weights, map_location="cpu", weights_only=False)
    old = types.ModuleType("vision.graft")
    old.TwoHeads = TwoHeads  # type: ignore[attr-defined]
    sys.modules["vision.graft"], TwoHeads.__module__ = old, "vision.graft"
    try:
        torch.save(checkpoint, out)
    finally:
        TwoHeads.__module__ = "vision.layers"
        del sys.modules["vision.graft"]


def test_shipped_weights_name_the_layer_by_its_lasting_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREETSCAN_RUNTIME", "torch")  # the .pt itself, not its OpenVINO export
    names = pickled_names(SHIPPED)
    assert b"vision.layers" in names and b"TwoHeads" in names and b"vision.graft" not in names
    assert type(Detector(SHIPPED).model.model.model[-1]) is TwoHeads


def test_model_card_gives_the_shipped_weights_checksum() -> None:
    card = (MODELS_DIR / "streetscan-v1.md").read_text(encoding="utf-8")
    assert f"sha256: `{hashlib.sha256(SHIPPED.read_bytes()).hexdigest()}`" in card


def test_weights_saved_with_the_old_layer_path_load_and_detect_the_same(
    tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREETSCAN_RUNTIME", "torch")  # both .pt files themselves, not an OpenVINO export
    old = tmp_path / "old.pt"
    save_with_old_layer_path(SHIPPED, old)
    assert b"vision.graft" in pickled_names(old)
    assert not (Path(vision.__file__).parent / "graft.py").exists()  # that module is gone
    old_model = Detector(old)
    assert type(old_model.model.model.model[-1]) is TwoHeads  # the old path resolved to vision.layers
    val = sorted((shared_dir / "datasets" / "coco128" / "images" / "val").glob("*.jpg"))
    images = [read_image(p) for p in val[:3]]
    before, after = old_model.detect(images), Detector(SHIPPED).detect(images)
    assert sum(len(d) for d in after) > 0
    for a, b in zip(before, after, strict=True):
        assert np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.confidence, b.confidence)
        assert np.array_equal(a.class_id, b.class_id)
    assert not set(LEGACY_MODULES) & set(sys.modules)  # the alias lasted only while loading
