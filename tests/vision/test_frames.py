"""vision.frames: probing, timestamp-based sampling, containers and codecs, broken input."""

from __future__ import annotations

import errno
import logging
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest
from av.container import InputContainer
from av.video.stream import VideoStream

from tests.vision.conftest import MakeVideo, has_encoder, run_ffmpeg
from vision import frames
from vision.frames import DecodeStats, VideoError, iter_frames, probe, verify

FIVE_FPS_3S = [round(0.2 * k, 6) for k in range(15)]  # slot times of 3 s sampled at 5 fps
MAY_9_0930_UTC = datetime(2025, 5, 9, 9, 30, tzinfo=UTC)


def times(path: Path, fps: float | None = 5.0, stats: DecodeStats | None = None) -> list[float]:
    """Timestamps (s, rounded to 1 us) of the frames iter_frames yields."""
    return [round(frame.t, 6) for frame in iter_frames(path, fps, stats)]


def test_samples_constant_rate_clip_by_timestamp(make_video: MakeVideo) -> None:
    path = make_video("clip.mp4")
    stats = DecodeStats()
    sampled = list(iter_frames(path, 5.0, stats))
    assert [f.index for f in sampled] == list(range(15))
    assert [round(f.t, 6) for f in sampled] == FIVE_FPS_3S
    assert all(f.image.shape == (120, 160, 3) and f.image.dtype == np.uint8 for f in sampled)
    assert (stats.sampled, stats.corrupt) == (15, 0)
    assert stats.decoded < 90  # B-frames between samples that no frame is predicted from are not decoded


def test_skipping_frames_between_samples_changes_no_sampled_frame(make_video: MakeVideo) -> None:
    path = make_video("clip.mp4", args=("-bf", "3"))
    every = {round(f.t, 6): f.image for f in iter_frames(path, None)}
    stats = DecodeStats()
    sampled = list(iter_frames(path, 5.0, stats))
    assert stats.decoded < len(every)
    assert [round(f.t, 6) for f in sampled] == FIVE_FPS_3S
    for frame in sampled:
        np.testing.assert_array_equal(frame.image, every[round(frame.t, 6)])


def test_image_is_bgr(make_video: MakeVideo) -> None:
    path = make_video("red.mp4", seconds=1, source="color=c=red")
    blue, green, red = next(iter_frames(path)).image[60, 80].astype(int)
    assert red > 200 and blue < 50 and green < 50


@pytest.mark.parametrize("fps", [None, 30.0, 60.0])
def test_every_frame_at_or_above_source_rate(make_video: MakeVideo, fps: float | None) -> None:
    # MKV rounds timestamps to whole milliseconds (0, 33, 67, 100 ...): none may be lost.
    path = make_video("clip.mkv", seconds=1)
    got = times(path, fps)
    assert len(got) == 30 and got == sorted(got)


def test_millisecond_timestamps_sample_evenly(make_video: MakeVideo) -> None:
    path = make_video("clip.mkv", seconds=1)
    assert times(path, 15.0) == [round(round(k * 1000 / 15) / 1000, 6) for k in range(15)]


def test_variable_frame_rate_uses_presentation_timestamps(make_video: MakeVideo) -> None:
    # 30 fps, except only 1.0 s and 1.5 s survive in the middle second (2 fps there).
    select = r"select='lt(t\,1)+gte(t\,2)+not(mod(n\,15))'"
    path = make_video("vfr.mp4", args=("-vf", select, "-fps_mode", "vfr"))
    stats = DecodeStats()
    assert times(path, 5.0, stats) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0, 2.2, 2.4, 2.6, 2.8]
    assert stats.decoded < 62  # of 62 frames
    assert probe(path).fps == pytest.approx(62 / 3)


def test_frames_without_timestamps_use_index_and_average_rate(make_video: MakeVideo) -> None:
    path = make_video("clip.h264")  # a raw H.264 stream carries no timestamps
    assert times(path, None) == [round(i / probe(path).fps, 6) for i in range(90)]


@pytest.mark.parametrize(
    ("name", "codec", "decoder"),
    [
        ("clip.mkv", "libx264", "h264"),
        ("clip.ts", "libx264", "h264"),
        ("clip.mov", "libx264", "h264"),
        ("clip.avi", "mjpeg", "mjpeg"),
    ],
)
def test_containers(make_video: MakeVideo, name: str, codec: str, decoder: str) -> None:
    path = make_video(name, codec=codec)
    info = probe(path)
    assert (info.width, info.height, info.fps, info.codec) == (160, 120, 30.0, decoder)
    assert info.duration_s == pytest.approx(3.0, abs=0.1)
    assert times(path) == FIVE_FPS_3S


def test_h265(make_video: MakeVideo) -> None:
    if not has_encoder("libx265"):
        pytest.skip("ffmpeg has no libx265 encoder")
    path = make_video("hevc.mp4", seconds=1, codec="libx265", args=("-x265-params", "log-level=error"))
    assert probe(path).codec == "hevc"
    assert times(path) == [0.0, 0.2, 0.4, 0.6, 0.8]


@pytest.mark.parametrize(
    ("name", "option", "value", "expected"),
    [
        ("clip.mp4", "-metadata", "creation_time=2025-05-09T09:30:00Z", MAY_9_0930_UTC),
        ("clip.nut", "-metadata:s:v", "creation_time=2025-05-09T11:30:00+02:00", MAY_9_0930_UTC),
        ("clip.nut", "-metadata", "creation_time=yesterday", None),
        ("clip.mp4", "-metadata", "title=no time", None),
    ],
)
def test_start_time_from_creation_time(
    make_video: MakeVideo, name: str, option: str, value: str, expected: datetime | None
) -> None:
    path = make_video(name, seconds=1, args=(option, value))
    assert probe(path).start_time == expected


def make_broken(kind: str, tmp_path: Path, make_video: MakeVideo) -> Path:
    """A file that is no readable video: missing, empty, text, truncated or audio-only."""
    path = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        path.touch()
    elif kind == "text":
        path.write_text("not a video\n")
    elif kind == "truncated":
        path = make_video(path.name, seconds=1)
        path.write_bytes(path.read_bytes()[:300])
    elif kind == "audio-only":
        run_ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(path))
    return path


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "truncated", "audio-only"])
def test_broken_input_raises_video_error_naming_the_file(tmp_path: Path, make_video: MakeVideo, kind: str) -> None:
    path = make_broken(kind, tmp_path, make_video)
    with pytest.raises(VideoError, match=path.name):
        probe(path)
    with pytest.raises(VideoError, match=path.name):
        next(iter_frames(path))


def test_no_decodable_frame_raises_video_error(make_video: MakeVideo) -> None:
    path = make_video("blank.mp4", seconds=1)
    data = bytearray(path.read_bytes())
    box = data.index(b"mdat") - 4  # the media data box: 4-byte size, type, then the coded pictures
    size = int.from_bytes(data[box : box + 4], "big")
    data[box + 8 : box + size] = bytes(size - 8)  # headers intact, every picture zeroed
    path.write_bytes(data)
    assert probe(path).codec == "h264"
    with pytest.raises(VideoError, match=r"blank\.mp4"):
        list(iter_frames(path))


def test_corrupted_middle_is_skipped_and_reported(make_video: MakeVideo, caplog: pytest.LogCaptureFixture) -> None:
    path = make_video("damaged.ts", args=("-g", "15"))
    data = bytearray(path.read_bytes())
    noise = random.Random(0)
    for start in (len(data) // 3, len(data) // 2, 2 * len(data) // 3):
        data[start : start + 3000] = noise.randbytes(3000)
    path.write_bytes(data)
    stats = DecodeStats()
    with caplog.at_level(logging.WARNING, logger="vision.frames"):
        got = times(path, 5.0, stats)
    assert len(got) == 15 and got == sorted(got)
    assert stats.corrupt > 0
    assert [r.getMessage() for r in caplog.records] == [f"{path}: skipped {stats.corrupt} corrupt packets/frames"]


def test_truncated_file_yields_what_it_can(make_video: MakeVideo, caplog: pytest.LogCaptureFixture) -> None:
    path = make_video("cut.mp4", args=("-movflags", "+faststart"))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    stats = DecodeStats()
    with caplog.at_level(logging.WARNING, logger="vision.frames"):
        got = times(path, 5.0, stats)
    assert 0 < len(got) < 15 and got == FIVE_FPS_3S[: len(got)]
    assert stats.corrupt > 0 and "cut.mp4" in caplog.text


def test_verify_finds_what_probe_misses(make_video: MakeVideo, tmp_path: Path) -> None:
    path = make_video("cut.mp4", args=("-movflags", "+faststart"))
    assert verify(path) == probe(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert probe(path).duration_s == 3  # the header still promises the whole clip
    with pytest.raises(VideoError, match=r"cut.mp4: truncated: \d+ of 90 frames present"):
        verify(path)
    for kind in ("empty", "text", "audio-only"):
        with pytest.raises(VideoError, match=f"{kind}.mp4"):
            verify(make_broken(kind, tmp_path, make_video))


class FailingRead:
    """A container whose reads fail after ``packets`` packets, like a disk or network error."""

    def __init__(self, container: InputContainer, packets: int) -> None:
        self.container, self.packets = container, packets

    def demux(self, stream: VideoStream) -> Iterator[av.Packet]:
        for count, packet in enumerate(self.container.demux(stream)):
            if count == self.packets:
                raise av.error.OSError(errno.EIO, "Input/output error")
            yield packet

    def close(self) -> None:
        self.container.close()


def test_read_error_ends_the_stream_with_what_was_read(
    make_video: MakeVideo, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = make_video("clip.mp4", seconds=1, args=("-bf", "0"))  # packets in presentation order
    real_open = frames._open

    def open_failing(video: Path) -> tuple[FailingRead, VideoStream]:
        container, stream = real_open(video)
        return FailingRead(container, 10), stream

    monkeypatch.setattr(frames, "_open", open_failing)
    stats = DecodeStats()
    assert times(path, None, stats) == [round(i / 30, 6) for i in range(10)]
    assert stats.corrupt == 1 and "clip.mp4" in caplog.text


def _open_paths() -> set[str]:
    """Real paths of every file this process has open."""
    fds = Path("/proc/self/fd")
    return {os.path.realpath(fds / fd) for fd in os.listdir(fds)}


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to list open files")
def test_closing_the_generator_early_releases_the_file(make_video: MakeVideo) -> None:
    path = str(make_video("clip.mp4").resolve())
    sampled = iter_frames(path)
    next(sampled)
    assert path in _open_paths()
    sampled.close()
    assert path not in _open_paths()


def test_rejects_non_positive_fps(make_video: MakeVideo) -> None:
    with pytest.raises(ValueError):
        next(iter_frames(make_video("clip.mp4", seconds=1), fps=0))


def test_probe_patrol_sample(patrol_dir: Path) -> None:
    info = probe(patrol_dir / "patrol.mp4")
    assert (info.width, info.height, info.codec, info.start_time) == (1920, 1080, "h264", None)
    assert info.fps == pytest.approx(30, abs=0.1)
    assert info.duration_s == pytest.approx(40, abs=0.5)
