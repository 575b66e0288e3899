"""Detections (parallel arrays) and the Detector on the real COCO weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.images import read_image
from vision.boxes import Detections
from vision.detector import Detector, ModelError, _merge, _tiles


def test_detections_select_rows_with_masks_and_carry_data() -> None:
    det = Detections(
        xyxy=[[0, 0, 10, 20], [5, 5, 15, 15], [1, 1, 2, 2]],
        confidence=[0.9, 0.3, 0.6],
        class_id=[0, 1, 0],
        names={0: "person", 1: "umbrella"},
        data={"category": np.array(["a", None, "b"], dtype=object)},
    )
    assert det.tracker_id.tolist() == [-1, -1, -1]
    strong = det[det.confidence > 0.5]
    assert len(strong) == 2 and list(strong.labels) == ["person", "person"]
    assert strong.data["category"].tolist() == ["a", "b"]
    assert det.area.tolist() == [200.0, 100.0, 1.0]
    assert len(Detections.empty({0: "person"})) == 0


def test_detections_refuse_ragged_arrays() -> None:
    with pytest.raises(ValueError):
        Detections(xyxy=[[0, 0, 1, 1]], confidence=[0.5, 0.4], class_id=[0])


def test_missing_or_broken_weights_are_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"nothing\.pt"):
        Detector(tmp_path / "nothing.pt")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"broken\.pt"):
        Detector(broken)


def test_detector_finds_people_in_a_coco_image(coco_weights: Path, shared_dir: Path) -> None:
    image = read_image(shared_dir / "datasets" / "coco128" / "images" / "val" / "000000000139.jpg")
    detector = Detector(coco_weights, batch=2)
    results = detector.detect([image, image[:, ::-1].copy(), image])
    assert len(results) == 3
    det = results[0]
    assert list(det.labels).count("person") >= 1  # two people are labelled in this living room
    h, w = image.shape[:2]
    assert (det.xyxy[:, [0, 2]] <= w + 1).all() and (det.xyxy[:, [1, 3]] <= h + 1).all()
    assert np.allclose(results[2].xyxy, det.xyxy)  # batching does not change results


def test_tiles_cover_a_1080p_frame_and_merge_cut_boxes() -> None:
    windows = _tiles((1080, 1920), 640, 160)
    covered = np.zeros((1080, 1920), bool)
    for x, y in windows:
        covered[y : y + 640, x : x + 640] = True
    assert covered.all() and _tiles((480, 640), 640, 160) == []
    names = {0: "shop_sign"}
    full = Detections([[100, 100, 400, 200]], [0.6], [0], names=names)
    inner_cut = Detections([[600, 100, 640, 140]], [0.9], [0], names=names)  # touches the window's right edge
    whole = Detections([[101, 99, 399, 201], [300, 300, 340, 330]], [0.8, 0.7], [0, 0], names=names)
    merged = _merge(full, [(inner_cut, (0, 0, 640, 640)), (whole, (0, 0, 640, 640))], (1080, 1920))
    assert sorted(map(tuple, merged.xyxy.round().tolist())) == [(101, 99, 399, 201), (300, 300, 340, 330)]
