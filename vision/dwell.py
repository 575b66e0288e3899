"""Fixed-camera rules: an object becomes an observation only after it has stayed long enough.

Pure logic on plain values (wall times in seconds, boxes in image pixels): no clock, no I/O.
Feed ``DwellFilter.update`` every processed frame of one camera, in time order; it returns the
sightings to report. The rules:

- Only detections with a category count, anchored at their box's bottom centre (where the object
  stands): inside one of ``regions`` when any are set (the sidewalk, the roadway), and in none of
  ``ignore``.
- A *stay* follows one object: its tracker id, and a new tracker id that appears close to where
  the stay was last seen (within ``reach`` box heights) while the stay is still alive, so a short
  track loss (occlusion, a missed detection) does not restart it.
- A stay is reported once, when it has lasted ``dwell_s`` of its category (else ``default_dwell_s``;
  ``DwellRules.over`` lays the taxonomy's per-category dwell beneath); never again while it stays.
- A stay not seen for ``grace_s`` before it was reported is forgotten (a passer-by); after it was
  reported it is kept for ``gap_s`` so the object can step out of view and back without a new
  report. Seen again later, it is a new stay: reported again after its own dwell (a new sighting;
  the service joins it to the same case).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from vision.boxes import Detections, box_area

Polygon = Sequence[tuple[float, float]]
"""A polygon in image pixels: (x, y) vertices, at least three."""


@dataclass(frozen=True)
class DwellRules:
    """Seconds per category an object must stay (``default_dwell_s`` for categories not in ``dwell_s``),
    how long a stay survives unseen before (``grace_s``) and after (``gap_s``) it was reported,
    re-association distance in box heights (``reach``), and the active and ignored regions (image pixels)."""

    dwell_s: Mapping[str, float] = field(default_factory=dict)
    default_dwell_s: float = 180.0
    grace_s: float = 20.0
    gap_s: float = 300.0
    reach: float = 0.5
    regions: Sequence[Polygon] = ()
    ignore: Sequence[Polygon] = ()

    def dwell_for(self, category: str) -> float:
        return self.dwell_s.get(category, self.default_dwell_s)

    def over(self, defaults: Mapping[str, float]) -> DwellRules:
        """These rules with ``defaults`` (seconds per category, e.g. ``Taxonomy.dwell_s()``) for the
        categories ``dwell_s`` does not set."""
        return replace(self, dwell_s={**defaults, **self.dwell_s})


@dataclass
class Stay:
    """One object staying in view. Times are wall seconds; boxes [x1, y1, x2, y2] pixels;
    ``best_image`` the (H, W, 3) frame of the best view when frames are given."""

    key: str
    first_at: float
    last_at: float
    track_ids: set[int]
    box: np.ndarray
    categories: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    best_score: float = -1.0
    best_at: float = 0.0
    best_confidence: float = 0.0
    best_box: np.ndarray | None = None
    best_image: np.ndarray | None = None
    reported: bool = False

    @property
    def category(self) -> str:
        return self.categories.most_common(1)[0][0]

    def see(
        self,
        at: float,
        box: np.ndarray,
        confidence: float,
        category: str,
        label: str,
        track_id: int,
        image: np.ndarray | None = None,
    ) -> None:
        """Add one detection of this object (``image``: its frame, kept if this is the best view)."""
        self.last_at, self.box = at, box
        self.track_ids.add(track_id)
        self.categories[category] += 1
        self.labels[label] += 1
        score = confidence * float(np.sqrt(box_area(box)))
        if score > self.best_score:
            self.best_score, self.best_at, self.best_confidence, self.best_box = score, at, confidence, box
            self.best_image = image


@dataclass(frozen=True)
class Sighting:
    """A stay to report: ``key`` is unique per stay (its start in ms and first tracker id); times are
    wall seconds (first seen, best view, now); ``bbox`` [x1, y1, x2, y2] pixels at the best view;
    ``image`` the (H, W, 3) frame of the best view (None when no frames were given)."""

    key: str
    category: str
    label: str
    confidence: float
    first_at: float
    best_at: float
    last_at: float
    bbox: list[float]
    image: np.ndarray | None = field(default=None, compare=False, repr=False)


def anchors(xyxy: np.ndarray) -> np.ndarray:
    """(N, 2) bottom-centre points of (N, 4) boxes: where an object touches the ground."""
    return np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]], axis=1)


def inside_any(points: np.ndarray, polygons: Sequence[Polygon]) -> np.ndarray:
    """(N,) bool: which of the (N, 2) points lie inside (or on the edge of) any polygon."""
    out = np.zeros(len(points), dtype=bool)
    for polygon in polygons:
        contour = np.asarray(polygon, dtype=np.float32).reshape(-1, 1, 2)
        out |= [cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0 for x, y in points]
    return out


class DwellFilter:
    """The dwell rules (see the module doc) for one camera, one frame at a time."""

    def __init__(self, rules: DwellRules) -> None:
        self.rules = rules
        self.stays: list[Stay] = []

    def update(self, at: float, tracked: Detections, image: np.ndarray | None = None) -> list[Sighting]:
        """Fold in one frame at wall time ``at`` (seconds); return the stays that reach their dwell now.

        tracked: this frame's detections with ``tracker_id`` set and a ``category`` data column
        (None: not a violation). image: the (H, W, 3) frame, kept for the sightings' best views.
        """
        rules = self.rules
        self.stays = [s for s in self.stays if at - s.last_at <= (rules.gap_s if s.reported else rules.grace_s)]
        by_track = {tid: stay for stay in self.stays for tid in stay.track_ids}
        labels, categories = tracked.labels, tracked.data["category"]
        matched: dict[int, tuple[Stay, int]] = {}  # id(stay) -> (stay, row)
        unmatched = []
        for i in self._counted(tracked):
            stay = by_track.get(int(tracked.tracker_id[i]))
            if stay is None or id(stay) in matched:
                unmatched.append(i)
            else:
                matched[id(stay)] = (stay, i)
        for i in unmatched:
            stay = self._near(tracked.xyxy[i], categories[i], matched)
            if stay is None:
                stay = Stay(f"{round(at * 1000)}-{int(tracked.tracker_id[i])}", at, at, set(), tracked.xyxy[i])
                self.stays.append(stay)
            matched[id(stay)] = (stay, i)
        for stay, i in matched.values():
            box, confidence, tid = tracked.xyxy[i], float(tracked.confidence[i]), int(tracked.tracker_id[i])
            stay.see(at, box, confidence, categories[i], labels[i], tid, image)
        return [self._report(s) for s in self.stays if not s.reported and s.last_at == at and self._due(s, at)]

    def _counted(self, tracked: Detections) -> list[int]:
        """Rows with a category whose anchor is in an active region and not in an ignored one."""
        points = anchors(tracked.xyxy)
        keep = np.array([c is not None for c in tracked.data["category"]], dtype=bool)
        if self.rules.regions:
            keep &= inside_any(points, self.rules.regions)
        if self.rules.ignore:
            keep &= ~inside_any(points, self.rules.ignore)
        return [int(i) for i in np.flatnonzero(keep)]

    def _near(self, box: np.ndarray, category: str, taken: Mapping[int, object]) -> Stay | None:
        """The closest stay of ``category`` not ``taken`` in this frame whose last box is within reach of ``box``."""
        best, best_d = None, np.inf
        for stay in self.stays:
            if id(stay) in taken or stay.category != category:
                continue
            d = float(np.hypot(*(anchors(box[None])[0] - anchors(stay.box[None])[0])))
            reach = self.rules.reach * max(box[3] - box[1], stay.box[3] - stay.box[1])
            if d <= reach and d < best_d:
                best, best_d = stay, d
        return best

    def _due(self, stay: Stay, at: float) -> bool:
        return at - stay.first_at >= self.rules.dwell_for(stay.category)

    def _report(self, stay: Stay) -> Sighting:
        stay.reported = True
        return Sighting(
            key=stay.key,
            category=stay.category,
            label=stay.labels.most_common(1)[0][0],
            confidence=round(stay.best_confidence, 4),
            first_at=stay.first_at,
            best_at=stay.best_at,
            last_at=stay.last_at,
            bbox=[round(float(v), 1) for v in (stay.box if stay.best_box is None else stay.best_box)],
            image=stay.best_image,
        )
