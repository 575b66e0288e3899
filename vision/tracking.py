"""Track ids across frames: Ultralytics' BoT-SORT with global motion compensation, for a moving camera."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import lap  # noqa: F401  # imported first: a missing lap fails here instead of Ultralytics installing it
import numpy as np
import yaml

from vision.boxes import Detections
from vision.defaults import DEFAULT_TRACKER
from vision.motion import CameraMotion

CONFIG_KEYS = {
    "tracker_type",
    "track_high_thresh",
    "track_low_thresh",
    "new_track_thresh",
    "track_buffer",
    "match_thresh",
    "fuse_score",
    "gmc_method",
    "proximity_thresh",
    "appearance_thresh",
    "with_reid",
    "model",
    "frame_rate",
}


def load_config(path: str | Path | None = None, frame_rate: float = 5.0) -> SimpleNamespace:
    """Read a tracker YAML (None -> the shipped one) with ``track_buffer`` rescaled to ``frame_rate`` samples/s."""
    path = Path(path) if path is not None else DEFAULT_TRACKER
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(cfg, dict) or set(cfg) != CONFIG_KEYS:
        keys = set(cfg) if isinstance(cfg, dict) else set()
        raise ValueError(
            f"{path}: tracker config keys do not match; missing {sorted(CONFIG_KEYS - keys)}, "
            f"unknown {sorted(keys - CONFIG_KEYS)}"
        )
    if cfg["tracker_type"] != "botsort" or cfg["with_reid"]:
        raise ValueError(f"{path}: only tracker_type botsort with with_reid False is supported")
    cfg["track_buffer"] = max(1, round(cfg["track_buffer"] * frame_rate / cfg.pop("frame_rate")))
    return SimpleNamespace(**cfg)


class Tracker:
    """Gives each object one track id across the frames of one video, also while the camera moves.

    Feed every sampled frame in order, ``frame_rate`` of them per second of video; the config's
    ``track_buffer`` (counted at the config's own ``frame_rate``) is rescaled to it.
    """

    def __init__(self, config: str | Path | None = None, frame_rate: float = 5.0) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        from ultralytics.trackers.bot_sort import BOTSORT

        self.config = load_config(config, frame_rate)
        if self.config.gmc_method == CameraMotion.method:  # ours; Ultralytics builds its own GMC for the others
            self._tracker = BOTSORT(SimpleNamespace(**{**vars(self.config), "gmc_method": "none"}))
            self._tracker.gmc = CameraMotion()
        else:
            self._tracker = BOTSORT(self.config)

    def update(self, detections: Detections, image: np.ndarray) -> Detections:
        """Rows of ``detections`` the tracker confirmed in this frame, boxes unchanged, with ``tracker_id`` set.

        image: (H, W, 3) uint8 BGR of the same frame, for the camera-motion estimate.
        """
        tracks = self._tracker.update(detections, image)
        if len(tracks) == 0:
            return detections[np.zeros(len(detections), dtype=bool)]
        out = detections[tracks[:, 7].astype(np.int64)]
        out.tracker_id = tracks[:, 4].astype(np.int64)
        return out

    def reset(self) -> None:
        """Forget every track and restart ids at 1, e.g. before the next video."""
        self._tracker.reset()
