"""One camera's worker: its stream reader (own thread), its mailbox for the shared detector, and what
happens to each processed frame (tracking, dwell rules, observations handed to the writer)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from service.evidence import evidence_store, with_evidence
from service.hotspots import local_time, parse_hours, within_hours
from service.models.base import utcnow
from service.models.cameras import Camera
from service.settings import Settings
from vision import (
    FIXED_CAMERA_TRACKER,
    Backoff,
    CameraPlace,
    CameraWatch,
    Detections,
    DwellRules,
    LatestFrame,
    LiveFrame,
    Observation,
    StreamReader,
    StreamState,
    Taxonomy,
)

log = logging.getLogger(__name__)

Sink = Callable[[str, list[Observation]], None]
"""Takes a source name and observations to store."""

CONFIG_FIELDS = frozenset(Camera.model_fields) - {"id", "name", "created_at", "updated_at", "down_since"}


@dataclass(frozen=True)
class CameraRuntime:
    """What a camera is doing now (see ``CameraPublic`` for the fields)."""

    status: StreamState
    last_frame_at: datetime | None = None
    frames: int = 0
    reconnects: int = 0
    last_error: str | None = None
    in_schedule: bool = True
    observations: int = 0
    lag_s: float | None = None
    dropped: int = 0


def camera_config(camera: Camera) -> dict[str, Any]:
    """The fields of a camera that decide how it runs; a change of any restarts its worker (not of its name)."""
    return camera.model_dump(include=set(CONFIG_FIELDS))


def dwell_rules(camera: Camera, settings: Settings) -> DwellRules:
    """The camera's dwell rules: its own dwell times over the service's, its regions."""
    return DwellRules(
        dwell_s={**settings.camera_dwell_s, **(camera.dwell_s or {})},
        grace_s=settings.camera_grace_s,
        gap_s=settings.camera_gap_s,
        regions=[[(x, y) for x, y in polygon] for polygon in camera.regions or []],
        ignore=[[(x, y) for x, y in polygon] for polygon in camera.ignore_regions or []],
    )


class CameraWorker:
    """Runs one camera: a ``StreamReader`` thread fills ``mailbox``; the shared detector calls ``handle``."""

    def __init__(
        self,
        camera: Camera,
        settings: Settings,
        taxonomy: Taxonomy,
        mailbox: LatestFrame,
        sink: Sink,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = camera_config(camera)
        self.source = f"camera:{camera.id}"  # the observations' source
        self.mailbox = mailbox
        self.sink = sink
        self.evidence = evidence_store(settings)
        self.work_dir = settings.data_dir / "cameras" / str(camera.id)
        self.watch = CameraWatch(
            CameraPlace(camera.lat, camera.lon, camera.heading_deg, camera.offset_m),
            dwell_rules(camera, settings),
            taxonomy,
            camera.fps,
            settings.camera_tracker or FIXED_CAMERA_TRACKER,
            self.work_dir,
        )
        self.reader = StreamReader(
            camera.url,
            camera.fps,
            mailbox,
            transport=str(camera.transport),
            timeout_s=settings.camera_timeout_s,
            backoff=Backoff(settings.camera_backoff_s, settings.camera_backoff_max_s),
            active=_schedule_check(camera.schedule, ZoneInfo(settings.timezone), clock),
            name=f"camera-{camera.id}",
        )
        self._lock = threading.Lock()
        self._frames = self._observations = 0
        self._lag_s: float | None = None
        self._error: str | None = None

    def start(self) -> None:
        self.reader.start()

    def stop(self) -> None:
        """Ask the reader to end (it closes its stream within the read timeout); ``join`` waits."""
        self.reader.stop()

    def join(self, timeout: float | None = None) -> None:
        self.reader.join(timeout)

    def handle(self, frame: LiveFrame, detections: Detections, done_at: float) -> None:
        """One processed frame (called in the inference thread): dwell rules, observations to the sink."""
        try:
            found = [
                with_evidence(o, self.work_dir, self.evidence, move=True) for o in self.watch.update(frame, detections)
            ]
        except Exception as exc:  # reported in the status; the next frame may be fine
            log.exception("%s: processing a frame failed", self.source)
            with self._lock:
                self._error = f"processing failed: {exc}"
            return
        if found:
            self.sink(self.source, found)
        with self._lock:
            self._frames += 1
            self._observations += len(found)
            self._lag_s = round(done_at - frame.at, 3)
            self._error = None

    def runtime(self, detector_error: str | None = None) -> CameraRuntime:
        """The camera's state now; ``detector_error`` is the shared detector's, shown when it has one."""
        stream = self.reader.status
        with self._lock:
            return CameraRuntime(
                status=stream.state,
                last_frame_at=stream.last_frame_at,
                frames=self._frames,
                reconnects=stream.reconnects,
                last_error=detector_error or self._error or stream.last_error,
                in_schedule=stream.in_schedule,
                observations=self._observations,
                lag_s=self._lag_s,
                dropped=self.mailbox.dropped,
            )


def _schedule_check(
    schedule: list[str] | None, zone: ZoneInfo, clock: Callable[[], datetime]
) -> Callable[[], bool] | None:
    """A check that the local time is within ``schedule``; None (always on) without one."""
    if not schedule:
        return None
    hours = parse_hours(schedule)
    return lambda: within_hours(local_time(clock(), zone), hours)
