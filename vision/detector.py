"""The detector: an explicit YOLO weights file wrapped by Ultralytics; its boxes come as ``Detections``."""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from vision.boxes import Detections

Window = tuple[int, int, int, int]
"""A region of a frame: x, y of its top-left corner, then its width and height, in pixels."""


class Detects(Protocol):
    """Anything that detects like ``Detector``: one Detections per BGR image (H x W x 3 uint8), in its pixels."""

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]: ...


class ModelError(RuntimeError):
    """The weights file is missing or cannot be loaded."""


class Detector:
    """A YOLO model from an explicit local weights file, run on CPU unless told otherwise.

    Never downloads anything: a missing file raises ``ModelError`` naming the path. A ``.pt`` file with
    its int8 OpenVINO export beside it runs through OpenVINO (``vision/runtime.py``).
    ``tile`` > 0 also looks at frames larger than ``tile`` pixels in overlapping tile x tile windows at
    full resolution (at least ``tile_overlap`` pixels shared by neighbours), for small, far objects in
    1080p patrol frames; their boxes are merged with the whole-frame pass at ``imgsz``. ``look_closer``
    runs such a second pass over chosen windows only (see ``vision.regions``). ``threads``: CPU threads of one
    OpenVINO inference (None: all cores).
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
        threads: int | None = None,
    ) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        path = Path(weights)
        if not path.is_file():
            raise ModelError(f"model weights not found: {path}")
        from ultralytics import YOLO

        from vision.layers import legacy_module_names
        from vision.runtime import compile_openvino, runtime_weights

        model = runtime_weights(path)
        try:
            with legacy_module_names():
                self.model = YOLO(str(model), task="detect" if model != path else None)
        except Exception as exc:  # a corrupt or foreign file
            raise ModelError(f"cannot load model weights {model}: {exc}") from exc
        self.weights = path
        self.runtime = "openvino" if model != path else "torch"
        if self.runtime == "openvino":
            compile_openvino(self.model, threads)
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
            [(x, y, self.tile, self.tile) for x, y in _tiles(im.shape[:2], self.tile, self.tile_overlap)]
            for im in images
        ]
        return self.look_closer(images, full, windows)

    def look_closer(
        self,
        images: Sequence[np.ndarray],
        found: Sequence[Detections],
        windows: Sequence[Sequence[Window]],
        labels: Collection[str] | None = None,
    ) -> list[Detections]:
        """``found`` (one Detections per image, frame pixels) merged with a second pass over ``windows`` of
        each image at full resolution (the model input is a window's longer side), keeping only ``labels``
        from it (every class when None). A window's box that touches one of its inner edges is dropped (the
        object is cut there); then per-class NMS."""
        jobs = [(i, window) for i, image_windows in enumerate(windows) for window in image_windows]
        if not jobs:
            return list(found)
        classes = None if labels is None else [k for k, name in self.names.items() if name in labels]
        by_size: dict[tuple[int, int], list[int]] = {}
        for k, (_, (_, _, w, h)) in enumerate(jobs):
            by_size.setdefault((w, h), []).append(k)
        seen: dict[int, Detections] = {}
        for (w, h), members in by_size.items():
            crops = []
            for k in members:
                i, (x, y, _, _) = jobs[k]
                crops.append(images[i][y : y + h, x : x + w])
            for k, det in zip(members, self._predict(crops, 32 * math.ceil(max(w, h) / 32), classes)):
                seen[k] = det
        per_image: list[list[tuple[Detections, Window]]] = [[] for _ in images]
        for k, (i, window) in enumerate(jobs):
            per_image[i].append((seen[k], window))
        return [_merge(found[i], per_image[i], images[i].shape[:2]) for i in range(len(images))]

    def _predict(
        self, images: Sequence[np.ndarray], imgsz: int, classes: Sequence[int] | None = None
    ) -> list[Detections]:
        out: list[Detections] = []
        for start in range(0, len(images), self.batch):
            chunk = list(images[start : start + self.batch])
            results = self.model.predict(
                chunk, conf=self.conf, imgsz=imgsz, device=self.device, classes=classes, verbose=False
            )
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
    full: Detections, windows: list[tuple[Detections, Window]], shape: tuple[int, int], iou: float = 0.5
) -> Detections:
    """Whole-frame and per-window detections as one set, in frame pixels.

    A window's box that touches one of its edges inside the frame is dropped: the object is cut there, and
    is seen whole by a neighbouring window or by the whole-frame pass. Then per-class NMS at ``iou``.
    """
    import torch
    from torchvision.ops import batched_nms

    h, w = shape
    xyxy, conf, cls = [full.xyxy], [full.confidence], [full.class_id]
    for det, (x, y, ww, wh) in windows:
        box = det.xyxy + np.array([x, y, x, y], dtype=np.float32)
        x2, y2 = min(x + ww, w), min(y + wh, h)
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
