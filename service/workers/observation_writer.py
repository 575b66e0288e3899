"""The one thread that stores camera observations: a bounded queue drained into ``service.ingest.ingest``."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from service.chain import model_provenance
from service.ingest import ingest
from service.settings import Settings
from vision import Observation

log = logging.getLogger(__name__)


class ObservationWriter:
    """Takes (source, observations) from any thread; one thread stores them in arrival order.

    Each batch is stored under ``write_lock`` (the writer the API holds, ``service.writer``), through the same
    ingest function as ``POST /api/observations``. The queue holds at most ``maxsize`` batches; when
    the database falls that far behind, new batches are dropped and logged rather than piling up.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        write_lock: AbstractContextManager[object],
        clock: Callable[[], datetime],
        maxsize: int = 1000,
    ) -> None:
        self.engine, self.settings = engine, settings
        self.write_lock, self.clock = write_lock, clock
        self.queue: queue.Queue[tuple[str, list[Observation]] | None] = queue.Queue(maxsize)
        self._thread = threading.Thread(target=self._run, name="observation-writer", daemon=True)

    def submit(self, source: str, items: list[Observation]) -> None:
        try:
            self.queue.put_nowait((source, items))
        except queue.Full:
            log.error("%s: observation queue full, dropped %d observations", source, len(items))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Store what is queued, then end; ``join`` waits."""
        self.queue.put(None)

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:  # None: stop() was called after everything before it
            source, items = item
            try:
                self._store(source, items)
            except Exception:  # a database hiccup must not end the writer
                log.exception("%s: storing %d observations failed", source, len(items))

    def _store(self, source: str, items: list[Observation]) -> None:
        with self.write_lock, Session(self.engine) as session:
            provenance = model_provenance(self.settings.model_path)
            response = ingest(session, self.settings, source, items, None, self.clock(), provenance)
        for result in response.results:
            if result.error:
                log.warning("%s: observation %s rejected: %s", source, result.track_id, result.error)
            else:
                log.info("%s: observation %s -> case %s (%s)", source, result.track_id, result.case_id, result.outcome)
