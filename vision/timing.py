"""Where a scan's time goes: seconds of wall time per stage (decode, detect, track, …)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class StageTimes(defaultdict[str, float]):
    """Stage name -> seconds of wall time spent in it; a stage not seen yet counts 0."""

    def __init__(self) -> None:
        super().__init__(float)


def timed(items: Iterable[T], stages: StageTimes, stage: str) -> Iterator[T]:
    """``items`` unchanged; the wall time spent waiting for each one is added to ``stages[stage]``."""
    iterator = iter(items)
    while True:
        began = time.perf_counter()
        try:
            item = next(iterator)
        except StopIteration:
            return
        finally:
            stages[stage] += time.perf_counter() - began
        yield item
