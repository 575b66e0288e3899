"""The embedded job runner: worker threads in the server process that take queued video jobs from the
database and run ``service.workers.jobs.process_video`` on each."""

from __future__ import annotations

import functools
import logging
import threading
from contextlib import AbstractContextManager

from sqlalchemy import Engine

from service.settings import Settings
from service.workers.jobs import build_scanner, claim_next, process_video

log = logging.getLogger(__name__)

POLL_S = 2.0
"""How long an idle worker waits before it looks at the queue again (uploads wake it at once)."""


class JobPool:
    """Worker threads that take queued jobs from the database and run ``process_video``; each
    loads its own Scanner on its first job. ``stop`` ends them, queueing a running job again."""

    def __init__(self, engine: Engine, settings: Settings, lock: AbstractContextManager[object]) -> None:
        self.engine, self.settings, self.lock = engine, settings, lock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, size: int) -> None:
        """Start ``size`` workers (0: none; jobs wait in the queue)."""
        for n in range(size):
            thread = threading.Thread(target=self._work, name=f"streetscan-job-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Tell idle workers that a job was queued."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the workers and wait for them (a running video stops at its next frame)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        scanner = functools.cache(functools.partial(build_scanner, self.settings))
        while not self._stop.is_set():
            self._wake.clear()
            try:
                with self.lock:
                    job_id = claim_next(self.engine)
                if job_id is not None:
                    process_video(self.engine, self.settings, job_id, scanner=scanner, lock=self.lock, stop=self._stop)
            except Exception:
                log.exception("job worker error")
                job_id = None
            if job_id is None:
                self._wake.wait(POLL_S)
