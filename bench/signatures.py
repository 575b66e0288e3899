"""Appearance signatures: how well they tell the same sign from different signs, against baselines.

Pairs come from real data:
- shop fronts (``datasets/facade-ads`` val): every labelled sign at least 40 x 16 pixels. Same-sign pairs:
  two renderings of one sign as two patrol days would see it (independent perspective, scale 0.35-1,
  detector box jitter, gamma/gain/white balance, noise, blur, JPEG quality 30-90); different-sign
  pairs: the sign against each other sign of its photo (neighbours: same light, often one style) and
  against random signs of other photos, each side jittered the same way.
- the patrol clip: each sign, window poster and projecting sign of ``truth.json`` in view for at least
  half a second, cut from two frames (early and late in its view, at different places across the frame)
  by its true box; different signs: every other such object, and the neighbours (within 800 facade px).

For each signature it prints ROC-AUC (the chance a same-sign pair scores above a different-sign pair),
the miss rate at the threshold that lets 1% of different-sign pairs through (and that threshold), the
shipped threshold's false-match and miss rates, and milliseconds per crop. Baselines in the same run:
a hue/saturation histogram, and (``--detector``) the detector backbone's pooled features.

    python bench/signatures.py [--detector models/streetscan-v1.pt] [--data-root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("YOLO_OFFLINE", "1")

from vision.appearance import box_region, signature  # noqa: E402
from vision.identity import SIGNATURE_SAME, signature_similarity  # noqa: E402
from vision.training.evaluate import LabeledSplit  # noqa: E402
from vision.training.recipe import default_data_root  # noqa: E402

View = tuple[np.ndarray, np.ndarray]  # (H, W, 3) BGR image, (4,) box x1, y1, x2, y2 pixels
Pair = tuple[View, View]
Describe = Callable[[np.ndarray, np.ndarray], np.ndarray]
SIGN_CLASSES = {"signboard": "shop_sign", "cantilever": "projecting_sign", "win_ad": "window_ad"}
PAN_PX_PER_S = 897.5  # the patrol clip pans its facade strip right to left at this speed


def another_day(image: np.ndarray, box: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> View:
    """The sign in ``box`` as another pass might see it: its surroundings warped by a small perspective,
    scaled, re-lit, noised, blurred and JPEG-compressed, with the detector's box a little off."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    height, width = image.shape[:2]
    left, top = int(max(x1 - 0.6 * w, 0)), int(max(y1 - 0.6 * h, 0))
    right, bottom = int(min(x2 + 0.6 * w, width)), int(min(y2 + 0.6 * h, height))
    region = image[top:bottom, left:right]
    rh, rw = region.shape[:2]
    src = np.array([[0, 0], [rw, 0], [rw, rh], [0, rh]], dtype=np.float32)
    dst = src + rng.uniform(-0.06, 0.06, (4, 2)).astype(np.float32) * [w, h] * strength
    dst -= dst.min(axis=0)
    warp = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    region = cv2.warpPerspective(
        region, warp, (int(dst[:, 0].max()), int(dst[:, 1].max())), borderMode=cv2.BORDER_REPLICATE
    )
    corners = np.array(
        [[[x1 - left, y1 - top], [x2 - left, y1 - top], [x2 - left, y2 - top], [x1 - left, y2 - top]]], dtype=np.float32
    )
    moved = cv2.perspectiveTransform(corners, warp)[0]
    new = np.array([*moved.min(axis=0), *moved.max(axis=0)])
    scale = 1.0 - rng.uniform(0.0, 0.65) * strength
    region = cv2.resize(
        region,
        (max(8, int(region.shape[1] * scale)), max(8, int(region.shape[0] * scale))),
        interpolation=cv2.INTER_AREA,
    )
    new *= scale
    bw, bh = new[2] - new[0], new[3] - new[1]
    new += rng.uniform(-0.07, 0.07, 4) * [bw, bh, bw, bh] * strength
    lit: np.ndarray = (region.astype(np.float32) / 255.0) ** (1.0 + rng.uniform(-0.3, 0.4) * strength)
    lit = lit * (1.0 + rng.uniform(-0.4, 0.4) * strength) * (1.0 + rng.uniform(-0.1, 0.1, 3) * strength)
    lit = np.clip((lit + rng.uniform(-0.1, 0.1) * strength) * 255 + rng.normal(0, 3, lit.shape), 0, 255).astype(
        np.uint8
    )
    sigma = rng.uniform(0.0, 1.0)
    if sigma > 0.3:
        lit = cv2.GaussianBlur(lit, (0, 0), sigma)
    _, jpeg = cv2.imencode(".jpg", lit, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 91))])
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)), new


def facade_pairs(data_root: Path, seed: int = 0) -> dict[str, list[Pair]]:
    """Same-sign, neighbouring and random different-sign pairs from the shop-front validation photos."""
    rng = np.random.default_rng(seed)
    split = LabeledSplit.open(data_root / "datasets" / "facade-ads" / "data.yaml", "val", rename=SIGN_CLASSES)
    photos = []
    for path in split.images:
        image, labelled = split.read(path)
        keep = [b for b in labelled.xyxy if b[2] - b[0] >= 40 and b[3] - b[1] >= 16]
        if keep:
            photos.append((image, keep))
    every = [(i, k) for i, (_, boxes) in enumerate(photos) for k in range(len(boxes))]
    pairs: dict[str, list[Pair]] = {"same": [], "neighbours": [], "random": []}
    for i, (image, boxes) in enumerate(photos):
        for k, box in enumerate(boxes):
            for _ in range(2):
                pairs["same"].append((another_day(image, box, rng, 0.3), another_day(image, box, rng)))
            for other in boxes[k + 1 :]:
                pairs["neighbours"].append((another_day(image, box, rng, 0.3), another_day(image, other, rng)))
            for j, m in (every[n] for n in rng.choice(len(every), 3, replace=False)):
                if j != i:
                    pairs["random"].append(
                        (another_day(image, box, rng, 0.3), another_day(photos[j][0], photos[j][1][m], rng))
                    )
    return pairs


def patrol_pairs(clip_dir: Path) -> dict[str, list[Pair]]:
    """Same-sign pairs (one sign early and late in its view) and different-sign pairs from the patrol clip."""
    truth = json.loads((clip_dir / "truth.json").read_text(encoding="utf-8"))
    objects = [
        o
        for o in truth["objects"]
        if o["class"] in SIGN_CLASSES
        and o["visible_s"][1] - o["visible_s"][0] >= 0.5
        and o["strip_box"][2] - o["strip_box"][0] >= 40
    ]
    video = cv2.VideoCapture(str(clip_dir / "patrol.mp4"))
    frames: dict[float, np.ndarray] = {}

    def view(obj: dict[str, Any], t: float) -> View:
        t = round(t * 5) / 5
        if t not in frames:
            video.set(cv2.CAP_PROP_POS_MSEC, t * 1000)
            ok, frames[t] = video.read()
            if not ok:
                raise OSError(f"cannot read {clip_dir / 'patrol.mp4'} at {t} s")
        shift = PAN_PX_PER_S * t
        x1, y1, x2, y2 = obj["strip_box"]
        return frames[t], np.array([x1 - shift, y1, x2 - shift, y2])

    views = []
    for o in objects:
        a, b = o["visible_s"]
        views.append((view(o, a + 0.1 * (b - a)), view(o, b - 0.1 * (b - a))))
    video.release()
    n = range(len(objects))

    def near(i: int, j: int) -> bool:
        return bool(abs(objects[i]["strip_box"][0] - objects[j]["strip_box"][0]) < 800)

    return {
        "same": [views[i] for i in n],
        "neighbours": [(views[i][0], views[j][1]) for i in n for j in n if j > i and near(i, j)],
        "random": [(views[i][0], views[j][1]) for i in n for j in n if j > i],
    }


def colour_histogram(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Baseline: square-rooted hue x saturation histogram (8 x 3 bins) of the box region."""
    hsv = cv2.cvtColor(box_region(image, box), cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [8, 3], [0, 180, 0, 256]).ravel()
    return np.asarray(np.sqrt(hist / max(float(hist.sum()), 1.0)))


def detector_features(weights: Path) -> Describe:
    """Baseline: the detector backbone (layers 0-9) on the box region at 160 x 64, the outputs of
    layers 4, 6 and 9 averaged over space, each scaled to unit length."""
    import torch
    from ultralytics import YOLO

    layers = list(YOLO(str(weights)).model.model.eval())[:10]

    def describe(image: np.ndarray, box: np.ndarray) -> np.ndarray:
        pixels = cv2.resize(box_region(image, box), (160, 64), interpolation=cv2.INTER_AREA)[:, :, ::-1]
        x = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float() / 255
        outputs: list[torch.Tensor] = []
        pooled: list[np.ndarray] = []
        with torch.no_grad():
            for i, layer in enumerate(layers):
                x = layer(x) if layer.f == -1 else layer([outputs[j] for j in layer.f])
                outputs.append(x)
                if i in (4, 6, 9):
                    v = x.mean((2, 3))[0].numpy()
                    pooled.append(v / max(float(np.linalg.norm(v)), 1e-9))
        return np.concatenate(pooled)

    return describe


def roc_auc(same: np.ndarray, different: np.ndarray) -> float:
    """Chance that a random same-sign pair scores above a random different-sign pair (ties half)."""
    scores = np.concatenate([same, different])
    order = scores.argsort()
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[: len(same)].sum() - len(same) * (len(same) + 1) / 2) / (len(same) * len(different)))


def similarities(describe: Describe, pairs: list[Pair]) -> tuple[np.ndarray, float]:
    """Similarity of each pair, and milliseconds per described crop (a view in several pairs is described once)."""
    memo: dict[tuple[int, bytes], np.ndarray] = {}

    def look(view: View) -> np.ndarray:
        key = (id(view[0]), view[1].tobytes())
        if key not in memo:
            memo[key] = describe(*view)
        return memo[key]

    began = time.perf_counter()
    out = np.array([signature_similarity(look(a), look(b)) for a, b in pairs])
    return out, (time.perf_counter() - began) * 1000 / max(len(memo), 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", type=Path, default=None, help="default: $STREETSCAN_SHARED, else ../shared")
    p.add_argument("--detector", type=Path, default=None, help="also score this YOLO model's backbone features")
    args = p.parse_args(argv)
    root = (args.data_root or default_data_root()).resolve()

    sets = {"shop fronts": facade_pairs(root), "patrol clip": patrol_pairs(root / "samples" / "patrol-facades")}
    describers: dict[str, Describe] = {"signature (shipped)": signature, "colour histogram": colour_histogram}
    if args.detector:
        describers["detector features"] = detector_features(args.detector)
    for name, pairs in sets.items():
        print(
            f"\n{name}: {len(pairs['same'])} same-sign pairs, {len(pairs['neighbours'])} neighbouring and "
            f"{len(pairs['random'])} random different-sign pairs"
        )
        print(
            f"{'':22s} {'AUC near':>8s} {'AUC any':>8s} {'miss@1%':>8s} {'thr@1%':>7s} "
            f"{'FM@' + format(SIGNATURE_SAME, '.2f'):>8s} {'miss@' + format(SIGNATURE_SAME, '.2f'):>9s} {'ms/crop':>8s}"
        )
        baseline_auc = None
        for label, describe in describers.items():
            same, t1 = similarities(describe, pairs["same"])
            near, t2 = similarities(describe, pairs["neighbours"])
            far, t3 = similarities(describe, pairs["random"])
            different = np.concatenate([near, far])
            threshold = float(np.quantile(different, 0.99))
            auc = roc_auc(same, near)
            line = (
                f"{label:22s} {auc:8.3f} {roc_auc(same, different):8.3f} {np.mean(same < threshold):8.3f} "
                f"{threshold:7.3f}"
            )
            if label.startswith("signature"):
                line += f" {np.mean(different >= SIGNATURE_SAME):8.3f} {np.mean(same < SIGNATURE_SAME):9.3f}"
            else:
                line += f" {'':8s} {'':9s}"
            print(line + f" {(t1 + t2 + t3) / 3:8.2f}")
            if label == "colour histogram":
                baseline_auc = auc
        shipped = roc_auc(*(similarities(signature, pairs[k])[0] for k in ("same", "neighbours")))
        if baseline_auc:
            print(f"shipped / colour-histogram error (1 - AUC near): {(1 - shipped) / max(1 - baseline_auc, 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
