"""Which frames of a video to analyse: a fixed number per second, or one every few metres of travel.

A ``SampleClock`` counts sampling slots along the video's time: a frame is analysed when it is the first to
reach a new slot. Sampled by time, slots tick ``fps`` times a second. Sampled by distance (with a GPS
track), they tick once every ``every_m`` metres the car travels, at least ``min_fps`` and at most
``max_fps`` times a second: a car waiting at a light or parked is looked at ``min_fps`` times a second
instead of ``fps``, and a fast car still gets a view every ``every_m`` metres up to ``max_fps``. Where the
track says nothing (before its first fix, after its last, across a gap) the clock ticks at ``fps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from vision.geo import GpsTrack, haversine_m
from vision.geo.track import STATIONARY_MPS

MAX_GAP_S = 10.0  # fixes further apart than this say nothing about the speed between them
RATE_STEP = 0.5  # frames/s: distance sampling rates are rounded to a multiple of this


@dataclass(frozen=True)
class DistanceSampling:
    """One frame every ``every_m`` metres of travel, between ``min_fps`` and ``max_fps`` frames per second."""

    every_m: float = 0.8
    min_fps: float = 1.0
    max_fps: float = 10.0

    def __post_init__(self) -> None:
        if not (self.every_m > 0 and 0 < self.min_fps <= self.max_fps):
            raise ValueError("distance sampling needs every_m > 0 and 0 < min_fps <= max_fps")


class SampleClock:
    """Sampling slots along a video's time. ``knots_t`` (K,) seconds from the video start, increasing, and
    ``knots_slot`` (K,) the slot count reached at each; linear between knots, ``fps`` slots a second outside.
    ``still_t`` (M, 2): [start, end) seconds of the stretches where the car stood still."""

    def __init__(
        self,
        fps: float,
        knots_t: np.ndarray | None = None,
        knots_slot: np.ndarray | None = None,
        still_t: np.ndarray | None = None,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = fps
        self.knots_t = np.zeros(1) if knots_t is None else knots_t
        self.knots_slot = np.zeros(1) if knots_slot is None else knots_slot
        self.still_t = np.zeros((0, 2)) if still_t is None else still_t

    @classmethod
    def by_distance(
        cls, fps: float, track: GpsTrack, start: datetime | None, sampling: DistanceSampling
    ) -> SampleClock:
        """Slots every ``sampling.every_m`` metres along ``track``; ``start`` is the video's recording start
        (None: only a video-relative track can be placed on the video, else this is time sampling)."""
        if track.video_relative:
            t = track.t
        elif start is not None:
            t = track.t - start.timestamp()
        else:
            return cls(fps)
        dt = np.diff(t)
        speed = haversine_m(track.lat[:-1], track.lon[:-1], track.lat[1:], track.lon[1:]) / np.maximum(dt, 1e-9)
        if track.speed is not None:  # the receiver's own speed, where it gave one, is less noisy than fix-to-fix
            recorded = (track.speed[:-1] + track.speed[1:]) / 2
            speed = np.where(np.isnan(recorded), speed, recorded)
        known = dt <= MAX_GAP_S
        # rates in steps of RATE_STEP frames/s: the track's noise (a fix rounded to 1e-7 degrees is 4.00 +- 0.01
        # m/s) must not shift which frames are taken back and forth from one second to the next
        rate = np.round(np.clip(speed / sampling.every_m, sampling.min_fps, sampling.max_fps) / RATE_STEP) * RATE_STEP
        rate = np.where(known, np.clip(rate, sampling.min_fps, sampling.max_fps), fps)
        slots = np.concatenate([[0.0], np.cumsum(rate * dt)])
        still = known & (speed < STATIONARY_MPS)
        return cls(fps, t, slots, np.stack([t[:-1][still], t[1:][still]], axis=1))

    def slots(self, t: float) -> float:
        """Slots counted from the video start to ``t`` seconds (fractional)."""
        k = self.knots_t
        if t <= k[0]:
            return float(self.knots_slot[0] - (k[0] - t) * self.fps)
        if t >= k[-1]:
            return float(self.knots_slot[-1] + (t - k[-1]) * self.fps)
        return float(np.interp(t, k, self.knots_slot))

    def slot(self, t: float) -> int:
        """The slot ``t`` seconds falls in."""
        return math.floor(self.slots(t))

    def standing_still(self, t: float) -> bool:
        """Whether the car stood still at ``t`` seconds."""
        return bool(np.any((self.still_t[:, 0] <= t) & (t < self.still_t[:, 1])))

    def still_seconds(self, end: float) -> float:
        """Seconds of [0, end) the car stood still."""
        return float(np.clip(np.minimum(self.still_t[:, 1], end) - np.maximum(self.still_t[:, 0], 0.0), 0, None).sum())

    def lowest_rate(self, start: float = -math.inf, end: float = math.inf) -> float:
        """The fewest slots a second anywhere in [start, end] seconds (``fps`` outside the track)."""
        k = self.knots_t
        rates = np.diff(self.knots_slot) / np.maximum(np.diff(k), 1e-9)
        inside = (k[1:] >= start) & (k[:-1] <= end)
        outside = start < k[0] or end > k[-1] or len(k) < 2
        return float(min([*rates[inside], *([self.fps] if outside else [])], default=self.fps))
