"""The observation record: one per kept track, the contract between vision and service."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Observation:
    """One real-world object seen in one source (a video or a camera).

    Times are seconds from the video start; ``observed_at`` is ISO-8601 UTC of the best frame
    (None when the recording start is unknown); ``bbox`` is [x1, y1, x2, y2] pixels in the best
    frame; ``lat``/``lon`` are WGS-84 degrees (None without GPS); ``crop`` is a path relative to
    the output directory.
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
