"""One fixed camera after detection: categories -> tracks -> dwell rules -> observations.

The detector runs elsewhere (shared by many cameras); ``CameraWatch.update`` takes one sampled
frame with its detections and returns the observations to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from vision.boxes import Detections
from vision.defaults import FIXED_CAMERA_TRACKER
from vision.dwell import DwellFilter, DwellRules, Sighting
from vision.geo import destination
from vision.observe import Observation, crop_box
from vision.signs import SignDescriber
from vision.streams import LiveFrame
from vision.taxonomy import Taxonomy
from vision.tracking import Tracker

JPEG_CROP = [cv2.IMWRITE_JPEG_QUALITY, 90]
JPEG_KEYFRAME = [cv2.IMWRITE_JPEG_QUALITY, 85]


@dataclass(frozen=True)
class CameraPlace:
    """Where a fixed camera stands (WGS-84 degrees) and faces (degrees clockwise from north, None if
    unknown); observations are placed ``offset_m`` metres along the heading (0: at the camera)."""

    lat: float
    lon: float
    heading_deg: float | None = None
    offset_m: float = 0.0

    def position(self) -> tuple[float, float]:
        """(lat, lon) where this camera's observations are placed."""
        if self.heading_deg is None or self.offset_m == 0:
            return self.lat, self.lon
        return destination(self.lat, self.lon, self.heading_deg, self.offset_m)


class CameraWatch:
    """Per-camera state after detection: a tracker (at the camera's ``fps``) and the dwell rules, over the
    taxonomy's dwell per category.

    With an ``out_dir``, each observation's crop and whole best frame are written to
    ``out_dir/crops/`` and ``out_dir/keyframes/`` (paths in the observation relative to it).
    """

    def __init__(
        self,
        place: CameraPlace,
        rules: DwellRules,
        taxonomy: Taxonomy,
        fps: float,
        tracker: str | Path = FIXED_CAMERA_TRACKER,
        out_dir: Path | None = None,
    ) -> None:
        self.place = place
        self.out_dir = out_dir
        if out_dir is not None:
            for sub in ("crops", "keyframes"):
                (out_dir / sub).mkdir(parents=True, exist_ok=True)
        self.taxonomy = taxonomy
        self.relevant = taxonomy.relevant_labels()
        self.tracker = Tracker(tracker, frame_rate=fps)
        self.dwell = DwellFilter(rules.over(taxonomy.dwell_s()))
        self.signs = SignDescriber(taxonomy)  # sign text and signature; OCR loads on the first sign

    def update(self, frame: LiveFrame, detections: Detections) -> list[Observation]:
        """Observations whose dwell is reached in this frame; ``detections`` are the frame's, untracked."""
        categories = self.taxonomy.classify(detections, frame.image.shape[:2])
        detections.data["category"] = np.array(categories, dtype=object)
        det = detections[np.array([label in self.relevant for label in detections.labels], dtype=bool)]
        tracked = self.tracker.update(det, frame.image)
        return [self._observation(s) for s in self.dwell.update(frame.at, tracked, frame.image)]

    def _observation(self, sighting: Sighting) -> Observation:
        """Times t_* are seconds from the stay's start; ``observed_at`` is the best view's wall time."""
        lat, lon = self.place.position()
        best = datetime.fromtimestamp(sighting.best_at, UTC)
        crop, keyframe = self._write_images(sighting)
        crops = [crop_box(sighting.image, np.asarray(sighting.bbox))] if sighting.image is not None else []
        look = self.signs.describe(sighting.label, sighting.image, sighting.bbox, crops)
        return Observation(
            track_id=sighting.key,
            category=sighting.category,
            label=sighting.label,
            confidence=sighting.confidence,
            t_first=0.0,
            t_last=round(sighting.last_at - sighting.first_at, 3),
            t_best=round(sighting.best_at - sighting.first_at, 3),
            observed_at=best.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            bbox=sighting.bbox,
            lat=round(lat, 7),
            lon=round(lon, 7),
            crop=crop,
            keyframe=keyframe,
            text=look.text,
            text_confidence=look.text_confidence,
            signature=look.signature,
        )

    def _write_images(self, sighting: Sighting) -> tuple[str | None, str | None]:
        """Write the crop and the keyframe of a sighting; their paths relative to ``out_dir`` (None without)."""
        if self.out_dir is None or sighting.image is None:
            return None, None
        crop, keyframe = f"crops/{sighting.key}.jpg", f"keyframes/{sighting.key}.jpg"
        cv2.imwrite(str(self.out_dir / crop), crop_box(sighting.image, np.asarray(sighting.bbox)), JPEG_CROP)
        cv2.imwrite(str(self.out_dir / keyframe), sighting.image, JPEG_KEYFRAME)
        return crop, keyframe
