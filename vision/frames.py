"""Video input: read a video's metadata and decode frames sampled by their real timestamps.

Decoding uses PyAV (FFmpeg), so any container and codec FFmpeg reads works (MP4, MOV, MKV, AVI,
MPEG-TS; H.264, H.265, ...). Frames are streamed one at a time, so memory stays flat however
long the video is.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.error import FFmpegError
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from vision.sampling import SampleClock

log = logging.getLogger(__name__)


class VideoError(Exception):
    """A video that cannot be opened or decoded; the message names the file (or URL)."""


@dataclass(frozen=True)
class VideoInfo:
    """Header metadata of a video's main video stream.

    width, height: pixels. fps: average frame rate in frames/s. duration_s: seconds, None when
    unknown. codec: FFmpeg decoder name ("h264", "hevc", ...). start_time: recording start (UTC)
    from the ``creation_time`` metadata, None when absent or unparsable.
    """

    path: str
    width: int
    height: int
    fps: float
    duration_s: float | None
    codec: str
    start_time: datetime | None


@dataclass
class Frame:
    """One sampled frame.

    index: 0-based position among the sampled frames. t: seconds from the video start, from
    the frame's presentation timestamp. image: (H, W, 3) uint8 BGR.
    """

    index: int
    t: float
    image: np.ndarray


@dataclass
class DecodeStats:
    """Counters that ``iter_frames`` adds to while it runs."""

    decoded: int = 0  # frames decoded cleanly
    sampled: int = 0  # frames yielded
    corrupt: int = 0  # packets/frames that failed to decode and were skipped
    still_skipped: int = 0  # frames sampling ``clock.fps`` a second would have yielded while the car stood still


def probe(path: str | Path) -> VideoInfo:
    """Read a video's metadata from its headers, without decoding it."""
    container, stream = _open(path)
    with container:
        return VideoInfo(
            path=str(path),
            width=stream.width,
            height=stream.height,
            fps=_rate(stream),
            duration_s=_duration(container, stream),
            codec=stream.codec_context.name,
            start_time=_creation_time(container, stream),
        )


def verify(path: str | Path) -> VideoInfo:
    """``probe``, then read every packet (no decoding: tens of milliseconds per minute of video)
    and decode the first frame. Raises VideoError for a file cut short (fewer frames than its
    header declares, beyond 1 %) or one without a decodable frame."""
    info = probe(path)
    container, stream = _open(path)
    with container:
        declared = stream.frames
        packets = 0
        try:
            for packet in container.demux(stream):
                packets += packet.size > 0
        except FFmpegError as err:
            raise VideoError(f"{path}: unreadable after {packets} frames: {_reason(err)}") from None
    if declared and packets < declared - declared // 100:
        raise VideoError(f"{path}: truncated: {packets} of {declared} frames present")
    frames = iter_frames(path, fps=None)
    try:
        next(frames)
    finally:
        frames.close()
    return info


def iter_frames(
    path: str | Path, fps: float | None = 5.0, stats: DecodeStats | None = None, clock: SampleClock | None = None
) -> Generator[Frame, None, None]:
    """Decode a video and yield frames sampled at ``fps`` frames per second of video time, or by ``clock``.

    Frames are picked by presentation timestamp: a frame is yielded when it reaches the next slot
    (1/fps s long, or the clock's, e.g. every few metres of travel), so variable-frame-rate video still
    gives about ``fps`` frames per second and never two frames for one slot. ``fps=None`` (or at least
    the source rate) without a clock yields every frame. While sampling, frames no other frame is
    predicted from (H.264/H.265 non-reference B-frames) are not even decoded unless one starts a slot.
    Corrupt packets and frames are skipped, counted in ``stats`` and reported in one warning.
    Raises VideoError (on first iteration) when the video cannot be opened or has no decodable
    frame. The file is closed when the generator finishes or is closed.
    """
    if fps is not None and fps <= 0:
        raise ValueError(f"fps must be positive or None, got {fps}")
    stats = stats if stats is not None else DecodeStats()
    corrupt_before = stats.corrupt
    container, stream = _open(path)
    stream.thread_type = "AUTO"
    source_fps = _rate(stream)
    if clock is None and fps is not None and fps < source_fps:
        clock = SampleClock(fps)
    # Container time bases round timestamps (MKV to 1 ms): let a frame be a quarter frame early.
    early_s = 0.25 / source_fps
    start, time_base = stream.start_time or 0, time_base_of(stream, path)

    def starts_slot(packet: av.Packet) -> bool:
        """Whether the packet's frame is the first of its slot, taking the frame before it to be as far
        before as the packet lasts (1/source_fps when the container does not say)."""
        if clock is None or packet.pts is None:
            return True
        t = float((packet.pts - start) * time_base) + early_s
        gap = float(packet.duration * time_base) if packet.duration else 1.0 / source_fps
        return clock.slot(t) != clock.slot(t - gap)

    decoded = sampled = next_slot = still = 0
    t = 0.0
    try:
        for frame in _decoded_frames(container, stream, stats, starts_slot):
            t = decoded / source_fps if frame.pts is None else float((frame.pts - start) * time_base)
            decoded += 1
            stats.decoded += 1
            if clock is not None:
                slot = clock.slot(t + early_s)
                if slot < next_slot:
                    continue
                next_slot = slot + 1
                still += clock.standing_still(t)
            yield Frame(index=sampled, t=t, image=frame.to_ndarray(format="bgr24"))
            sampled += 1
            stats.sampled += 1
        if clock is not None:
            stats.still_skipped += max(0, round(clock.still_seconds(t) * clock.fps) - still)
        if decoded == 0:
            raise VideoError(f"{path}: no decodable video frame")
    finally:
        container.close()
        if stats.corrupt > corrupt_before:
            log.warning("%s: skipped %d corrupt packets/frames", path, stats.corrupt - corrupt_before)


def _open(path: str | Path) -> tuple[InputContainer, VideoStream]:
    """Open a video and find its main video stream, or raise VideoError naming the file."""
    name = str(path)
    try:
        container = av.open(name)
    except (FFmpegError, OSError) as err:
        reason = "file is empty" if os.path.isfile(name) and os.path.getsize(name) == 0 else _reason(err)
        raise VideoError(f"{name}: cannot open video: {reason}") from None
    stream = container.streams.best("video")
    if not isinstance(stream, VideoStream) or not stream.width or not _rate(stream):
        container.close()
        problem = "no video stream" if stream is None else "unreadable video stream"
        raise VideoError(f"{name}: {problem}")
    return container, stream


def _reason(err: Exception) -> str:
    """FFmpeg's or the OS's one-line reason, without the errno and file name."""
    return getattr(err, "strerror", None) or str(err)


def time_base_of(stream: VideoStream, name: str | Path) -> Fraction:
    """Seconds per timestamp unit of a stream; VideoError naming the file when it has none."""
    if stream.time_base is None:
        raise VideoError(f"{name}: video stream without a time base")
    return stream.time_base


def _rate(stream: VideoStream) -> float:
    """Average frame rate in frames/s (FFmpeg's guess when the container gives none, else 0)."""
    return float(stream.average_rate or stream.guessed_rate or 0)


def _duration(container: InputContainer, stream: VideoStream) -> float | None:
    """Duration in seconds: the stream's, else the container's, else None."""
    if stream.duration is not None:
        return float(stream.duration * time_base_of(stream, container.name))
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _creation_time(container: InputContainer, stream: VideoStream) -> datetime | None:
    """Recording start from ``creation_time`` metadata (container first, then stream), in UTC."""
    text = container.metadata.get("creation_time") or stream.metadata.get("creation_time")
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _decoded_frames(
    container: InputContainer, stream: VideoStream, stats: DecodeStats, wanted: Callable[[av.Packet], bool]
) -> Iterator[VideoFrame]:
    """Cleanly decoded frames of ``stream``; failed packets and corrupt frames count in ``stats``. A packet
    whose frame is not ``wanted`` is decoded only if other frames are predicted from it."""
    context = stream.codec_context
    try:
        for packet in container.demux(stream):
            context.skip_frame = "DEFAULT" if wanted(packet) else "NONREF"
            yield from _decode(stream, packet, stats)
    except FFmpegError:  # the file is unreadable from here on (e.g. truncated): drain the decoder
        stats.corrupt += 1
        yield from _decode(stream, None, stats)


def _decode(stream: VideoStream, packet: av.Packet | None, stats: DecodeStats) -> Iterator[VideoFrame]:
    """Frames decoded from one packet (None flushes the decoder), skipping corrupt ones."""
    try:
        frames = stream.decode(packet)
    except FFmpegError:
        stats.corrupt += 1
        return
    for frame in frames:
        if frame.is_corrupt:
            stats.corrupt += 1
        else:
            yield frame
