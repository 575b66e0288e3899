"""Run a producer (video decoding) in its own thread, a bounded number of items ahead of its consumer.

Decoding (FFmpeg) and inference (OpenVINO, PyTorch) release the GIL, so on two cores a scan decodes the
next frames while the model looks at the last ones. The queue is bounded, so memory holds at most
``depth`` decoded frames however far the decoder could run ahead.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, Self, TypeVar

T = TypeVar("T")
_END = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Prefetch(Generic[T]):
    """Iterates ``items`` in a daemon thread; ``batches()`` hands them over in order. An exception in the
    producer is raised in the consumer. Use as a context manager: leaving it stops and joins the thread
    (closing ``items`` there, e.g. a video file)."""

    def __init__(self, items: Iterable[T], depth: int, name: str = "prefetch") -> None:
        self._items = items
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        iterator = iter(self._items)
        try:
            for item in iterator:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put(_Failure(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def _put(self, item: object) -> bool:
        """Queue ``item``, waiting for room; False once the consumer has gone."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _take(self, block: bool) -> object:
        item = self._queue.get(block=block)
        if item is _END:
            self._done = True
        elif isinstance(item, _Failure):
            self._done = True
            raise item.error
        return item

    def batches(self, size: int) -> Iterator[list[T]]:
        """Lists of 1..``size`` items: waits for one, then takes whatever else is already waiting."""
        while not self._done:
            first = self._take(block=True)
            if first is _END:
                return
            batch = [first]
            while len(batch) < size:
                try:
                    item = self._take(block=False)
                except queue.Empty:
                    break
                if item is _END:
                    break
                batch.append(item)
            yield batch  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)  # unblock a producer waiting for room
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
