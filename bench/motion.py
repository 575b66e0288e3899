"""Camera-motion estimates for the tracker: CPU time per frame and registration errors, ours
(``vision/motion.py``) against Ultralytics' GMC methods, on the sample patrol clips sampled at 5 frames/s.

The clips pan at a known, constant speed (``PAN_PX_PER_S``: the facades slide right to left), so every
estimate is checked: a sample whose horizontal shift is off by more than ``TOLERANCE_PX`` is mis-registered
(tracks are then lost or swapped). Reads ``$STREETSCAN_SHARED/samples/patrol-facades`` (default: ``shared``
beside the repository).

    python bench/motion.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from ultralytics.trackers.utils.gmc import GMC

from vision.frames import iter_frames
from vision.motion import CameraMotion

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STREETSCAN_SHARED", REPO.parent / "shared"))
CLIPS = [SHARED / "samples" / "patrol-facades" / name for name in ("patrol.mp4", "patrol_hq.mp4")]
PAN_PX_PER_S = 897.5
FPS = 5.0
TOLERANCE_PX = 20.0


def main() -> None:
    for clip in CLIPS:
        frames = [frame.image for frame in iter_frames(clip, FPS)]
        truth = -PAN_PX_PER_S / FPS
        print(f"{clip.name}: {len(frames)} samples, true shift {truth:.1f} px per sample")
        methods = {
            "Ultralytics orb, 1/2 size (baseline)": GMC("orb", 2),
            "Ultralytics sparseOptFlow, 1/2 size": GMC("sparseOptFlow", 2),
            "phase_flow, 1/4 size (vision/motion.py)": CameraMotion(),
        }
        baseline_ms = None
        for name, method in methods.items():
            began = time.process_time()
            shifts = np.array([method.apply(image)[0, 2] for image in frames])[1:]
            ms = (time.process_time() - began) / len(frames) * 1000
            baseline_ms = baseline_ms or ms
            error = np.abs(shifts - truth)
            wrong = int((error > TOLERANCE_PX).sum())
            print(
                f"  {name:42s} {ms:5.1f} ms/frame CPU (x{baseline_ms / ms:4.1f} of baseline)  "
                f"mis-registered {wrong:3d} of {len(error)}  median error {np.median(error):.1f} px"
            )


if __name__ == "__main__":
    main()
