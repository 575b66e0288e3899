"""The one box type, ``Detections``, and the area and overlap helpers every stage uses.

Boxes are xyxy pixel corners (x1, y1, x2, y2) in the image they belong to. One ``Detections`` holds a
detector's boxes for one frame, the tracker's (with ``tracker_id`` set) and labelled ground truth
(``Detections.labeled``, confidence 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def box_area(xyxy: np.ndarray) -> np.ndarray:
    """(...,) areas in square pixels of (..., 4) xyxy boxes; a box with x2 < x1 or y2 < y1 has area 0."""
    area: np.ndarray = np.prod(np.clip(xyxy[..., 2:] - xyxy[..., :2], 0, None), axis=-1)
    return area


def box_overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every box in a (N, 4) against every box in b (M, 4), xyxy: intersection over union, and
    intersection over the smaller box's area (1 when one box lies inside the other); each (N, M)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = box_area(np.concatenate([lt, rb], axis=2))
    area_a, area_b = box_area(a)[:, None], box_area(b)[None, :]
    iou = inter / np.maximum(area_a + area_b - inter, 1e-9)
    return iou, inter / np.maximum(np.minimum(area_a, area_b), 1e-9)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of xyxy boxes a (N, 4) and b (M, 4)."""
    return box_overlaps(a, b)[0]


class Detections:
    """Boxes in one image, as parallel arrays of length N.

    xyxy: (N, 4) float32 pixel corners x1, y1, x2, y2 in the image the boxes belong to.
    confidence: (N,) float32 in 0..1 (1 for labelled ground truth).
    class_id: (N,) int64 class ids (see ``names``).
    tracker_id: (N,) int64 track ids, -1 where not tracked (the default).
    names: class id -> label, shared by every frame of one model.
    data: extra per-row arrays of length N (e.g. "category"), carried through selection.
    """

    def __init__(
        self,
        xyxy: ArrayLike,
        confidence: ArrayLike,
        class_id: ArrayLike,
        tracker_id: ArrayLike | None = None,
        names: Mapping[int, str] | None = None,
        data: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self.xyxy = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        self.confidence = np.asarray(confidence, dtype=np.float32).reshape(-1)
        self.class_id = np.asarray(class_id, dtype=np.int64).reshape(-1)
        n = len(self.xyxy)
        self.tracker_id = np.asarray(np.full(n, -1) if tracker_id is None else tracker_id, dtype=np.int64).reshape(-1)
        self.names = dict(names or {})
        self.data = dict(data or {})
        lengths = {len(self.confidence), len(self.class_id), len(self.tracker_id)}
        lengths |= {len(v) for v in self.data.values()}
        if lengths - {n}:
            raise ValueError("Detections arrays must all have the same length")

    def __repr__(self) -> str:
        return f"Detections({len(self)} boxes: {', '.join(self.labels)})"

    @classmethod
    def empty(cls, names: Mapping[int, str] | None = None) -> Detections:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0), names=dict(names or {}))

    @classmethod
    def labeled(cls, xyxy: ArrayLike, labels: Iterable[str], confidence: ArrayLike | None = None) -> Detections:
        """Boxes with their labels (ground truth, training labels, renamed predictions); class ids number
        the distinct labels in order of appearance. confidence: (N,) 0..1, default 1."""
        labels = [str(label) for label in labels]
        ids = {label: i for i, label in enumerate(dict.fromkeys(labels))}
        return cls(
            xyxy,
            np.ones(len(labels)) if confidence is None else confidence,
            [ids[label] for label in labels],
            names={i: label for label, i in ids.items()},
        )

    @classmethod
    def concat(cls, parts: Iterable[Detections]) -> Detections:
        """The rows of ``parts`` one after another with their labels and confidences (class ids renumbered;
        tracker ids and ``data`` are not kept)."""
        parts = list(parts)
        if not parts:
            return cls.empty()
        return cls.labeled(
            np.concatenate([p.xyxy for p in parts]),
            [label for p in parts for label in p.labels],
            np.concatenate([p.confidence for p in parts]),
        )

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
    def labels(self) -> np.ndarray:
        """(N,) object array: the label (str) of each row."""
        return np.array([self.names.get(int(c), str(int(c))) for c in self.class_id], dtype=object).reshape(-1)

    @property
    def area(self) -> np.ndarray:
        """(N,) box areas in square pixels."""
        return box_area(self.xyxy)

    @property
    def xywh(self) -> np.ndarray:
        """(N, 4) centre x, centre y, width, height in pixels."""
        wh = self.xyxy[:, 2:] - self.xyxy[:, :2]
        return np.concatenate([self.xyxy[:, :2] + wh / 2, wh], axis=1)

    # The names Ultralytics' trackers read from its own ``Boxes`` (with ``xywh`` above), so they take Detections.
    @property
    def conf(self) -> np.ndarray:
        """(N,) float32 confidence."""
        return self.confidence

    @property
    def cls(self) -> np.ndarray:
        """(N,) float32 class ids."""
        return self.class_id.astype(np.float32)

    def scaled(self, factor: float, dx: float = 0.0, dy: float = 0.0) -> Detections:
        """The boxes after their image is resized by ``factor`` and shifted by (dx, dy) pixels."""
        moved = self.xyxy * factor + np.array([dx, dy, dx, dy], dtype=np.float32)
        return Detections(moved, self.confidence, self.class_id, self.tracker_id, self.names, self.data)

    def to_yolo(self, shape: tuple[int, ...], class_ids: Mapping[str, int]) -> str:
        """YOLO label-file text (class cx cy w h, normalized) for an image of ``shape`` (H, W, ...); boxes are
        clipped to the image and those less than a pixel wide or high are left out."""
        h, w = shape[:2]
        lines = []
        for (x1, y1, x2, y2), label in zip(self.xyxy, self.labels):
            x1, x2 = np.clip([x1, x2], 0, w)
            y1, y2 = np.clip([y1, y2], 0, h)
            if x2 - x1 < 1 or y2 - y1 < 1:
                continue
            cx, cy, bw, bh = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h
            lines.append(f"{class_ids[label]} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
        return "".join(line + "\n" for line in lines)
