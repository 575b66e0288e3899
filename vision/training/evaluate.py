"""Ground truth and scoring: YOLO dataset splits on disk read as labelled ``Detections``, and AP50 of a detector
on them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from vision import Detections, box_area, iou_matrix
from vision.detector import Detects

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


class DatasetError(ValueError):
    """A dataset description or image that cannot be used; the message names the file."""


def read_image(path: Path) -> np.ndarray:
    """The (H, W, 3) uint8 BGR pixels of an image file; DatasetError naming it when it cannot be read."""
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if pixels is None:
        raise DatasetError(f"cannot read image {path}")
    return np.asarray(pixels)


@dataclass(frozen=True)
class LabeledSplit:
    """One split of a YOLO dataset on disk: its image files, and which of its class ids become which labels.

    ``keep`` maps a dataset class id to our label; boxes of other classes are dropped.
    """

    name: str
    folder: Path
    images: tuple[Path, ...]
    keep: Mapping[int, str]
    labels_dir: str = "labels"

    @classmethod
    def open(
        cls,
        data_yaml: Path,
        split: str,
        rename: Mapping[str, str] | None = None,
        same_names: Iterable[str] = (),
        name: str | None = None,
    ) -> LabeledSplit:
        """Read a ``data.yaml``; the split's images are ``path/<data[split]>``, else ``path/images`` (an export).

        rename: dataset class name -> our label; same_names: our labels that dataset classes keep when
        named alike (``_`` read as a space).
        """
        try:
            data = yaml.safe_load(Path(data_yaml).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise DatasetError(f"{data_yaml}: cannot read dataset description: {exc}") from exc
        root = Path(data_yaml).parent / str(data.get("path") or ".")
        folder = root / str(data[split]) if split in data else root / "images"
        if not folder.is_dir():
            raise DatasetError(f"{data_yaml}: split {split!r} has no image folder {folder}")
        names = data.get("names") or {}
        names = dict(enumerate(names)) if isinstance(names, list) else {int(k): str(v) for k, v in names.items()}
        ours = {label.replace("_", " "): label for label in same_names}
        keep = {}
        for cid, cname in names.items():
            if rename and cname in rename:
                keep[cid] = rename[cname]
            elif cname.replace("_", " ") in ours:
                keep[cid] = ours[cname.replace("_", " ")]
        images = tuple(sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
        labels_dir = str(data.get("labels_dir", "labels"))
        return cls(name or Path(data_yaml).parent.name, folder.resolve(), images, keep, labels_dir)

    def head(self, n: int | None, seed: int = 0) -> LabeledSplit:
        """A reproducible random subset of at most ``n`` images (all of them for None)."""
        if n is None or n >= len(self.images):
            return self
        pick = np.random.default_rng(seed).choice(len(self.images), n, replace=False)
        images = tuple(self.images[i] for i in sorted(pick))
        return LabeledSplit(self.name, self.folder, images, self.keep, self.labels_dir)

    def label_path(self, image: Path) -> Path:
        """The label file of an image: the last ``images`` folder of its path swapped for ``labels_dir``."""
        parts = list(image.parts)
        i = len(parts) - 1 - parts[::-1].index("images")
        parts[i] = self.labels_dir
        return Path(*parts).with_suffix(".txt")

    def read(self, image: Path) -> tuple[np.ndarray, Detections]:
        """The BGR image (H x W x 3 uint8) and its kept boxes in pixels."""
        pixels = read_image(image)
        h, w = pixels.shape[:2]
        path = self.label_path(image)
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
        rows = [r for r in rows if int(r[0]) in self.keep and len(r) == 5]
        if not rows:
            return pixels, Detections.empty()
        cxcywh = np.array([r[1:] for r in rows], dtype=np.float32) * np.array([w, h, w, h], dtype=np.float32)
        xyxy = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1)
        return pixels, Detections.labeled(xyxy, [self.keep[int(r[0])] for r in rows])

    def __iter__(self) -> Iterator[tuple[np.ndarray, Detections]]:
        return (self.read(p) for p in self.images)

    def __len__(self) -> int:
        return len(self.images)


def _matches(pred: Detections, conf: np.ndarray, truth: Detections, iou: float) -> np.ndarray:
    """(N,) int: the truth box each prediction of one image matches (greedy by confidence, same label), -1 none."""
    matched = np.full(len(pred), -1, dtype=np.int64)
    if not len(pred) or not len(truth):
        return matched
    overlap = iou_matrix(pred.xyxy, truth.xyxy)
    overlap[pred.labels[:, None] != truth.labels[None, :]] = 0.0
    taken = np.zeros(len(truth), dtype=bool)
    for i in np.argsort(-conf, kind="stable"):
        row = np.where(taken, 0.0, overlap[i])
        j = int(np.argmax(row))
        if row[j] >= iou:
            matched[i], taken[j] = j, True
    return matched


def _ap(hit: np.ndarray, conf: np.ndarray, n_truth: int) -> float:
    """COCO-style 101-point interpolated average precision of ranked predictions."""
    order = np.argsort(-conf, kind="stable")
    tp = np.cumsum(hit[order])
    precision = tp / np.arange(1, len(tp) + 1)
    recall = tp / n_truth
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    at = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
    return float(np.mean([envelope[i] if i < len(envelope) else 0.0 for i in at]))


SIZES: dict[str, tuple[float, float]] = {
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, np.inf),
}
"""Box sizes as COCO counts them: pixel area of the box in the image scored."""


@dataclass
class Score:
    """AP50 (0..1) per truth label, and per merged group of labels, over ``images`` images.

    sizes: group -> size (``SIZES``) -> AP50 over the group's boxes of that size; size_counts: group ->
    size -> truth boxes of that size.
    """

    per_class: dict[str, float] = field(default_factory=dict)
    groups: dict[str, float] = field(default_factory=dict)
    truth_counts: dict[str, int] = field(default_factory=dict)
    images: int = 0
    sizes: dict[str, dict[str, float]] = field(default_factory=dict)
    size_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def mean(self, labels: Iterable[str]) -> float:
        """Mean AP50 over those of ``labels`` that occur in the truth (nan if none)."""
        values = [self.per_class[label] for label in labels if label in self.per_class]
        return float(np.mean(values)) if values else float("nan")


def average_precision(
    preds: Sequence[Detections],
    confs: Sequence[np.ndarray],
    truths: Sequence[Detections],
    iou: float = 0.5,
    area: tuple[float, float] | None = None,
) -> dict[str, float]:
    """AP at IoU >= ``iou`` for every label that occurs in ``truths``; one Detections and (N,) conf per image.

    area: (min, max) box area in square pixels: only truth boxes of that size count, as in COCO. A
    prediction matching a truth box of another size is left out, and so is an unmatched one of another size.
    """
    labels = sorted({str(label) for t in truths for label in t.labels})
    out = {}
    for label in labels:
        hits, scores, n_truth = [], [], 0
        for pred, conf, truth in zip(preds, confs, truths):
            p, t = pred.labels == label, truth.labels == label
            matched = _matches(pred[p], conf[p], truth[t], iou)
            counted = np.ones(len(matched), dtype=bool)
            if area is None:
                n_truth += int(t.sum())
            else:
                sized = _in_area(truth.xyxy[t], area)
                n_truth += int(sized.sum())
                counted = _in_area(pred.xyxy[p], area)
                hit = matched >= 0
                counted[hit] = sized[matched[hit]]
            hits.append((matched >= 0)[counted])
            scores.append(conf[p][counted])
        out[label] = _ap(np.concatenate(hits), np.concatenate(scores), n_truth) if n_truth else float("nan")
    return out


def _in_area(xyxy: np.ndarray, area: tuple[float, float]) -> np.ndarray:
    """(N,) bool: boxes whose area lies in [min, max)."""
    a = box_area(xyxy)
    return (a >= area[0]) & (a < area[1])


def _members(boxes: Detections, labels: Iterable[str]) -> np.ndarray:
    """(N,) bool: boxes whose label is one of ``labels``."""
    return np.isin(boxes.labels.astype(str), list(labels))


def score(
    detector: Detects,
    samples: Iterable[tuple[np.ndarray, Detections]],
    groups: Mapping[str, Iterable[str]] | None = None,
    rename: Mapping[str, str] | None = None,
    chunk: int = 8,
) -> Score:
    """Run ``detector`` on (image, truth) pairs and score AP50 per class and per group.

    groups: merged label -> member labels, scored class-agnostically (e.g. every sign class -> "sign").
    rename: model label -> our label, for models trained with a dataset's own class names.
    """
    groups, rename = groups or {}, rename or {}
    preds: list[Detections] = []
    confs: list[np.ndarray] = []
    truths: list[Detections] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        for det in detector.detect(batch):
            preds.append(Detections.labeled(det.xyxy, [rename.get(label, label) for label in det.labels]))
            confs.append(det.confidence)
        batch.clear()

    for image, truth in samples:
        batch.append(image)
        truths.append(truth)
        if len(batch) == chunk:
            flush()
    if batch:
        flush()
    result = Score(average_precision(preds, confs, truths), images=len(truths))
    result.truth_counts = {label: sum(int((t.labels == label).sum()) for t in truths) for label in result.per_class}
    for group, members in groups.items():
        keep = [_members(p, members) for p in preds]
        kept_truth = [t[_members(t, members)] for t in truths]
        merged_preds = [Detections.labeled(p.xyxy[k], [group] * int(k.sum())) for p, k in zip(preds, keep)]
        merged_confs = [c[k] for c, k in zip(confs, keep)]
        merged_truth = [Detections.labeled(t.xyxy, [group] * len(t)) for t in kept_truth]
        result.groups[group] = average_precision(merged_preds, merged_confs, merged_truth).get(group, float("nan"))
        result.sizes[group] = {
            size: average_precision(merged_preds, merged_confs, merged_truth, area=area).get(group, float("nan"))
            for size, area in SIZES.items()
        }
        result.size_counts[group] = {
            size: sum(int(_in_area(t.xyxy, area).sum()) for t in merged_truth) for size, area in SIZES.items()
        }
    return result
