"""Decoding ahead in a thread, and detector copies side by side: order, errors, early stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from vision.boxes import Detections
from vision.detector_pool import DetectorPool
from vision.frames import Frame
from vision.prefetch import Prefetch


def test_batches_hold_every_item_in_order() -> None:
    with Prefetch(range(50), depth=8) as ahead:
        batches = list(ahead.batches(4))
    assert [x for batch in batches for x in batch] == list(range(50))
    assert all(1 <= len(batch) <= 4 for batch in batches)


def test_a_batch_takes_what_is_waiting() -> None:
    with Prefetch(range(12), depth=12) as ahead:
        time.sleep(0.3)  # the producer fills the queue meanwhile
        assert next(ahead.batches(4)) == [0, 1, 2, 3]


def test_producer_error_reaches_the_consumer() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("corrupt video")

    with Prefetch(items(), depth=4) as ahead, pytest.raises(ValueError, match="corrupt video"):
        list(ahead.batches(2))


def test_leaving_early_stops_and_closes_the_producer() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    ahead = Prefetch(endless(), depth=2, name="endless")
    with ahead:
        assert next(ahead.batches(1)) == [0]
    assert closed.is_set()
    assert not any(t.name == "endless" for t in threading.enumerate())


class SlowCopy:
    """Stands in for a Detector: one box per image at x = the image's first pixel, after a delay that makes
    later batches finish before earlier ones."""

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        self.threads.add(threading.current_thread().name)
        time.sleep(0.05 * (3 - int(images[0][0, 0, 0]) % 3))
        return [
            Detections(np.array([[im[0, 0, 0], 0, 1, 1]], dtype=np.float32), np.ones(1), np.zeros(1)) for im in images
        ]


def test_pool_returns_batches_in_order_detected_side_by_side() -> None:
    copies = [SlowCopy(), SlowCopy()]
    frames = [Frame(i, i / 5, np.full((4, 4, 3), i, dtype=np.uint8)) for i in range(9)]
    batches = [frames[i : i + 2] for i in range(0, 9, 2)]
    with DetectorPool(copies) as pool:  # type: ignore[arg-type]
        out = list(pool.detect(batches))
    assert [[f.index for f in batch] for batch, _ in out] == [[f.index for f in b] for b in batches]
    assert [int(d.xyxy[0, 0]) for _, found in out for d in found] == list(range(9))
    assert len(copies[0].threads | copies[1].threads) == 2
    assert pool.stages["detect (threads)"] > 0
