"""The detector: an explicit YOLO weights file wrapped by Ultralytics; its boxes come as ``Detections``."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vision.boxes import Detections


class ModelError(RuntimeError):
    """The weights file is missing or cannot be loaded."""


class Detector:
    """A YOLO model from an explicit local weights file, run on CPU unless told otherwise.

    Never downloads anything: a missing file raises ``ModelError`` naming the path.
    ``tile`` > 0 also looks at frames larger than ``tile`` pixels in overlapping tile x tile windows at
    full resolution (at least ``tile_overlap`` pixels shared by neighbours), for small, far objects in
    1080p patrol frames; their boxes are merged with the whole-frame pass at ``imgsz``.
    """

    def __init__(
        self,
        weights: str | Path,
        conf: float = 0.25,
        imgsz: int = 640,
        device: str = "cpu",
        batch: int = 4,
        tile: int = 0,
        tile_overlap: int = 160,
    ) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        path = Path(weights)
        if not path.is_file():
            raise ModelError(f"model weights not found: {path}")
        from ultralytics import YOLO

        from vision.layers import legacy_module_names

        try:
            with legacy_module_names():
                self.model = YOLO(str(path))
        except Exception as exc:  # a corrupt or foreign file
            raise ModelError(f"cannot load model weights {path}: {exc}") from exc
        self.weights = path
        self.conf = conf
        self.imgsz = imgsz
        self.device = device
        self.batch = batch
        self.tile = tile
        self.tile_overlap = tile_overlap
        self.names: dict[int, str] = {int(k): str(v) for k, v in self.model.names.items()}

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Run the model on BGR uint8 images (each H x W x 3); one Detections per image, in frame pixels."""
        full = self._predict(images, self.imgsz)
        if self.tile <= 0:
            return full
        windows = [
            (i, x, y) for i, im in enumerate(images) for x, y in _tiles(im.shape[:2], self.tile, self.tile_overlap)
        ]
        found = self._predict([images[i][y : y + self.tile, x : x + self.tile] for i, x, y in windows], self.tile)
        per_image: list[list[tuple[Detections, int, int]]] = [[] for _ in images]
        for (i, x, y), det in zip(windows, found):
            per_image[i].append((det, x, y))
        return [_merge(full[i], per_image[i], images[i].shape[:2], self.tile) for i in range(len(images))]

    def _predict(self, images: Sequence[np.ndarray], imgsz: int) -> list[Detections]:
        out: list[Detections] = []
        for start in range(0, len(images), self.batch):
            chunk = list(images[start : start + self.batch])
            results = self.model.predict(chunk, conf=self.conf, imgsz=imgsz, device=self.device, verbose=False)
            out.extend(Detections.from_ultralytics(r) for r in results)
        return out


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread window starts covering 0..size with windows of ``tile`` sharing >= ``overlap`` pixels."""
    if size <= tile:
        return [0]
    n = math.ceil((size - overlap) / (tile - overlap))
    return [round(k * (size - tile) / (n - 1)) for k in range(n)]


def _tiles(shape: tuple[int, int], tile: int, overlap: int) -> list[tuple[int, int]]:
    """Top-left (x, y) of the windows of a frame of shape (H, W); none when the frame fits one tile."""
    h, w = shape
    if h <= tile and w <= tile:
        return []
    return [(x, y) for y in _starts(h, tile, overlap) for x in _starts(w, tile, overlap)]


def _merge(
    full: Detections, tiles: list[tuple[Detections, int, int]], shape: tuple[int, int], tile: int, iou: float = 0.5
) -> Detections:
    """Whole-frame and per-window detections as one set, in frame pixels.

    A window's box that touches one of its edges inside the frame is dropped: the object is cut there, and
    is seen whole by a neighbouring window or by the whole-frame pass. Then per-class NMS at ``iou``.
    """
    import torch
    from torchvision.ops import batched_nms

    h, w = shape
    xyxy, conf, cls = [full.xyxy], [full.confidence], [full.class_id]
    for det, x, y in tiles:
        box = det.xyxy + np.array([x, y, x, y], dtype=np.float32)
        x2, y2 = min(x + tile, w), min(y + tile, h)
        cut = (
            ((box[:, 0] <= x + 2) & (x > 0))
            | ((box[:, 1] <= y + 2) & (y > 0))
            | ((box[:, 2] >= x2 - 2) & (x2 < w))
            | ((box[:, 3] >= y2 - 2) & (y2 < h))
        )
        xyxy.append(box[~cut])
        conf.append(det.confidence[~cut])
        cls.append(det.class_id[~cut])
    boxes, scores, ids = np.concatenate(xyxy), np.concatenate(conf), np.concatenate(cls)
    keep = batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(ids), iou).numpy()
    return Detections(boxes[keep], scores[keep], ids[keep], names=full.names)
