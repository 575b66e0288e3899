"""Where to look again at full resolution: the band of a frame where signs stand, by camera mount.

One whole-frame pass at 640 px sees a 1080p frame at a third of its size, where a far sign 30 px high
becomes 10 px: too small for the model. Signs and lightboxes stand in a band of the frame (facades and
pavement, not sky or road), and far ones gather where that band meets the vanishing point of a
forward-looking camera. A ``FocusPolicy`` names one window of that band, looked at again by the detector
at the frame's own resolution (``Detector.look_closer``) for sign-like classes only, so a 1080p frame
costs about two and a half passes of 640 px instead of the sixteen of full tiling.

Mounts: ``forward`` (dashcam looking down the road: a window around the vanishing point, where every sign
passes while it is still far and small), ``left`` / ``right`` (side-looking patrol camera: signs cross the
frame at one size, so a window across the middle of the facade band sees each of them on its way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from vision.boxes import Detections
from vision.detector import Detector, Window

MOUNTS = ("forward", "left", "right")
SIGN_LABELS = frozenset({"shop_sign", "projecting_sign", "window_ad", "lightbox"})


@dataclass(frozen=True)
class FocusPolicy:
    """One window per frame, looked at again at full resolution for ``labels``.

    band: (top, bottom) rows of the window as fractions of the frame height; width: its width as a
    fraction of the frame width; centre: its horizontal centre as a fraction of the frame width (the
    vanishing point for a forward camera). Frames whose longer side fits the model input (``imgsz``)
    already are at full resolution and get no window. Every sampled frame gets the window: the tracker
    confirms a track only when it is detected in consecutive frames.
    """

    band: tuple[float, float] = (0.28, 0.62)
    width: float = 0.5
    centre: float = 0.5
    labels: frozenset[str] = SIGN_LABELS

    def __post_init__(self) -> None:
        top, bottom = self.band
        if not 0.0 <= top < bottom <= 1.0:
            raise ValueError(f"focus band must be two fractions of the frame height, top < bottom, not {self.band}")
        if not 0.0 < self.width <= 1.0 or not 0.0 <= self.centre <= 1.0:
            raise ValueError("focus width must be in (0, 1] and centre in [0, 1] (fractions of the frame width)")

    def adjusted(self, band: tuple[float, float] | None = None, width: float | None = None) -> FocusPolicy:
        """This policy with another band and/or width (None: unchanged)."""
        return replace(self, band=band or self.band, width=width or self.width)

    def windows(self, shape: tuple[int, int], imgsz: int) -> list[Window]:
        """The windows (x, y, w, h pixels, inside the frame) to look at again in a frame of ``shape`` (H, W)."""
        h, w = shape
        if max(h, w) <= imgsz:
            return []
        top, bottom = round(self.band[0] * h), round(self.band[1] * h)
        width = round(self.width * w)
        x = min(max(round(self.centre * w - width / 2), 0), w - width)
        return [(x, top, width, bottom - top)]


class FocusedDetector:
    """A Detector's whole-frame pass, then the policy's windows of each frame looked at again (no policy:
    the whole-frame pass alone)."""

    def __init__(self, detector: Detector, policy: FocusPolicy | None) -> None:
        self.detector = detector
        self.policy = policy

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """One Detections per BGR image (H x W x 3 uint8), in frame pixels."""
        found = self.detector.detect(images)
        if self.policy is None:
            return found
        windows = [self.policy.windows(image.shape[:2], self.detector.imgsz) for image in images]
        return self.detector.look_closer(images, found, windows, self.policy.labels)


WINDOWS: dict[str, FocusPolicy] = {
    # 960 x 368 of a 1080p frame: about 1.5 passes of 640 px more (bench/detector.py)
    "forward": FocusPolicy(band=(0.28, 0.62), width=0.5),
    # 640 x 594 across the facade band; signs cross it at full size for about a second at patrol speed
    "left": FocusPolicy(band=(0.05, 0.6), width=1 / 3),
    "right": FocusPolicy(band=(0.05, 0.6), width=1 / 3),
}
ON_BY_DEFAULT = frozenset({"forward"})


def focus_policy(
    mount: str | None, band: tuple[float, float] | None = None, width: float | None = None
) -> FocusPolicy | None:
    """The focus window of a camera mount (None: forward, the usual dashcam), with ``band`` / ``width`` if given.

    A side-looking camera passes shop fronts a few metres away and sees their signs large enough for the
    whole-frame pass (bench/far_signs.py: the same signs found on the sample patrol clip with or without
    a window), so its window is only looked at when a band or width is asked for.
    """
    if mount not in (None, *MOUNTS):
        raise ValueError(f"camera mount must be one of {', '.join(MOUNTS)}, not {mount!r}")
    mount = mount or "forward"
    if band is None and width is None and mount not in ON_BY_DEFAULT:
        return None
    return WINDOWS[mount].adjusted(band, width)


def parse_band(text: str) -> tuple[float, float]:
    """ "TOP,BOTTOM" fractions of the frame height, e.g. "0.28,0.62", checked as a policy checks a band."""
    try:
        top, bottom = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(
            f"a band is two fractions of the frame height, TOP,BOTTOM (e.g. 0.28,0.62), not {text!r}"
        ) from None
    return FocusPolicy(band=(top, bottom)).band


def parse_width(text: str) -> float:
    """A window width as a fraction of the frame width, e.g. "0.5", checked as a policy checks it."""
    try:
        width = float(text)
    except ValueError:
        raise ValueError(f"focus width must be a fraction of the frame width (e.g. 0.5), not {text!r}") from None
    return FocusPolicy(width=width).width
