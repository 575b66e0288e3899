"""The server's periodic upkeep: every ``maintenance_every_h`` hours (the first run ``FIRST_RUN_S``
after start) the evidence chain's head is anchored and the retention cleanup runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from service.chain import anchor
from service.retention import cleanup
from service.settings import Settings
from service.writer import Writer

log = logging.getLogger(__name__)

FIRST_RUN_S = 300.0
"""Seconds after start before the first run (a server that restarts often still runs it)."""


def run_maintenance(engine: Engine, settings: Settings, writer: Writer, now: datetime) -> None:
    """Anchor the chain, then clean up (see ``service.retention``)."""
    with Session(engine) as session:
        anchor(session, settings.anchor_file, now)
        cleanup(session, writer, settings, now)


class Maintenance:
    """A thread that calls ``run_maintenance`` periodically until ``stop``."""

    def __init__(self, engine: Engine, settings: Settings, writer: Writer, clock: Callable[[], datetime]) -> None:
        self.engine, self.settings, self.writer, self.clock = engine, settings, writer, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="streetscan-maintenance", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        wait = FIRST_RUN_S
        while not self._stop.wait(wait):
            try:
                run_maintenance(self.engine, self.settings, self.writer, self.clock())
            except Exception:
                log.exception("maintenance run failed")
            wait = self.settings.maintenance_every_h * 3600
