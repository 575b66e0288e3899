"""Live video: read a camera stream (RTSP, HTTP, or a file looped as if live), sampled by wall clock.

``read_live`` yields the newest frame about ``fps`` times per second of wall time and raises
``StreamError`` when the stream drops; ``StreamReader`` runs it in its own thread, reconnects with
capped exponential backoff, keeps a status, and leaves each sampled frame in a ``LatestFrame``
mailbox where the newest frame wins, so a slow consumer never builds a backlog.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import av
import numpy as np
from av.error import FFmpegError

from vision.frames import VideoError, time_base_of

log = logging.getLogger(__name__)

LIVE_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https"})
TRANSPORTS = ("tcp", "udp")


class StreamError(VideoError):
    """A live stream that cannot be opened or has stopped delivering frames; the message names the URL."""


class StreamState(StrEnum):
    connecting = "connecting"
    live = "live"
    reconnecting = "reconnecting"
    stopped = "stopped"


@dataclass(frozen=True)
class LiveFrame:
    """One sampled frame: ``at`` wall time (Unix seconds) when it was decoded; ``image`` (H, W, 3) uint8 BGR."""

    at: float
    image: np.ndarray


@dataclass(frozen=True)
class StreamStatus:
    """A reader's state. ``last_frame_at`` is aware UTC (None before the first frame); ``frames`` counts
    sampled frames; ``reconnects`` counts drops and failed connections; ``in_schedule`` is False while
    the reader's ``active`` check keeps it disconnected."""

    state: StreamState = StreamState.connecting
    last_frame_at: datetime | None = None
    frames: int = 0
    reconnects: int = 0
    last_error: str | None = None
    in_schedule: bool = True


class LatestFrame:
    """A one-frame mailbox: ``put`` replaces what is there (counted in ``dropped``), ``take`` empties it.

    ``ready`` (shared by many mailboxes) is set on every put, so one consumer can wait for any of them.
    """

    def __init__(self, ready: threading.Event | None = None) -> None:
        self.ready = ready or threading.Event()
        self.dropped = 0
        self._frame: LiveFrame | None = None
        self._lock = threading.Lock()

    def put(self, frame: LiveFrame) -> None:
        with self._lock:
            self.dropped += self._frame is not None
            self._frame = frame
        self.ready.set()

    def take(self) -> LiveFrame | None:
        with self._lock:
            frame, self._frame = self._frame, None
        return frame


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait before reconnect attempt n (0-based): ``initial_s * 2**n``, at most ``max_s``."""

    initial_s: float = 1.0
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.initial_s * 2.0 ** min(attempt, 32))


def file_path(url: str) -> Path | None:
    """The local file a source names (a plain path or ``file://`` URL), None for a network stream."""
    parsed = urlparse(url)
    if parsed.scheme in LIVE_SCHEMES:
        return None
    if parsed.scheme == "file":
        return Path(parsed.path)
    return Path(url)


def read_live(
    url: str,
    fps: float,
    stop: threading.Event,
    transport: str = "auto",
    timeout_s: float = 5.0,
    clock: Callable[[], float] = time.time,
) -> Iterator[LiveFrame]:
    """Yield frames of a live source sampled at ``fps`` per second of wall time, until ``stop`` is set.

    Every frame is decoded (as a codec needs), but only the first one in each 1/fps wall-clock slot
    becomes an image. A network stream is opened with ``transport`` "tcp" or "udp" for RTSP ("auto":
    tcp, then udp) and a ``timeout_s`` socket and read timeout, so a dead server is noticed within
    seconds; its end raises StreamError. A file is played at its own frame rate and looped forever.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    path = file_path(url)
    decoded = _looped_file(path, stop, clock) if path is not None else _network(url, transport, timeout_s)
    last_slot = -1
    try:
        for frame in decoded:
            if stop.is_set():
                return
            now = clock()
            slot = math.floor(now * fps)
            if slot != last_slot:
                last_slot = slot
                yield LiveFrame(at=now, image=frame.to_ndarray(format="bgr24"))
    finally:
        decoded.close()


def _network(url: str, transport: str, timeout_s: float) -> Generator[av.VideoFrame, None, None]:
    """Decoded frames of a network stream; raises StreamError when it cannot be opened, fails or ends."""
    container = _open_network(url, transport, timeout_s)
    try:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            try:
                yield from stream.decode(packet)
            except FFmpegError as err:  # one corrupt packet: skip it, the next keyframe recovers
                log.debug("%s: skipped a packet: %s", url, err)
    except FFmpegError as err:
        raise StreamError(f"{url}: stream failed: {_reason(err)}") from None
    finally:
        container.close()
    raise StreamError(f"{url}: stream ended")


def _open_network(url: str, transport: str, timeout_s: float) -> av.container.InputContainer:
    """Open a network stream with a video track, trying each RTSP transport ``transport`` allows."""
    options = {"timeout": str(int(timeout_s * 1_000_000))}  # FFmpeg wants microseconds
    rtsp = urlparse(url).scheme in ("rtsp", "rtsps")
    attempts = (TRANSPORTS if transport == "auto" else (transport,)) if rtsp else (None,)
    errors = []
    for mode in attempts:
        try:
            container = av.open(
                url, options={**options, "rtsp_transport": mode} if mode else options, timeout=(timeout_s, timeout_s)
            )
        except (FFmpegError, OSError) as err:
            errors.append(f"{mode}: {_reason(err)}" if mode else _reason(err))
            continue
        if not container.streams.video:
            container.close()
            raise StreamError(f"{url}: no video stream")
        return container
    raise StreamError(f"{url}: cannot open stream: {'; '.join(errors)}")


def _looped_file(path: Path, stop: threading.Event, clock: Callable[[], float]) -> Generator[av.VideoFrame, None, None]:
    """Decoded frames of a video file, released at its own frame rate and looped until ``stop``."""
    while not stop.is_set():
        try:
            container = av.open(str(path))
        except (FFmpegError, OSError) as err:
            raise StreamError(f"{path}: cannot open video: {_reason(err)}") from None
        with container:
            if not container.streams.video:
                raise StreamError(f"{path}: no video stream")
            stream = container.streams.video[0]
            start, time_base, began, shown = stream.start_time or 0, time_base_of(stream, path), clock(), 0
            for frame in container.decode(stream):
                t = float((frame.pts - start) * time_base) if frame.pts is not None else 0.0
                if stop.wait(max(0.0, began + t - clock())):
                    return
                shown += 1
                yield frame
            if shown == 0:
                raise StreamError(f"{path}: no decodable video frame")


def _reason(err: Exception) -> str:
    """FFmpeg's or the OS's one-line reason."""
    return getattr(err, "strerror", None) or str(err)


class StreamReader:
    """Reads one live source in its own thread into a ``LatestFrame``, reconnecting with backoff.

    ``active`` (optional) is asked about once a second; while it answers False the reader stays
    disconnected (state stopped, ``in_schedule`` False). ``stop()`` ends the thread within about a
    second, or ``timeout_s`` while a network read is blocked.
    """

    def __init__(
        self,
        url: str,
        fps: float,
        mailbox: LatestFrame,
        transport: str = "auto",
        timeout_s: float = 5.0,
        backoff: Backoff = Backoff(),
        active: Callable[[], bool] | None = None,
        name: str = "stream",
    ) -> None:
        self.url, self.fps, self.mailbox = url, fps, mailbox
        self.transport, self.timeout_s, self.backoff = transport, timeout_s, backoff
        self.active = active or (lambda: True)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._status = StreamStatus()
        self._failures = 0  # failed attempts since frames last flowed: the backoff step
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def status(self) -> StreamStatus:
        with self._lock:
            return self._status

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; ``join`` waits for it."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._wait_for_schedule():
                break
            try:
                self._read()
            except Exception as err:  # noqa: BLE001 - any failure of one stream is reported and retried
                message = str(err) if isinstance(err, StreamError) else f"{type(err).__name__}: {err}"
                log.warning("%s: %s", self._thread.name, message)
                delay = self.backoff.delay(self._failures)
                self._failures += 1
                status = self.status
                self._set(state=StreamState.reconnecting, reconnects=status.reconnects + 1, last_error=message)
                self._stop.wait(delay)
        self._set(state=StreamState.stopped)

    def _wait_for_schedule(self) -> bool:
        """Block while outside the schedule; False when stopped meanwhile."""
        while not self.active():
            self._set(state=StreamState.stopped, in_schedule=False)
            if self._stop.wait(1.0):
                return False
        if not self.status.in_schedule:
            self._set(state=StreamState.connecting, in_schedule=True)
        return True

    def _read(self) -> None:
        """Read until stopped or the schedule ends; a drop raises. Frames flowing reset the backoff."""
        checked = time.monotonic()
        for frame in read_live(self.url, self.fps, self._stop, self.transport, self.timeout_s):
            self.mailbox.put(frame)
            self._failures = 0
            status = self.status
            self._set(
                state=StreamState.live,
                last_frame_at=datetime.fromtimestamp(frame.at, UTC),
                frames=status.frames + 1,
            )
            if time.monotonic() - checked >= 1.0:
                checked = time.monotonic()
                if not self.active():
                    return
