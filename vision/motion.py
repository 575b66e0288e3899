"""Camera motion between sampled frames, for the tracker's global motion compensation.

A patrol camera slides the whole scene by about a tenth of the frame between samples. ``CameraMotion``
estimates that on a small grey copy of the frame (a quarter of its size): phase correlation (on an eighth
of the size) finds the shift of the whole picture (one FFT, not fooled by the repeating windows of a facade
as optical flow alone is), then Lucas-Kanade optical flow, started at that shift, follows corner points, and RANSAC fits
a similarity transform to them (shift, rotation and zoom, the latter for forward-facing cameras).
About 4 ms per 1080p frame on one CPU core against about 46 ms for BoT-SORT's ORB matching at half
size; ``bench/motion.py`` measures both against the known pan of the sample patrol clip.
"""

from __future__ import annotations

import cv2
import numpy as np


class CameraMotion:
    """Ultralytics' GMC interface: ``apply(frame, boxes)`` returns the (2, 3) affine warp from the previous
    frame to this one, in this frame's pixels; ``reset_params()`` forgets the previous frame.

    scale: frames are shrunk by this factor first; corners: at most this many points are followed;
    min_peak: the phase correlation's peak (0..1) below which its shift is not trusted.
    """

    method = "phase_flow"  # read by Ultralytics' tracker: not None means "apply me"

    def __init__(self, scale: int = 4, corners: int = 200, min_peak: float = 0.05) -> None:
        self.scale = scale
        self.corners = corners
        self.min_peak = min_peak
        self.reset_params()

    def reset_params(self) -> None:
        self._grey: np.ndarray | None = None  # (h, w) uint8 previous small frame
        self._coarse: np.ndarray | None = None  # (h/2, w/2) float32 the same at half size, for the phase correlation
        self._window: np.ndarray | None = None  # (h/2, w/2) float32 Hanning window for the phase correlation

    def apply(self, frame: np.ndarray, boxes: np.ndarray | None = None) -> np.ndarray:
        """Warp (2, 3) float64 from the previous frame to ``frame`` ((H, W, 3) uint8 BGR); identity for the
        first frame. ``boxes`` (detections) are not needed: moving objects are outliers to the fit."""
        h, w = frame.shape[:2]
        full = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        grey = cv2.resize(full, (max(w // self.scale, 16), max(h // self.scale, 16)), interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), interpolation=cv2.INTER_AREA).astype(
            np.float32
        )
        (previous, previous_coarse), (self._grey, self._coarse) = (self._grey, self._coarse), (grey, coarse)
        if previous is None or previous_coarse is None or previous.shape != grey.shape:
            self._window = cv2.createHanningWindow(coarse.shape[::-1], cv2.CV_32F)
            return np.eye(2, 3)
        warp = self._estimate(previous, grey, previous_coarse, coarse)
        warp[:, 2] *= (w / grey.shape[1], h / grey.shape[0])
        return warp

    def _estimate(
        self, previous: np.ndarray, grey: np.ndarray, previous_coarse: np.ndarray, coarse: np.ndarray
    ) -> np.ndarray:
        """Warp (2, 3) between two small grey frames, in their pixels; the shift is found on their half-size
        float copies ``previous_coarse`` and ``coarse``."""
        (dx, dy), peak = cv2.phaseCorrelate(previous_coarse, coarse, self._window)
        dx, dy = (2 * dx, 2 * dy) if peak >= self.min_peak else (0.0, 0.0)  # no clear shift: start the flow at rest
        warp = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
        points = cv2.goodFeaturesToTrack(previous, self.corners, 0.01, 8)
        if points is None or len(points) < 8:
            return warp
        guess = (points + np.array([dx, dy], dtype=np.float32)).astype(np.float32)
        moved, found, _ = cv2.calcOpticalFlowPyrLK(
            previous, grey, points, guess, winSize=(15, 15), maxLevel=1, flags=cv2.OPTFLOW_USE_INITIAL_FLOW
        )
        found = found.ravel() == 1
        if found.sum() < 8:
            return warp
        fitted, _ = cv2.estimateAffinePartial2D(
            points[found], moved[found], method=cv2.RANSAC, ransacReprojThreshold=1.0
        )
        return warp if fitted is None else fitted.astype(np.float64)
