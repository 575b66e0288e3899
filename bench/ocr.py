"""Sign OCR: character accuracy per crop set, and what reading signs costs a scan.

Accuracy (1 - character error rate, texts compared after ``vision.identity.normalize_text``):
- rendered: Chinese shop-sign crops drawn with the Noto CJK fonts (``vision.sign_render``), 30-300 px
  wide, perspective, blur, JPEG noise; by width band and for vertical (projecting) signs;
- shop fronts: real sign crops of ``datasets/facade-ads`` val whose text was transcribed by hand
  (``tests/vision/data/facade-sign-text.json``: image, box, text), cut as the scanner cuts them (box grown
  by 10%); Latin-script signs, and Cyrillic ones (outside the recogniser's alphabet) apart.

Cost: the patrol clip scanned twice in this run with the shipped model and taxonomy, with OCR and
without (``--no-ocr``): seconds per scanned minute of video for each and their ratio, the crops read and
milliseconds per crop, and the appearance signatures' milliseconds per crop.

Text thresholds: rendered signs read in two independent views (same sign) and against their neighbour
(different signs): how often the similarity reaches ``TEXT_SAME`` or falls to ``TEXT_DIFFERENT``.

    python bench/ocr.py [--rendered N] [--pairs N] [--runtime openvino|onnxruntime] [--skip-scan] [--data-root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("YOLO_OFFLINE", "1")

from vision.appearance import signature  # noqa: E402
from vision.defaults import default_model  # noqa: E402
from vision.frames import probe  # noqa: E402
from vision.identity import TEXT_DIFFERENT, TEXT_SAME, text_similarity  # noqa: E402
from vision.observe import crop_box  # noqa: E402
from vision.ocr import SignReader, character_accuracy  # noqa: E402
from vision.pipeline import Scanner, ScanOptions  # noqa: E402
from vision.sign_render import BOARDS, default_fonts, draw_board, render_signs, seen, sign_texts  # noqa: E402
from vision.training.recipe import default_data_root  # noqa: E402

FACADE_TEXT = REPO / "tests" / "vision" / "data" / "facade-sign-text.json"


def rendered_accuracy(reader: SignReader, n: int, seed: int = 0) -> dict[str, tuple[float, int]]:
    """Accuracy and crop count of ``n`` rendered signs, by kind and width band, and over all."""
    groups: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
    for sign in render_signs(n, seed=seed):
        found = reader.read(sign.image)
        width = sign.image.shape[1]
        band = (
            "vertical"
            if sign.vertical
            else ("30-59 px" if width < 60 else "60-119 px" if width < 120 else "120-300 px")
        )
        pair = (found.text if found else None, sign.text)
        groups[band].append(pair)
        groups["all"].append(pair)
    return {k: (character_accuracy(v), len(v)) for k, v in groups.items()}


def facade_accuracy(reader: SignReader, data_root: Path) -> dict[str, tuple[float, int]]:
    """Accuracy and crop count of the transcribed shop-front signs, by script."""
    images = data_root / "datasets" / "facade-ads" / "images" / "val"
    groups: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
    for item in json.loads(FACADE_TEXT.read_text(encoding="utf-8")):
        image = cv2.imread(str(images / item["image"]))
        if image is None:
            raise OSError(f"cannot read {images / item['image']}")
        found = reader.read(crop_box(image, np.asarray(item["box"], dtype=float)))
        groups[item["script"]].append((found.text if found else None, item["text"]))
    return {k: (character_accuracy(v), len(v)) for k, v in groups.items()}


def text_thresholds(reader: SignReader, n: int, seed: int = 5) -> None:
    """Text similarity of one rendered sign read in two independent views (two passes: other angle, size,
    light, JPEG) and of neighbouring different signs; prints how often each side of the thresholds is hit."""
    rng = np.random.default_rng(seed)
    fonts = default_fonts()
    readings = []
    for _ in range(n):
        lines = sign_texts(rng)
        board = draw_board(
            lines, fonts[int(rng.integers(len(fonts)))], False, BOARDS[int(rng.integers(len(BOARDS)))], rng
        )
        views = [reader.read(seen(board, False, (60, 300), rng)) for _ in range(2)]
        readings.append([v.text if v else None for v in views])
    same = [text_similarity(a, b) for a, b in readings]
    different = [text_similarity(readings[i][0], readings[i - 1][1]) for i in range(n)]
    for name, scores in (("same sign, two passes", same), ("different signs", different)):
        known = np.array([s for s in scores if s is not None])
        between = np.mean((known > TEXT_DIFFERENT) & (known < TEXT_SAME))
        print(
            f"  {name:22s} both read {len(known)}/{n}: >= {TEXT_SAME} (same) {np.mean(known >= TEXT_SAME):.3f}, "
            f"<= {TEXT_DIFFERENT} (different) {np.mean(known <= TEXT_DIFFERENT):.3f}, between {between:.3f}"
        )


def scan_cost(clip: Path, runs: int = 2) -> None:
    """Scan the clip without and with OCR (same scanner settings, same run, alternating, the faster of
    ``runs`` scans each) and print the cost; OCR's own time is also measured inside the scan."""
    duration = probe(clip).duration_s or 0.0
    if duration <= 0:
        raise OSError(f"{clip} has no duration")
    minutes = duration / 60
    scanners = {ocr: Scanner(ScanOptions(model=default_model(), ocr=ocr, keyframes=False)) for ocr in (False, True)}
    best = {False: float("inf"), True: float("inf")}
    observations: dict[bool, list[Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            for ocr, scanner in scanners.items():
                began = time.perf_counter()
                observations[ocr] = list(scanner.observations(clip, Path(tmp)))
                best[ocr] = min(best[ocr], time.perf_counter() - began)
    for ocr in (False, True):
        signs = [o for o in observations[ocr] if o.signature]
        print(
            f"  {'with' if ocr else 'without'} OCR: {best[ocr] / minutes:6.1f} s per scanned minute; "
            f"{len(signs)} sign observations, {sum(o.text is not None for o in signs)} with text"
        )
    reader = scanners[True].signs.reader
    if reader is not None and reader.crops_read:
        crops, seconds = reader.crops_read / runs, reader.seconds / runs
        print(
            f"  OCR per scan: {crops:.0f} crops in {seconds:.2f} s ({1000 * seconds / crops:.0f} ms per crop, "
            f"{seconds / minutes:.1f} s per scanned minute)"
        )
    print(f"  ratio with / without OCR: {best[True] / best[False]:.3f} (wall time; noisy on a busy machine)")


def signature_cost(data_root: Path, repeats: int = 3) -> float:
    """Milliseconds per appearance signature on the transcribed shop-front sign boxes."""
    images = data_root / "datasets" / "facade-ads" / "images" / "val"
    items = []
    for item in json.loads(FACADE_TEXT.read_text(encoding="utf-8")):
        image = cv2.imread(str(images / item["image"]))
        if image is None:
            raise OSError(f"cannot read {images / item['image']}")
        items.append((image, item["box"]))
    began = time.perf_counter()
    for _ in range(repeats):
        for image, box in items:
            signature(image, box)
    return 1000 * (time.perf_counter() - began) / (repeats * len(items))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", type=Path, default=None, help="default: $STREETSCAN_SHARED, else ../shared")
    p.add_argument("--rendered", type=int, default=300, help="rendered crops to read (default 300)")
    p.add_argument("--pairs", type=int, default=150, help="rendered signs read in two views each (default 150)")
    p.add_argument("--runtime", choices=["openvino", "onnxruntime"], default="openvino")
    p.add_argument("--skip-scan", action="store_true", help="accuracy and per-crop cost only")
    args = p.parse_args(argv)
    root = (args.data_root or default_data_root()).resolve()

    reader = SignReader(runtime=args.runtime)
    reader.read(np.full((40, 120, 3), 255, np.uint8))  # load the models outside the timing
    reader.crops_read, reader.seconds = 0, 0.0
    print(f"character accuracy (1 - CER), PP-OCRv6 small on {args.runtime}:")
    for name, result in (
        ("rendered", rendered_accuracy(reader, args.rendered)),
        ("shop fronts", facade_accuracy(reader, root)),
    ):
        for group, (accuracy, n) in result.items():
            print(f"  {name:12s} {group:11s} {accuracy:6.3f}  ({n} crops)")
    print(f"OCR: {1000 * reader.seconds / reader.crops_read:.0f} ms per crop ({reader.crops_read} crops)")
    print(f"appearance signature: {signature_cost(root):.2f} ms per crop")
    print("text similarity of rendered signs 60-300 px wide:")
    text_thresholds(reader, args.pairs)
    if not args.skip_scan:
        print("patrol clip, shipped model and taxonomy, 5 frames/s:")
        scan_cost(root / "samples" / "patrol-facades" / "patrol.mp4")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
