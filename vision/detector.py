"""The detector: an explicit YOLO weights file wrapped by Ultralytics, and the Detections type."""

from __future__ import annotations

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

    Never downloads anything: a missing file raises ``ModelError`` naming the path.
    """

    def __init__(
        self,
        weights: str | Path,
        conf: float = 0.25,
        imgsz: int = 640,
        device: str = "cpu",
        batch: int = 4,
    ) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        path = Path(weights)
        if not path.is_file():
            raise ModelError(f"model weights not found: {path}")
        from ultralytics import YOLO

        try:
            self.model = YOLO(str(path))
        except Exception as exc:  # a corrupt or foreign file
            raise ModelError(f"cannot load model weights {path}: {exc}") from exc
        self.weights = path
        self.conf = conf
        self.imgsz = imgsz
        self.device = device
        self.batch = batch
        self.names: dict[int, str] = {int(k): str(v) for k, v in self.model.names.items()}

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Run the model on BGR uint8 images (each H x W x 3); one Detections per image."""
        out: list[Detections] = []
        for start in range(0, len(images), self.batch):
            chunk = list(images[start : start + self.batch])
            results = self.model.predict(
                chunk, conf=self.conf, imgsz=self.imgsz, device=self.device, verbose=False
            )
            out.extend(Detections.from_ultralytics(r) for r in results)
        return out
