"""Privacy blur: recall of every face and plate finder on labelled sets, their combination against each
alone, and what blurring costs per image.

Sets (``vision.privacy_eval``; a box counts as hidden when 80% of it is blurred):
- COCO faces: visible faces boxed by hand in ``datasets/coco128`` (``tests/vision/data/privacy-faces.json``);
- COCO plates: the few readable (UK, US) plates in the same images (``tests/vision/data/privacy-plates.json``);
- rendered plates: Chinese blue, yellow and green plates set on every COCO vehicle at least 60 px wide
  (``vision.plate_render``), three renderings per image.

Methods, each on its own and the chosen combination (``find_private_regions``) in the same run: OpenCV's
Haar cascades (the baseline; where the installed OpenCV still has ``CascadeClassifier``: 4.x yes, 5.x no),
head bands of the scene model's person boxes, CenterFace, the plate detector on the whole image and on
vehicle crops, and vehicle plate bands. The scene model (the shipped weights) runs once per image; its
time is printed apart. Then the cost of ``find_private_regions`` + ``blur_regions`` on 1080p patrol
keyframes and on small crops of them.

    python bench/privacy.py [--data-root DIR] [--weights W] [--variants N]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import cv2.data
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("YOLO_OFFLINE", "1")

from vision.boxes import Detections  # noqa: E402
from vision.defaults import default_model  # noqa: E402
from vision.detector import Detector  # noqa: E402
from vision.frames import iter_frames  # noqa: E402
from vision.privacy import (  # noqa: E402
    FACE_MARGIN,
    MIN_VEHICLE_WIDTH,
    PERSON_LABELS,
    PLATE_MARGIN,
    VEHICLE_LABELS,
    blur_regions,
    detect_faces,
    detect_plates,
    find_private_regions,
    grow,
    head_bands,
    plate_bands,
    plates_in_vehicles,
)
from vision.privacy_eval import Labelled, load_labelled, rendered_plates, score  # noqa: E402
from vision.training.recipe import default_data_root  # noqa: E402

Method = Callable[[np.ndarray, Detections], np.ndarray]
"""A finder: (image, scene-model detections) -> (M, 4) xyxy regions it would blur."""


def boxes_of(detections: Detections, labels: frozenset[str]) -> np.ndarray:
    return detections.xyxy[np.isin(detections.labels, list(labels))]


def vehicles_of(detections: Detections) -> np.ndarray:
    vehicles = boxes_of(detections, VEHICLE_LABELS)
    return np.asarray(vehicles[vehicles[:, 2] - vehicles[:, 0] >= MIN_VEHICLE_WIDTH])


def cascades(files: Sequence[str]) -> Method | None:
    """Haar cascades bundled with OpenCV (``cv2.data.haarcascades``), every detection of each; the profile
    cascade also runs on the mirrored image. None where this OpenCV has no ``CascadeClassifier``."""
    if not hasattr(cv2, "CascadeClassifier"):
        return None
    models = [cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, f)) for f in files]

    def find(image: np.ndarray, _: Detections) -> np.ndarray:
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        w = gray.shape[1]
        found = []
        for name, model in zip(files, models):
            for flip in (False, True) if "profile" in name else (False,):
                rects = model.detectMultiScale(gray[:, ::-1] if flip else gray, 1.1, 3, minSize=(10, 10))
                for x, y, rw, rh in np.asarray(rects).reshape(-1, 4):
                    found.append([w - x - rw if flip else x, y, (w - x) if flip else x + rw, y + rh])
        return np.asarray(found, dtype=np.float32).reshape(-1, 4)

    return find


def kind_of(kind: str) -> Method:
    """The chosen combination's regions of one kind ("face" | "plate")."""
    return lambda image, det: (r := find_private_regions(image, det)).xyxy[r.labels == kind]


FACE_METHODS: dict[str, Method | None] = {
    "OpenCV Haar cascades (frontal, profile)": cascades(
        ["haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml"]
    ),
    "head bands of person boxes": lambda image, det: head_bands(boxes_of(det, PERSON_LABELS)),
    "CenterFace": lambda image, det: grow(detect_faces(image)[:, :4], *FACE_MARGIN),
    "chosen: CenterFace + head bands": kind_of("face"),
}
PLATE_METHODS: dict[str, Method | None] = {
    "OpenCV Haar cascades (Russian plates)": cascades(
        ["haarcascade_russian_plate_number.xml", "haarcascade_license_plate_rus_16stages.xml"]
    ),
    "plate detector, whole image": lambda image, det: grow(detect_plates(image)[:, :4], *(PLATE_MARGIN,) * 4),
    "plate detector, whole image + vehicle crops": lambda image, det: grow(
        np.concatenate([detect_plates(image), plates_in_vehicles(image, vehicles_of(det))])[:, :4],
        *(PLATE_MARGIN,) * 4,
    ),
    "plate bands of vehicle boxes": lambda image, det: plate_bands(vehicles_of(det)),
    "chosen: detector + crops, else band": kind_of("plate"),
}


def run_methods(
    title: str,
    items: list[Labelled],
    detections: list[Detections],
    methods: dict[str, Method | None],
    buckets: tuple[str, tuple[float, ...]],
) -> None:
    """Recall (overall and by box size), false-positive area and time of each method on one set."""
    axis, edges = buckets
    boxes = np.concatenate([it.boxes for it in items])
    size = boxes[:, 3] - boxes[:, 1] if axis == "high" else boxes[:, 2] - boxes[:, 0]
    bucket = np.digitize(size, edges)
    bounds = [0, *edges, None]
    names = [
        f"<{hi:g}" if lo == 0 else f">={lo:g}" if hi is None else f"{lo:g}-{hi:g}"
        for lo, hi in itertools.pairwise(bounds)
    ]
    counts = [int((bucket == k).sum()) for k in range(len(names))]
    print(f"\n{title}: {len(items)} images, {len(boxes)} boxes, {np.median(size):.0f} px {axis} (median)")
    by_size = "".join(f"{n + ' (' + str(c) + ')':>14s}" for n, c in zip(names, counts))
    print(
        f"  {'method':44s} {'recall':>6s} {'hidden':>8s} {'false area':>10s} {'ms/image':>8s}   by px {axis}:{by_size}"
    )
    scores = {}
    for name, method in methods.items():
        if method is None:
            print(f"  {name:44s} not in this OpenCV ({cv2.__version__})")
            continue
        t0 = time.perf_counter()
        regions = [method(it.image, det) for it, det in zip(items, detections)]
        ms = 1000 * (time.perf_counter() - t0) / len(items)
        s = scores[name] = score(items, regions)
        per = "".join(f"{s.hidden[bucket == k].mean() if counts[k] else float('nan'):14.2f}" for k in range(len(names)))
        hidden = f"{int(s.hidden.sum())}/{len(s.hidden)}"
        pad = " " * (len(axis) + 7)
        print(f"  {name:44s} {s.recall:6.3f} {hidden:>8s} {100 * s.false_area:9.1f}% {ms:8.0f}   {pad}{per}")
    (base, first), (chosen, last) = next(iter(scores.items())), list(scores.items())[-1]
    ratio = f"x{last.recall / first.recall:.2f}" if first.recall else "-"
    missed = f"{int((~last.hidden).sum())} vs {int((~first.hidden).sum())} missed"
    print(f"  {chosen} vs {base}: recall {last.recall:.3f} vs {first.recall:.3f} ({ratio}), {missed}")


def cost(detector: Detector, clip: Path, frames: int) -> None:
    """Milliseconds of find + blur on 1080p keyframes of ``clip`` and on small crops of them."""
    keyframes = [f.image for f in iter_frames(clip, fps=frames / 40)][:frames]  # the clip is 40 s long
    detections = detector.detect(keyframes)
    crops = [
        frame[int(y1) : int(y2), int(x1) : int(x2)]
        for frame, det in zip(keyframes, detections)
        for x1, y1, x2, y2 in det.xyxy[:3]
        if (x2 - x1) * (y2 - y1) > 40 * 40
    ]
    h, w = keyframes[0].shape[:2]
    print(f"\ncost on {len(keyframes)} keyframes {w}x{h} and {len(crops)} crops of them")
    for title, images, dets in (
        ("1080p keyframe, with its detections", keyframes, detections),
        (
            f"small crop ({np.median([c.shape[1] for c in crops]):.0f} px wide median), no detections",
            crops,
            [None] * len(crops),
        ),
    ):
        t0 = time.perf_counter()
        regions = [find_private_regions(im, det) for im, det in zip(images, dets)]
        t1 = time.perf_counter()
        for im, r in zip(images, regions):
            blur_regions(im, r)
        t2 = time.perf_counter()
        n = len(images)
        print(f"  {title:58s} find {1000 * (t1 - t0) / n:6.0f} ms  blur {1000 * (t2 - t1) / n:5.1f} ms")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", type=Path, default=None, help="default: $STREETSCAN_SHARED, else ../shared")
    p.add_argument("--weights", type=Path, default=None, help="scene model for person and vehicle boxes")
    p.add_argument("--variants", type=int, default=3, help="renderings of each vehicle image")
    p.add_argument("--keyframes", type=int, default=8, help="patrol keyframes for the cost figures")
    args = p.parse_args(argv)

    root = (args.data_root or default_data_root()).resolve()
    coco = root / "datasets" / "coco128"
    data = REPO / "tests" / "vision" / "data"
    faces = load_labelled(data / "privacy-faces.json", coco / "images")
    plates = load_labelled(data / "privacy-plates.json", coco / "images")
    rendered = rendered_plates(coco, variants=args.variants)
    detector = Detector(args.weights or default_model(), conf=0.25)
    print(f"OpenCV {cv2.__version__}; scene model {detector.weights.name} ({detector.runtime})")

    face_sizes, plate_sizes = ("high", (16.0, 32.0)), ("wide", (30.0, 60.0))
    for title, items, methods, sizes in (
        ("COCO faces", faces, FACE_METHODS, face_sizes),
        ("COCO plates (UK, US)", plates, PLATE_METHODS, plate_sizes),
        ("rendered Chinese plates on COCO vehicles", rendered, PLATE_METHODS, plate_sizes),
    ):
        t0 = time.perf_counter()
        detections = [detector.detect([it.image])[0] for it in items]
        print(f"\nscene model: {1000 * (time.perf_counter() - t0) / len(items):.0f} ms/image")
        run_methods(title, items, detections, methods, sizes)
    cost(detector, root / "samples" / "patrol-facades" / "patrol.mp4", args.keyframes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
