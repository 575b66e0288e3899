"""Detector speed: milliseconds per 1080p patrol frame of the shipped model against its base model, per
inference mode (one 640-px pass; one pass and the focus window of a forward camera, the default of
`streetscan scan`; 640-px tiles plus the whole frame), and each mode's cost against one pass.

The shipped model runs the base model's own layers beside its fine-tuned ones (``vision/training/graft.py``), so
it costs more than the base; this prints how much. Reads the base weights and the patrol clip from
``$STREETSCAN_SHARED`` (default: ``shared`` beside the repository). Modes run round-robin REPEATS
times over FRAMES frames; the fastest run counts.

    python bench/detector.py
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from vision import default_model, iter_frames
from vision.training.model_eval import mode_detector

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STREETSCAN_SHARED", REPO.parent / "shared"))
BASE = SHARED / "models" / "yolo11n-coco.pt"
CLIP = SHARED / "samples" / "patrol-facades" / "patrol.mp4"
FRAMES = 16
REPEATS = 3
MODES: dict[str, dict[str, Any]] = {
    "640 px": {"imgsz": 640},
    "640 px + focus window": {"imgsz": 640, "focus": "forward"},
    "640-px tiles + frame": {"imgsz": 640, "tile": 640},
}


def main() -> None:
    frames = [frame.image for _, frame in zip(range(FRAMES), iter_frames(CLIP, 2.0))]
    shipped = default_model()
    detectors = {
        (model, mode): mode_detector(weights, 0.25, options)
        for model, weights in (("base", BASE), ("shipped", shipped))
        for mode, options in MODES.items()
    }
    best_s = dict.fromkeys(detectors, math.inf)
    for detector in detectors.values():  # warm-up
        detector.detect(frames[:2])
    for _ in range(REPEATS):
        for key, detector in detectors.items():
            start = time.perf_counter()
            detector.detect(frames)
            best_s[key] = min(best_s[key], time.perf_counter() - start)
    print(f"{len(frames)} frames of {CLIP.name} ({frames[0].shape[1]}x{frames[0].shape[0]}), CPU")
    for mode in MODES:
        base_ms = best_s["base", mode] / len(frames) * 1000
        ours_ms = best_s["shipped", mode] / len(frames) * 1000
        one_pass_ms = best_s["shipped", "640 px"] / len(frames) * 1000
        print(
            f"{mode:22s} base {base_ms:6.1f} ms/frame  {shipped.name} {ours_ms:6.1f} ms/frame  "
            f"x{ours_ms / base_ms:.2f} of base, x{ours_ms / one_pass_ms:.2f} of one 640-px pass"
        )


if __name__ == "__main__":
    main()
