"""Measuring the privacy blur: labelled face and plate sets, rendered plates on real vehicles, and how much
of each labelled box a method's blur covers.

A labelled face or plate counts as hidden when at least ``HIDDEN`` of its box lies inside the blurred
regions: recall is the share hidden. The false-positive area is the blurred share of an image outside
every labelled box of the kind measured, averaged over the images.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vision.plate_render import place_plates
from vision.privacy import pixel_boxes

HIDDEN = 0.8
"""Share of a labelled box that must be blurred for it to count as hidden."""
COCO_VEHICLES = {2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}
"""COCO class ids (0-79, as in ``datasets/coco128`` labels) of the vehicles plates are rendered on."""


@dataclass(frozen=True)
class Labelled:
    """One image (BGR, H x W x 3 uint8) with its true boxes (N, 4) xyxy pixels of one kind."""

    name: str
    image: np.ndarray
    boxes: np.ndarray


def load_labelled(labels: Path, images: Path) -> list[Labelled]:
    """The images of a label file (``{"images": {relative path: [[x1, y1, x2, y2], ...]}}``) under ``images``."""
    entries = json.loads(labels.read_text(encoding="utf-8"))["images"]
    out = []
    for name, boxes in entries.items():
        image = cv2.imread(str(images / name))
        if image is None:
            raise FileNotFoundError(f"labelled image not found: {images / name}")
        out.append(Labelled(name, image, np.asarray(boxes, dtype=np.float32).reshape(-1, 4)))
    return out


def coco_vehicles(label_file: Path, shape: tuple[int, ...], min_width: float) -> np.ndarray:
    """(N, 4) xyxy pixel boxes of the vehicles at least ``min_width`` px wide in a YOLO label file of an
    image of ``shape`` (H, W, ...)."""
    h, w = shape[:2]
    rows = [line.split() for line in label_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    boxes = [
        [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
        for cls, cx, cy, bw, bh in ((int(r[0]), *map(float, r[1:5])) for r in rows)
        if cls in COCO_VEHICLES and bw * w >= min_width
    ]
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


def rendered_plates(coco: Path, variants: int = 3, seed: int = 0, min_width: float = 60) -> list[Labelled]:
    """Rendered Chinese plates on every vehicle at least ``min_width`` px wide in the COCO images under
    ``coco`` (``images/`` and YOLO ``labels/``), ``variants`` renderings of each image."""
    rng = np.random.default_rng(seed)
    out = []
    for label_file in sorted((coco / "labels").glob("*/*.txt")):
        image_path = coco / "images" / label_file.parent.name / f"{label_file.stem}.jpg"
        image = cv2.imread(str(image_path))
        if image is None:
            continue
        vehicles = coco_vehicles(label_file, image.shape, min_width)
        if len(vehicles) == 0:
            continue
        for k in range(variants):
            scene, placed = place_plates(image, vehicles, rng)
            name = f"{label_file.parent.name}/{label_file.stem}.jpg#{k}"
            out.append(Labelled(name, scene, np.asarray([p.box for p in placed], dtype=np.float32)))
    return out


def region_mask(regions: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(H, W) bool: the pixels inside any of ``regions`` (N, 4) xyxy, as ``blur_regions`` rounds them."""
    mask = np.zeros(shape[:2], dtype=bool)
    for x1, y1, x2, y2 in pixel_boxes(np.asarray(regions, dtype=np.float32).reshape(-1, 4), shape):
        mask[y1:y2, x1:x2] = True
    return mask


def coverage(boxes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(N,) the share of each labelled box (N, 4) xyxy whose pixels are set in ``mask`` (H, W)."""
    out = np.zeros(len(boxes))
    for i, (x1, y1, x2, y2) in enumerate(np.round(boxes).astype(int)):
        cell = mask[max(0, y1) : max(y2, y1 + 1), max(0, x1) : max(x2, x1 + 1)]
        out[i] = float(cell.mean()) if cell.size else 0.0
    return out


@dataclass(frozen=True)
class Score:
    """A method on a labelled set: whether each labelled box (all images, in order) was hidden, and the
    mean false-positive area (share of an image)."""

    hidden: np.ndarray
    false_area: float

    @property
    def recall(self) -> float:
        return float(self.hidden.mean()) if len(self.hidden) else 0.0


def score(items: Sequence[Labelled], regions: Sequence[np.ndarray]) -> Score:
    """A method's blurred ``regions`` (one (M, 4) xyxy array per image) against the labelled ``items``."""
    hidden, false_area = [], 0.0
    for item, found in zip(items, regions):
        mask = region_mask(found, item.image.shape)
        hidden.append(coverage(item.boxes, mask) >= HIDDEN)
        false_area += float((mask & ~region_mask(item.boxes, item.image.shape)).mean())
    return Score(np.concatenate(hidden) if hidden else np.zeros(0, bool), false_area / max(len(items), 1))
