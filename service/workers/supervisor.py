"""The supervisor: starts, restarts and stops camera workers as the camera table changes, and owns the
shared detector thread and the observation writer thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from service.models.base import row_id, utcnow
from service.models.cameras import Camera
from service.settings import Settings
from service.workers.camera_status import StreamWatch, record_stream_states
from service.workers.cameras import CameraRuntime, CameraWorker, camera_config
from service.workers.observation_writer import ObservationWriter
from service.writer import Writer
from vision import Detector, Detects, InferenceLoop, StreamState, Taxonomy

log = logging.getLogger(__name__)


class Supervisor:
    """Runs every enabled camera: one worker each (own reader thread, stop event, one-frame mailbox),
    one detector for all of them (``InferenceLoop``), one writer to the database (``ObservationWriter``).

    ``apply`` and ``remove`` change one camera at run time without touching the others; ``sync``
    brings the running set in line with the camera table. ``load_detector`` (default: the weights of
    ``settings.model_path``) is called once, when the first camera starts.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        write_lock: AbstractContextManager[object] | None = None,
        clock: Callable[[], datetime] = utcnow,
        load_detector: Callable[[], Detects] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.taxonomy = Taxonomy.load(settings.taxonomy_path)
        self.lock = write_lock if write_lock is not None else Writer(engine)
        self.writer = ObservationWriter(engine, settings, self.lock, clock)
        self.inference = InferenceLoop(load_detector or (lambda: Detector(settings.model_path)))
        self.workers: dict[int, CameraWorker] = {}
        self.watch = StreamWatch(settings.camera_down_after_s)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="streetscan-camera-watch", daemon=True)

    def start(self) -> None:
        """Start the writer, every enabled camera of the table, and a thread that reports cameras down
        and up (``report_states``) every ``camera_sync_s`` seconds."""
        self.writer.start()
        self.sync()
        self._watcher.start()

    def sync(self, mine: Callable[[int], bool] = lambda camera_id: True) -> None:
        """Start new and changed cameras, stop deleted and disabled ones, from the camera table; only
        the cameras whose id ``mine`` accepts are run here (in a fleet: those this worker holds)."""
        with Session(self.engine) as session:
            cameras = [c for c in session.exec(select(Camera)) if mine(row_id(c))]
        for camera in cameras:
            self.apply(camera)
        for camera_id in set(self.workers) - {row_id(c) for c in cameras}:
            self.remove(camera_id)

    def apply(self, camera: Camera) -> None:
        """Run ``camera`` as stored: start it, restart it if its settings changed, stop it if disabled."""
        camera_id = row_id(camera)
        with self._lock:
            old = self.workers.get(camera_id)
            if old is not None and camera.enabled and old.config == camera_config(camera):
                return
            self._end(camera_id)
            if not camera.enabled:
                return
            mailbox = self.inference.mailbox()
            worker = CameraWorker(camera, self.settings, self.taxonomy, mailbox, self.writer.submit, self.clock)
            self.workers[camera_id] = worker
            self.inference.attach(camera_id, mailbox, worker.handle)
            worker.start()
            log.info("camera %d (%s) started: %s", camera.id, camera.name, camera.url)

    def remove(self, camera_id: int) -> None:
        """Stop a camera's worker (its reader thread ends on its own within the read timeout)."""
        with self._lock:
            self._end(camera_id)

    def runtime(self, camera_id: int) -> CameraRuntime:
        """What the camera is doing now (stopped when it has no worker)."""
        worker = self.workers.get(camera_id)
        if worker is None:
            return CameraRuntime(status=StreamState.stopped)
        return worker.runtime(self.inference.error)

    def report_states(self) -> None:
        """Store which of the cameras run here went down or came back, with their ``camera.down`` and
        ``camera.up`` events (``service.workers.camera_status``)."""
        now = self.clock()
        with self._lock:
            workers = dict(self.workers)
        self.watch.forget(set(workers))
        verdicts = {}
        for camera_id, worker in workers.items():
            verdict = self.watch.verdict(camera_id, worker.runtime(), now)
            if verdict is not None:
                verdicts[camera_id] = verdict
        if verdicts:
            with self.lock, Session(self.engine) as session:
                record_stream_states(session, verdicts, now)
                session.commit()

    def _watch(self) -> None:
        while not self._stopping.wait(self.settings.camera_sync_s):
            try:
                self.report_states()
            except Exception:
                log.exception("reporting cameras down or up failed; trying again")

    def stop(self) -> None:
        """Stop every camera and the detector, store what is queued, and wait for the threads."""
        self._stopping.set()
        if self._watcher.is_alive():
            self._watcher.join()
        with self._lock:
            workers = list(self.workers.values())
            for camera_id in list(self.workers):
                self._end(camera_id)
        self.inference.stop()
        for worker in workers:
            worker.join(self.settings.camera_timeout_s + 1.0)
        self.inference.join(30.0)
        self.writer.stop()
        self.writer.join(30.0)

    def _end(self, camera_id: int) -> None:
        worker = self.workers.pop(camera_id, None)
        if worker is not None:
            self.inference.detach(camera_id)
            worker.stop()
            log.info("camera %d stopped", camera_id)


def run_until(settings: Settings, stop: threading.Event) -> None:
    """Run the supervisor on its own (no HTTP) until ``stop`` is set, re-reading the camera table every
    ``camera_sync_s`` seconds so cameras added, edited or deleted through the API take effect."""
    from service.db import make_engine, migrate

    engine = make_engine(settings.database_url, settings.sqlite_busy_timeout_ms)
    migrate(engine, settings)
    supervisor = Supervisor(engine, settings)
    supervisor.start()
    try:
        while not stop.wait(settings.camera_sync_s):
            supervisor.sync()
            for camera_id, worker in sorted(supervisor.workers.items()):
                state = worker.runtime(supervisor.inference.error)
                log.info(
                    "camera %d: %s, %d frames, %d reconnects, %d observations%s",
                    camera_id,
                    state.status.value,
                    state.frames,
                    state.reconnects,
                    state.observations,
                    f", last error: {state.last_error}" if state.last_error else "",
                )
    finally:
        supervisor.stop()
        engine.dispose()
