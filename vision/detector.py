"""The detector: an explicit YOLO weights file wrapped by Ultralytics, and the Detections type."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Detections:
    """Boxes found in one frame, as parallel arrays of length N.

    xyxy: (N, 4) float32 pixel corners x1, y1, x2, y2 in the frame the model saw.
    confidence: (N,) float32 in 0..1.
    class_id: (N,) int64 model class ids (see ``names``).
    tracker_id: (N,) int64 track ids, -1 where not tracked yet.
    names: model class id -> label, shared by every frame of one model.
    data: extra per-row arrays of length N (e.g. "category"), carried through selection.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    tracker_id: np.ndarray = field(default=None)  # type: ignore[assignment]
    names: dict[int, str] = field(default_factory=dict)
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        self.class_id = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        if self.tracker_id is None:
            self.tracker_id = np.full(len(self.xyxy), -1, dtype=np.int64)
        self.tracker_id = np.asarray(self.tracker_id, dtype=np.int64).reshape(-1)
        n = len(self.xyxy)
        lengths = {len(self.confidence), len(self.class_id), len(self.tracker_id)}
        lengths |= {len(v) for v in self.data.values()}
        if lengths - {n}:
            raise ValueError("Detections arrays must all have the same length")

    @classmethod
    def empty(cls, names: dict[int, str] | None = None) -> Detections:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0), names=dict(names or {}))

    @classmethod
    def from_ultralytics(cls, result: Any) -> Detections:
        """Convert one ``ultralytics.engine.results.Results`` (one image) into Detections."""
        boxes = result.boxes
        names = {int(k): str(v) for k, v in result.names.items()}
        if boxes is None or len(boxes) == 0:
            return cls.empty(names)
        ids = boxes.id.cpu().numpy() if boxes.id is not None else None
        return cls(
            xyxy=boxes.xyxy.cpu().numpy(),
            confidence=boxes.conf.cpu().numpy(),
            class_id=boxes.cls.cpu().numpy(),
            tracker_id=ids,
            names=names,
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> Detections:
        """Select rows by boolean mask, index array or slice."""
        return Detections(
            self.xyxy[index],
            self.confidence[index],
            self.class_id[index],
            self.tracker_id[index],
            names=self.names,
            data={k: v[index] for k, v in self.data.items()},
        )

    @property
    def labels(self) -> list[str]:
        """Model label of each row, length N."""
        return [self.names.get(int(c), str(int(c))) for c in self.class_id]

    @property
    def area(self) -> np.ndarray:
        """(N,) box areas in square pixels."""
        wh = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        return wh[:, 0] * wh[:, 1]


class ModelError(RuntimeError):
    """The weights file is missing or cannot be loaded."""


class Detector:
    """A YOLO model from an explicit local weights file, run on CPU unless told otherwise.

    Never downloads anything: a missing file raises ``ModelError`` naming the path. A ``.pt`` file with
    its int8 OpenVINO export beside it runs through OpenVINO (``vision/runtime.py``).
    ``tile`` > 0 also looks at frames larger than ``tile`` pixels in overlapping tile x tile windows at
    full resolution (at least ``tile_overlap`` pixels shared by neighbours), for small, far objects in
    1080p patrol frames; their boxes are merged with the whole-frame pass at ``imgsz``. ``threads``: CPU
    threads of one OpenVINO inference (None: all cores).
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

        from vision.runtime import compile_openvino, runtime_weights

        model = runtime_weights(path)
        try:
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
