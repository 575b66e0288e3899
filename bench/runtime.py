"""The int8 OpenVINO export against the float model it was built from: quality and speed, in one run.

Quality, as the model card measures it (``vision/model_eval.py``, conf 0.001, 640 px): class-agnostic sign
AP50 on the facade-ads val shop fronts, int8 against the float ``.pt``; and AP50 of the base classes the
taxonomy uses on coco128 val, int8 against the float base model ``yolo11n-coco.pt``. The export is kept
when both are within ``TOLERANCE``. Speed: ms per 1080p patrol frame at 640 px, one inference thread each
(as ``streetscan scan`` runs its detector copies) and PyTorch on every core; the base model exported the
same way gives the cost of the graft's second neck and head in this runtime.

Exports are built (``vision/runtime.py``, calibration images from the recipe's training sources) into
``$STREETSCAN_BENCH_CACHE`` (default ``.cache/bench``) beside copies of the weights, unless there already.

    python bench/runtime.py [--model models/streetscan-v1.pt] [--frames 16]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from vision.defaults import default_model
from vision.detector import Detector
from vision.frames import iter_frames
from vision.runtime import export_dir, runtime_weights
from vision.taxonomy import Taxonomy
from vision.training.evaluate import score
from vision.training.export_model import calibration_images, export_openvino
from vision.training.model_eval import evaluation_split, kept_classes, sign_groups
from vision.training.recipe import Recipe

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STREETSCAN_SHARED", REPO.parent / "shared"))
CACHE = Path(os.environ.get("STREETSCAN_BENCH_CACHE", REPO / ".cache" / "bench")) / "runtime"
BASE = SHARED / "models" / "yolo11n-coco.pt"
RECIPE = REPO / "models" / "streetscan-v1.recipe.yaml"
CLIP = SHARED / "samples" / "patrol-facades" / "patrol.mp4"
TOLERANCE = 0.01
REPEATS = 3


@contextmanager
def runtime(name: str) -> Iterator[None]:
    """Detectors made inside load ``name`` ("torch", or "auto": the export when there is one)."""
    before = os.environ.get("STREETSCAN_RUNTIME")
    os.environ["STREETSCAN_RUNTIME"] = name
    try:
        yield
    finally:
        os.environ.pop("STREETSCAN_RUNTIME") if before is None else os.environ.__setitem__("STREETSCAN_RUNTIME", before)


def exported_copy(weights: Path, recipe: Recipe, images: int) -> Path:
    """A copy of ``weights`` in the cache with its int8 export beside it (built when missing or stale)."""
    copy = CACHE / weights.name
    CACHE.mkdir(parents=True, exist_ok=True)
    if not copy.is_file() or copy.read_bytes() != weights.read_bytes():
        shutil.copyfile(weights, copy)
    if runtime_weights(copy) == copy:
        if runtime_weights(weights) != weights:  # built beside the original already (streetscan export-model)
            shutil.copytree(export_dir(weights), export_dir(copy), dirs_exist_ok=True)
        else:
            print(f"building the int8 export of {weights.name} ({images} calibration images)...")
            export_openvino(copy, calibration_images(recipe, images))
    return copy


def ms_per_frame(detector: Detector, frames: list[np.ndarray]) -> float:
    detector.detect(frames[:4])
    best = math.inf
    for _ in range(REPEATS):
        began = time.perf_counter()
        detector.detect(frames)
        best = min(best, time.perf_counter() - began)
    return best / len(frames) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="float weights (default: the shipped model)")
    parser.add_argument("--frames", type=int, default=16, help="patrol frames timed (default 16)")
    parser.add_argument("--images", type=int, default=300, help="calibration images of a missing export (default 300)")
    args = parser.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "1")
    recipe = Recipe.load(RECIPE, SHARED)
    shipped = exported_copy(args.model or default_model(), recipe, args.images)
    base = exported_copy(BASE, recipe, args.images)
    conf, imgsz = recipe.evaluate["conf"], recipe.evaluate["imgsz"]
    with runtime("torch"):
        float_model, float_base = (Detector(w, conf=conf, imgsz=imgsz) for w in (shipped, base))
    with runtime("auto"):
        int8_model = Detector(shipped, conf=conf, imgsz=imgsz)
    assert int8_model.runtime == "openvino"
    names = list(float_model.names.values())
    facades = evaluation_split(recipe, "real", names)
    coco = evaluation_split(recipe, "coco", names)
    used = kept_classes(names, recipe, Taxonomy.load(None))

    signs = {
        name: score(d, facades, sign_groups(recipe)).groups["sign"]
        for name, d in (("float", float_model), ("int8", int8_model))
    }
    base_ap = {name: score(d, coco) for name, d in (("base", float_base), ("int8", int8_model))}
    base_mean = {name: s.mean(used) for name, s in base_ap.items()}
    worst = max(used, key=lambda c: abs(base_ap["int8"].per_class.get(c, 0) - base_ap["base"].per_class.get(c, 0)))
    print(f"\nquality (AP50, conf {conf}, {imgsz} px)                 float      int8    diff")
    print(
        f"  signs, class-agnostic, {len(facades)} facade val images      {signs['float']:.3f}    {signs['int8']:.3f}  "
        f"{signs['int8'] - signs['float']:+.3f}"
    )
    print(
        f"  base classes the taxonomy uses, coco128 val (mean)  {base_mean['base']:.3f}    {base_mean['int8']:.3f}  "
        f"{base_mean['int8'] - base_mean['base']:+.3f}  (float = the base model)"
    )
    before, after = (base_ap[name].per_class.get(worst, 0) for name in ("base", "int8"))
    print(f"    largest class difference: {worst} {before:.3f} -> {after:.3f}")
    keep = abs(signs["int8"] - signs["float"]) <= TOLERANCE and abs(base_mean["int8"] - base_mean["base"]) <= TOLERANCE
    print(f"  within {TOLERANCE}: {'yes' if keep else 'NO'}")

    frames = [frame.image for _, frame in zip(range(args.frames), iter_frames(CLIP, 2.0))]
    with runtime("torch"):
        timed = {"PyTorch float, all cores": Detector(shipped), "PyTorch float base model, all cores": Detector(base)}
    with runtime("auto"):
        timed |= {
            "OpenVINO int8, 1 thread": Detector(shipped, threads=1),
            "OpenVINO int8 base model, 1 thread": Detector(base, threads=1),
        }
    ms = {name: ms_per_frame(detector, frames) for name, detector in timed.items()}
    print(f"\nspeed, {len(frames)} frames of {CLIP.name} at 640 px (load average {os.getloadavg()[0]:.1f})")
    for name, value in ms.items():
        print(f"  {name:38s} {value:6.1f} ms/frame")
    torch_cost = ms["PyTorch float, all cores"] / ms["PyTorch float base model, all cores"]
    openvino_cost = ms["OpenVINO int8, 1 thread"] / ms["OpenVINO int8 base model, 1 thread"]
    print(f"  graft cost (shipped / base): PyTorch x{torch_cost:.2f}, OpenVINO int8 x{openvino_cost:.2f}")


if __name__ == "__main__":
    main()
