"""A patrol simulator: objects at known places, seen on several passes over several days.

Positions are metres north / east of the test origin (see ``places``); each pass is one source (a video) whose
observations carry GPS noise (up to ``noise_m``, or normal with ``noise_m`` per axis), some misses, some split
tracks (one object seen twice in a pass), some false positives and some missing ``observed_at``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.service.places import offset


@dataclass
class Thing:
    """A real object; ``days`` it is there (None: every day)."""

    name: str
    category: str
    north: float
    east: float
    days: frozenset[int] | None = None

    @property
    def position(self) -> tuple[float, float]:
        return offset(self.north, self.east)

    def present(self, day: int) -> bool:
        return self.days is None or day in self.days


@dataclass
class Patrol:
    """Generates the observations of each pass; deterministic for a seed."""

    things: list[Thing]
    seed: int = 7
    noise_m: float = 4.0
    gaussian: bool = False  # noise: normal with ``noise_m`` per axis, else uniform in a disc of that radius
    miss_rate: float = 0.3
    split_rate: float = 0.2
    false_positives: int = 2
    passes_per_day: int = 2
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def day(self, day: int) -> list[list[Thing | None]]:
        """Which things each pass of the day sees (None: a false positive); every present thing
        is seen on at least one pass of the day."""
        seen: list[list[Thing | None]] = [[] for _ in range(self.passes_per_day)]
        for thing in self.things:
            if not thing.present(day):
                continue
            passes = [p for p in range(self.passes_per_day) if self.rng.random() >= self.miss_rate]
            for p in passes or [self.rng.randrange(self.passes_per_day)]:
                seen[p].extend([thing] * (2 if self.rng.random() < self.split_rate else 1))
        for sightings in seen:
            sightings.extend([None] * self.false_positives)
        return seen

    def observations(self, source: str, sightings: list[Thing | None], start: datetime) -> list[dict[str, Any]]:
        """The observations of one pass starting at ``start`` (aware UTC)."""
        out = []
        for n, thing in enumerate(sightings):
            if thing is None:
                category, (lat, lon) = self.rng.choice(["street_vendor", "goods_spill", "lightbox_ad"]), self._stray()
            else:
                category, (lat, lon) = thing.category, self._noisy(thing)
            t = 10.0 * n
            at = start + timedelta(seconds=t + 1)
            out.append(
                {
                    "track_id": f"{n + 1:04d}",
                    "category": category,
                    "label": "synthetic",
                    "confidence": round(self.rng.uniform(0.4, 0.95), 3),
                    "t_first": t,
                    "t_last": t + 3,
                    "t_best": t + 1,
                    "observed_at": None if self.rng.random() < 0.1 else at.isoformat(),
                    "bbox": [100, 200, 300, 500],
                    "lat": lat,
                    "lon": lon,
                    "crop": None,
                }
            )
        return out

    def _noisy(self, thing: Thing) -> tuple[float, float]:
        if self.gaussian:
            return offset(thing.north + self.rng.gauss(0, self.noise_m), thing.east + self.rng.gauss(0, self.noise_m))
        angle, dist = self.rng.uniform(0, 2 * math.pi), self.rng.uniform(0, self.noise_m)
        return offset(thing.north + dist * math.sin(angle), thing.east + dist * math.cos(angle))

    def _stray(self) -> tuple[float, float]:
        """A false positive at least 60 m from every real object."""
        while True:
            north, east = self.rng.uniform(-800, 800), self.rng.uniform(-800, 800)
            if all(math.hypot(north - t.north, east - t.east) >= 60 for t in self.things):
                return offset(north, east)
