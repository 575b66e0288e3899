"""Camera motion for the tracker: known shifts and zooms of synthetic scenes, and the patrol clip's pan."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.frames import iter_frames
from vision.motion import CameraMotion

H, W = 540, 960


def facade(width: int, period: int = 0) -> np.ndarray:
    """(H, width, 3) uint8 scene: blurred noise, with dark windows every ``period`` px when > 0."""
    noise = np.random.default_rng(1).integers(0, 256, (H, width), dtype=np.uint8)
    scene = cv2.GaussianBlur(noise, (7, 7), 2.0)
    if period:
        scene = (scene // 4 + 140).astype(np.uint8)  # faint texture: the windows dominate
        for x in range(0, width, period):
            for y in (100, 300):
                scene[y : y + 120, x + 20 : x + 70] = 30
    return cv2.cvtColor(scene, cv2.COLOR_GRAY2BGR)


def shifts(world: np.ndarray, step: int, frames: int) -> list[float]:
    """Horizontal warp shift estimated for a camera panning ``step`` px per frame over ``world``."""
    motion = CameraMotion()
    return [motion.apply(np.ascontiguousarray(world[:, k * step : k * step + W]))[0, 2] for k in range(frames)]


def test_first_frame_is_identity() -> None:
    np.testing.assert_array_equal(CameraMotion().apply(facade(W)), np.eye(2, 3))


@pytest.mark.parametrize("step", [24, 96, 200])
def test_pan_is_found(step: int) -> None:
    found = shifts(facade(W + 4 * step), step, 5)
    np.testing.assert_allclose(found[1:], -step, atol=1.0)


def test_repeating_windows_do_not_fool_it() -> None:
    """Windows every 100 px, camera moving 60 px: the nearest look-alike is 40 px the other way."""
    found = shifts(facade(W + 300, period=100), 60, 5)
    np.testing.assert_allclose(found[1:], -60, atol=2.0)


def test_zoom_of_a_forward_camera_is_found() -> None:
    scene = facade(W)
    zoomed = cv2.warpAffine(scene, cv2.getRotationMatrix2D((W / 2, H / 2), 0.0, 1.05), (W, H))
    motion = CameraMotion()
    motion.apply(scene)
    warp = motion.apply(zoomed)
    assert np.hypot(warp[0, 0], warp[1, 0]) == pytest.approx(1.05, abs=0.01)


def test_blank_frames_give_identity() -> None:
    motion = CameraMotion()
    blank = np.zeros((H, W, 3), dtype=np.uint8)
    motion.apply(blank)
    np.testing.assert_allclose(motion.apply(blank), np.eye(2, 3))


def test_patrol_clip_pan_is_registered(patrol_dir: Path) -> None:
    """The clip pans 897.5 px/s: 179.5 px between samples at 5 frames/s, every sample within a few pixels."""
    motion = CameraMotion()
    found = [
        motion.apply(frame.image)[0, 2] for _, frame in zip(range(40), iter_frames(patrol_dir / "patrol.mp4", 5.0))
    ]
    np.testing.assert_allclose(found[1:], -179.5, atol=3.0)
