"""One detector shared by many live cameras: a thread that batches the newest frame of each camera.

On two CPU cores one model run over a batch of frames costs less than one model per camera, and a
single inference thread keeps the cores from being oversubscribed. Each camera leaves its frames in
a ``LatestFrame`` mailbox made by ``mailbox()``; whatever frames are waiting when the model is free
form the next batch, so a camera's frame lag stays about one batch long whatever the load.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable

from vision.boxes import Detections
from vision.detector import Detects
from vision.streams import LatestFrame, LiveFrame

log = logging.getLogger(__name__)

Handler = Callable[[LiveFrame, Detections, float], None]
"""Called in the inference thread with a frame, its detections and the wall time (Unix s) they were ready."""


class InferenceLoop:
    """Runs ``load()``'s detector in its own thread over the frames of every attached camera.

    ``error`` holds the last failure (the model would not load, a batch failed), None when all is well.
    An exception in one camera's handler is logged and does not stop the others.
    """

    def __init__(self, load: Callable[[], Detects], clock: Callable[[], float] = time.time) -> None:
        self.load = load
        self.clock = clock
        self.error: str | None = None
        self.ready = threading.Event()
        self._feeds: dict[Hashable, tuple[LatestFrame, Handler]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def mailbox(self) -> LatestFrame:
        """A mailbox that wakes this loop."""
        return LatestFrame(self.ready)

    def attach(self, key: Hashable, mailbox: LatestFrame, handle: Handler) -> None:
        """Process ``mailbox``'s frames from now on (replacing what ``key`` had).

        Starts the thread if it is not running (the model loads with the first frame), so a model that
        failed to load is tried again when a camera is attached again.
        """
        with self._lock:
            self._feeds[key] = (mailbox, handle)
            if (self._thread is None or not self._thread.is_alive()) and not self._stop.is_set():
                self.error = None
                self._thread = threading.Thread(target=self._run, name="inference", daemon=True)
                self._thread.start()

    def detach(self, key: Hashable) -> None:
        with self._lock:
            self._feeds.pop(key, None)

    def stop(self) -> None:
        self._stop.set()
        self.ready.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        detector = None
        while not self._stop.is_set():
            if not self.ready.wait(0.5):
                continue
            self.ready.clear()
            with self._lock:
                feeds = list(self._feeds.values())
            batch = [(frame, handle) for mailbox, handle in feeds if (frame := mailbox.take()) is not None]
            if not batch or self._stop.is_set():
                continue
            if detector is None:  # loaded with the first frame, so a camera that never connects costs nothing
                try:
                    detector = self.load()
                except Exception as exc:  # noqa: BLE001 - reported through ``error`` to every camera
                    self.error = f"cannot load the detector: {exc}"
                    log.error("%s", self.error)
                    return
            self._process(detector, batch)

    def _process(self, detector: Detects, batch: list[tuple[LiveFrame, Handler]]) -> None:
        try:
            found = detector.detect([frame.image for frame, _ in batch])
        except Exception as exc:  # keep serving; the next batch may be fine
            self.error = f"detector failed: {exc}"
            log.exception("detector failed on a batch of %d frames", len(batch))
            return
        self.error = None
        done = self.clock()
        for (frame, handle), detections in zip(batch, found):
            try:
                handle(frame, detections, done)
            except Exception:  # one camera's failure must not stop the others
                log.exception("camera handler failed")
