"""Tracker: stable ids for synthetic boxes, with and without camera motion, and on the patrol clip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.boxes import Detections
from vision.defaults import DEFAULT_TRACKER
from vision.detector import Detector
from vision.tracking import Tracker, load_config

REPO = Path(__file__).resolve().parents[2]
H, W = 480, 640
BLANK = np.zeros((H, W, 3), dtype=np.uint8)


def boxes(*xyxy: tuple[float, float, float, float]) -> Detections:
    """Detections of class 0 ('thing') with confidence 0.9."""
    n = len(xyxy)
    return Detections(np.array(xyxy).reshape(-1, 4), np.full(n, 0.9), np.zeros(n), names={0: "thing"})


def ids_by_x(tracked: Detections) -> list[int]:
    """Track ids ordered left to right."""
    return tracked.tracker_id[np.argsort(tracked.xyxy[:, 0])].tolist()


def test_two_boxes_keep_their_ids() -> None:
    tracker = Tracker()
    for k in range(8):
        det = boxes((100 + 5 * k, 100, 160 + 5 * k, 220), (300, 200 + 4 * k, 360, 320 + 4 * k))
        assert ids_by_x(tracker.update(det, BLANK)) == [1, 2]


def test_returns_original_rows() -> None:
    tracker = Tracker()
    tracker.update(boxes((100, 100, 160, 220), (300, 200, 360, 320)), BLANK)
    det = boxes((305, 203, 362, 318), (103, 101, 161, 224))
    det.confidence[:] = [0.8, 0.7]
    out = tracker.update(det, BLANK)
    order = np.argsort(out.tracker_id)
    np.testing.assert_array_equal(out.xyxy[order], det.xyxy[[1, 0]])
    np.testing.assert_array_equal(out.confidence[order], det.confidence[[1, 0]])
    assert (det.tracker_id == -1).all()  # the input is left alone


def textured_world(width: int) -> np.ndarray:
    """(H, width, 3) uint8 blurred-noise scene for the camera to pan over."""
    noise = np.random.default_rng(0).integers(0, 256, (H, width), dtype=np.uint8)
    return cv2.cvtColor(cv2.GaussianBlur(noise, (5, 5), 1.5), cv2.COLOR_GRAY2BGR)


def pan_ids(config: Path | str | None) -> list[list[int]]:
    """Camera pans 80 px per frame over two 60 px wide objects: consecutive boxes never overlap in the image."""
    step, frames = 80, 5
    world = textured_world(W + step * frames)
    tracker = Tracker(config)
    seen = []
    for k in range(frames):
        image = np.ascontiguousarray(world[:, step * k : step * k + W])
        x = 400 - step * k
        seen.append(ids_by_x(tracker.update(boxes((x, 100, x + 60, 220), (x + 120, 200, x + 180, 320)), image)))
    return seen


def test_camera_motion_is_compensated(tmp_path: Path) -> None:
    assert pan_ids(None) == [[1, 2]] * 5
    no_gmc = tmp_path / "no-gmc.yaml"
    shipped = DEFAULT_TRACKER.read_text(encoding="utf-8")
    assert "gmc_method: phase_flow" in shipped
    no_gmc.write_text(shipped.replace("gmc_method: phase_flow", "gmc_method: none"))
    assert pan_ids(no_gmc) != [[1, 2]] * 5


def test_gap_longer_than_buffer_gives_new_id() -> None:
    tracker = Tracker()
    box = boxes((100, 100, 160, 220))
    for _ in range(3):
        first = tracker.update(box, BLANK).tracker_id.tolist()
    assert first == [1]
    for _ in range(tracker.config.track_buffer + 2):
        assert len(tracker.update(Detections.empty(), BLANK)) == 0
    assert len(tracker.update(box, BLANK)) == 0  # a new track is confirmed on its second frame
    assert tracker.update(box, BLANK).tracker_id.tolist() == [2]


def test_short_gap_keeps_id() -> None:
    tracker = Tracker()
    box = boxes((100, 100, 160, 220))
    for _ in range(3):
        tracker.update(box, BLANK)
    for _ in range(tracker.config.track_buffer - 2):
        tracker.update(Detections.empty(), BLANK)
    assert tracker.update(box, BLANK).tracker_id.tolist() == [1]


def test_reset_restarts_ids() -> None:
    tracker = Tracker()
    tracker.update(boxes((100, 100, 160, 220)), BLANK)
    tracker.reset()
    assert tracker.update(boxes((400, 100, 460, 220)), BLANK).tracker_id.tolist() == [1]


def test_buffer_scales_with_frame_rate() -> None:
    assert load_config(None, 5.0).track_buffer == 12
    assert load_config(None, 10.0).track_buffer == 24


def test_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT_TRACKER.read_text(encoding="utf-8") + "extra: 1\n")
    with pytest.raises(ValueError, match="unknown \\['extra'\\]"):
        Tracker(bad)
    bad.write_text(DEFAULT_TRACKER.read_text(encoding="utf-8").replace("with_reid: False", "with_reid: True"))
    with pytest.raises(ValueError, match="with_reid"):
        Tracker(bad)


def test_missing_lap_fails_instead_of_installing() -> None:
    code = "import sys; sys.modules['lap'] = None; import vision.tracking"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "ModuleNotFoundError" in run.stderr or "ImportError" in run.stderr
    assert "check_requirements" not in run.stderr and "pip" not in run.stderr


@pytest.mark.slow
def test_tracks_persist_on_patrol_clip(coco_weights: Path, patrol_dir: Path) -> None:
    cap = cv2.VideoCapture(str(patrol_dir / "patrol.mp4"))
    cap.set(cv2.CAP_PROP_POS_MSEC, 10_000)
    frames = []
    for n in range(60):  # every 6th frame at 30 fps = 5 samples/s, 10 samples
        ok, image = cap.read()
        assert ok, "cannot decode the patrol clip"
        if n % 6 == 0:
            frames.append(image)
    cap.release()
    tracker = Tracker(frame_rate=5.0)
    detections = Detector(coco_weights, imgsz=640).detect(frames)
    tracked = [tracker.update(det, image) for det, image in zip(detections, frames)]
    n_det = sum(len(d) for d in detections)
    n_rows = sum(len(t) for t in tracked)
    ids = {int(i) for t in tracked for i in t.tracker_id}
    assert n_det >= 30
    assert n_rows >= n_det / 2  # most detections are tracked although the scene slides ~180 px per sample
    assert len(ids) * 5 <= n_det  # the same objects keep their ids from sample to sample
