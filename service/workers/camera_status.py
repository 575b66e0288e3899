"""Camera down and up, for the ``camera.down`` and ``camera.up`` webhook events.

A camera is down once its stream has been reconnecting (dropped, or failing to connect) for
``camera_down_after_s`` seconds while in its schedule, and up again when frames flow. The process
that runs the camera judges (``StreamWatch``); the change is stored as ``cameras.down_since``
with its event in one transaction (``record_stream_states``), so a camera that moves to another
worker, or a restarted one, is announced once per drop and once per return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from service.models.base import row_id
from service.models.cameras import Camera
from service.models.webhooks import EventKind
from service.webhooks import emit
from service.workers.cameras import CameraRuntime
from vision import StreamState


@dataclass(frozen=True)
class Verdict:
    """A camera's stream found ``down`` (else up), with the state it was judged on."""

    down: bool
    runtime: CameraRuntime


class StreamWatch:
    """Remembers since when each camera's stream has been reconnecting, to judge it down only after
    ``down_after_s`` seconds of it (a drop that mends at once says nothing)."""

    def __init__(self, down_after_s: float) -> None:
        self.down_after = timedelta(seconds=down_after_s)
        self.trouble_since: dict[int, datetime] = {}

    def verdict(self, camera_id: int, runtime: CameraRuntime, now: datetime) -> Verdict | None:
        """Up while frames flow, down after reconnecting long enough; None when it cannot say yet
        (connecting after a start, out of its schedule, stopped)."""
        if runtime.status == StreamState.live:
            self.trouble_since.pop(camera_id, None)
            return Verdict(False, runtime)
        if runtime.status != StreamState.reconnecting or not runtime.in_schedule:
            self.trouble_since.pop(camera_id, None)
            return None
        since = self.trouble_since.setdefault(camera_id, now)
        return Verdict(True, runtime) if now - since >= self.down_after else None

    def forget(self, running: set[int]) -> None:
        """Drop what is remembered of cameras no longer run here."""
        for camera_id in set(self.trouble_since) - running:
            del self.trouble_since[camera_id]


def record_stream_states(session: Session, verdicts: dict[int, Verdict], now: datetime) -> list[EventKind]:
    """Store the verdicts that change a camera's ``down_since``, each with its ``camera.down`` or
    ``camera.up`` event (the camera, where it stands, since when it was down, the stream's last
    error); the events made, by camera id. The caller commits."""
    cameras = session.exec(select(Camera).where(col(Camera.id).in_(list(verdicts))).order_by(col(Camera.id))).all()
    made = []
    for camera in cameras:
        verdict = verdicts[row_id(camera)]
        if verdict.down == (camera.down_since is not None):
            continue
        down_since = now if verdict.down else camera.down_since
        assert down_since is not None
        payload = {
            "camera_id": camera.id,
            "camera": camera.name,
            "lat": camera.lat,
            "lon": camera.lon,
            "down_since": down_since.isoformat(),
            "error": verdict.runtime.last_error,
        }
        camera.down_since = now if verdict.down else None
        kind = EventKind.camera_down if verdict.down else EventKind.camera_up
        emit(session, kind, now, payload)
        session.add(camera)
        made.append(kind)
    return made
