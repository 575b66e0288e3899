"""Tracks -> observations: one record per kept track, with its best crop, time and position."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from vision.boxes import Detections, box_area, box_overlaps


@dataclass(frozen=True)
class Observation:
    """One real-world object seen in one source (a video or a camera): what the vision side hands on
    (``observations.jsonl`` lines, uploads, cameras), one JSON object each through ``to_dict``.

    Times are seconds from the video start; ``observed_at`` is ISO-8601 UTC of the best frame
    (None when the recording start is unknown); ``bbox`` is [x1, y1, x2, y2] pixels in the best
    frame; ``lat``/``lon`` are WGS-84 degrees (None without GPS) and ``gps_accuracy_m`` the fix's standard
    error in metres (None when the track gives no HDOP); ``crop`` (the object) and
    ``keyframe`` (the whole best frame, None when not kept) are paths relative to the output directory.
    Signs only (None otherwise, and when nothing legible was found or OCR is off): ``text`` read on the
    sign and ``text_confidence`` 0..1; ``signature``: the encoded appearance signature of the best view
    (``vision.appearance.encode_signature``).
    """

    track_id: str
    category: str
    label: str
    confidence: float
    t_first: float
    t_last: float
    t_best: float
    observed_at: str | None
    bbox: list[float]
    lat: float | None
    lon: float | None
    crop: str | None
    keyframe: str | None = None
    text: str | None = None
    text_confidence: float | None = None
    signature: str | None = None
    gps_accuracy_m: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The observation contract's JSON fields (plus ``keyframe``), in this order."""
        return asdict(self)


@dataclass
class TrackRecord:
    """What one track has accumulated so far; ``frame`` is the (H, W, 3) BGR frame of its best view."""

    track_id: int
    t_first: float
    t_last: float
    frame: np.ndarray
    hits: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    best_score: float = -1.0
    best_t: float = 0.0
    best_confidence: float = 0.0
    best_bbox: list[float] = field(default_factory=list)
    runner_up_score: float = -1.0
    runner_up: np.ndarray | None = None  # (h, w, 3) BGR crop of the second-best view, from another frame
    overlaps: Counter[int] = field(default_factory=Counter)  # other track -> frames both boxed the same thing
    together: Counter[int] = field(default_factory=Counter)  # other track -> frames both were seen in

    @property
    def strength(self) -> tuple[int, int]:
        """Orders duplicate tracks of one object: more frames wins, then the older track."""
        return self.hits, -self.track_id

    @property
    def crop(self) -> np.ndarray:
        """(h, w, 3) BGR crop of the object in its best frame."""
        return crop_box(self.frame, np.asarray(self.best_bbox))

    @property
    def crops(self) -> list[np.ndarray]:
        """The best crop, then the second-best view's crop when there is one."""
        return [self.crop] + ([self.runner_up] if self.runner_up is not None else [])

    @property
    def label(self) -> str:
        """The model label this track was given most often."""
        return self.labels.most_common(1)[0][0]

    @property
    def category(self) -> str | None:
        """The category most of this track's frames were classified as, None if never classified."""
        return self.categories.most_common(1)[0][0] if self.categories else None


def view_score(box: np.ndarray, confidence: float, frame_shape: tuple[int, int]) -> float:
    """How good a view of an object one box is: confident, large, not cut by the frame edge.

    box: (4,) x1, y1, x2, y2 pixels; frame_shape: (H, W) pixels.
    """
    h, w = frame_shape
    x1, y1, x2, y2 = box
    size = float(np.sqrt(box_area(box)))
    margin = 2.0
    cut = x1 <= margin or y1 <= margin or x2 >= w - margin or y2 >= h - margin
    return confidence * size * (0.5 if cut else 1.0)


def crop_box(image: np.ndarray, box: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """Copy of the box region of a (H, W, 3) image, grown by ``margin`` of its size on each side."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = int(max(x1 - dx, 0)), int(max(y1 - dy, 0))
    right, bottom = int(min(x2 + dx, w)), int(min(y2 + dy, h))
    return image[top:bottom, left:right].copy()


class TrackFolder:
    """Folds tracked detections frame by frame into one ``TrackRecord`` per track.

    Streams: a track unseen for more than ``max_idle_s`` is handed back by ``update`` and forgotten,
    so memory holds only the tracks currently in view.
    Tracks seen in fewer than ``min_hits`` sampled frames, or never classified into a category in
    at least ``min_category_hits`` of them, are dropped as noise. When the detector boxes one object
    twice and both boxes get tracks, the weaker track (its box overlapping the other's by more than
    ``duplicate_iou``, or lying inside a box of the same label to ``duplicate_inside`` of its area,
    in at least half of its frames) is dropped: one object, one observation. The second case is a
    part boxed beside the whole, such as one word of a shop sign. A track that took over an object from
    a track already reported (their boxes the same thing in at least half of the frames both were seen
    in, often a single one as an object leaves the frame) is dropped too, however long it goes on.
    """

    def __init__(
        self,
        min_hits: int = 3,
        min_category_hits: int = 2,
        max_idle_s: float = 3.0,
        duplicate_iou: float = 0.5,
        duplicate_inside: float = 0.8,
    ) -> None:
        self.min_hits = min_hits
        self.min_category_hits = min_category_hits
        self.max_idle_s = max_idle_s
        self.duplicate_iou = duplicate_iou
        self.duplicate_inside = duplicate_inside
        self.active: dict[int, TrackRecord] = {}
        self.kept: dict[int, TrackRecord] = {}  # finished, kept tracks an active one may duplicate

    def update(self, t: float, image: np.ndarray, tracked: Detections) -> list[TrackRecord]:
        """Add one frame's tracked detections (with a ``category`` data column); return finished tracks.

        t: seconds from video start; image: (H, W, 3) BGR frame the boxes refer to.
        """
        categories = tracked.data.get("category", np.full(len(tracked), None, dtype=object))
        for box, conf, tid, label, category in zip(
            tracked.xyxy, tracked.confidence, tracked.tracker_id, tracked.labels, categories
        ):
            record = self.active.setdefault(int(tid), TrackRecord(int(tid), t_first=t, t_last=t, frame=image))
            record.t_last = t
            record.hits += 1
            record.labels[label] += 1
            if category is not None:
                record.categories[category] += 1
            score = view_score(box, float(conf), image.shape[:2])
            if score > record.best_score:
                if record.best_bbox:
                    record.runner_up_score, record.runner_up = record.best_score, record.crop
                record.best_score, record.best_t = score, t
                record.best_confidence = float(conf)
                record.best_bbox = [round(float(v), 1) for v in box]
                record.frame = image
            elif score > record.runner_up_score:
                record.runner_up_score, record.runner_up = score, crop_box(image, box)
        self._count_overlaps(tracked)
        idle = [tid for tid, r in self.active.items() if t - r.t_last > self.max_idle_s]
        return self._keep([self.active.pop(tid) for tid in idle])

    def flush(self) -> list[TrackRecord]:
        """End of the source: hand back every remaining track that is kept."""
        records, self.active = list(self.active.values()), {}
        return self._keep(records)

    def _count_overlaps(self, tracked: Detections) -> None:
        """Note, for every pair of tracks in this frame, whether their boxes cover the same thing."""
        iou, inside = box_overlaps(tracked.xyxy, tracked.xyxy)
        same_label = tracked.class_id[:, None] == tracked.class_id[None, :]
        twins = (iou > self.duplicate_iou) | (same_label & (inside >= self.duplicate_inside))
        ids = [int(t) for t in tracked.tracker_id]
        for i, j in zip(*np.triu_indices(len(ids), k=1)):
            a, b = ids[i], ids[j]
            self.active[a].together[b] += 1
            self.active[b].together[a] += 1
            if twins[i, j]:
                self.active[a].overlaps[b] += 1
                self.active[b].overlaps[a] += 1

    def _is_duplicate(self, record: TrackRecord) -> bool:
        for other_id, frames in record.overlaps.items():
            other = self.active.get(other_id) or self.kept.get(other_id)
            if other is None or other.category not in (None, record.category):
                continue
            if frames >= record.hits / 2 and other.strength > record.strength:
                return True
            if other_id in self.kept and frames >= record.together[other_id] / 2:
                return True  # took over an object already reported
        return False

    def _keep(self, records: list[TrackRecord]) -> list[TrackRecord]:
        kept = []
        for r in sorted(records, key=lambda r: r.strength, reverse=True):
            if (
                r.hits >= self.min_hits
                and r.category is not None
                and r.categories[r.category] >= min(self.min_category_hits, self.min_hits)
                and not self._is_duplicate(r)
            ):
                kept.append(r)
                self.kept[r.track_id] = r
        oldest_active = min((r.t_first for r in self.active.values()), default=float("inf"))
        self.kept = {tid: r for tid, r in self.kept.items() if r.t_last >= oldest_active}
        return kept
