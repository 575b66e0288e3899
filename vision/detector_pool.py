"""Several copies of one detector, each in its own thread, so batches of frames are detected side by side.

On two cores, two single-threaded OpenVINO inferences running at once do more work per second than one
inference spread over both cores, whose threads wait for each other at every layer. The pool keeps one
batch in flight per detector and hands results back in the order the batches came, for the tracker.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Self

import numpy as np

from vision.boxes import Detections
from vision.detector import Detects
from vision.frames import Frame
from vision.timing import StageTimes


class DetectorPool:
    """Runs ``detectors`` (copies of one model) in as many threads; ``stages["detect"]`` adds up their
    busy seconds. Use as a context manager: leaving it waits for the batches in flight."""

    def __init__(self, detectors: Sequence[Detects], stages: StageTimes | None = None) -> None:
        self._free: queue.SimpleQueue[Detects] = queue.SimpleQueue()
        for detector in detectors:
            self._free.put(detector)
        self.workers = len(detectors)
        self.stages = stages if stages is not None else StageTimes()
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="detect")

    def _detect(self, images: list[np.ndarray]) -> list[Detections]:
        detector = self._free.get()
        began = time.perf_counter()
        try:
            return detector.detect(images)
        finally:
            self.stages["detect (threads)"] += time.perf_counter() - began
            self._free.put(detector)

    def detect(self, batches: Iterable[list[Frame]]) -> Iterator[tuple[list[Frame], list[Detections]]]:
        """(batch, one Detections per frame) for every batch, in order: one batch per detector runs and one
        more waits, while the caller tracks the results before them."""
        pending: deque[tuple[list[Frame], Future[list[Detections]]]] = deque()
        for batch in batches:
            pending.append((batch, self._executor.submit(self._detect, [frame.image for frame in batch])))
            if len(pending) > self.workers:
                yield self._next(pending)
        while pending:
            yield self._next(pending)

    def _next(
        self, pending: deque[tuple[list[Frame], Future[list[Detections]]]]
    ) -> tuple[list[Frame], list[Detections]]:
        batch, future = pending.popleft()
        began = time.perf_counter()
        found = future.result()
        self.stages["waiting for detections"] += time.perf_counter() - began
        return batch, found

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
