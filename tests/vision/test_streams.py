"""Live sources: wall-clock sampling, file looping, the newest-wins mailbox, reconnect with backoff."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.polling import wait_until
from tests.vision.conftest import MakeVideo
from vision.streams import (
    Backoff,
    LatestFrame,
    LiveFrame,
    StreamError,
    StreamReader,
    StreamState,
    file_path,
    read_live,
)


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [Backoff(0.5, 3.0).delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert Backoff(1, 30).delay(10_000) == 30


def test_mailbox_keeps_only_the_newest_frame() -> None:
    box = LatestFrame()
    image = np.zeros((2, 2, 3), np.uint8)
    assert box.take() is None
    for t in (1.0, 2.0, 3.0):
        box.put(LiveFrame(t, image))
    assert box.ready.is_set() and box.dropped == 2
    assert box.take().at == 3.0 and box.take() is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://cam/1", None),
        ("https://cam/1.m3u8", None),
        ("file:///v/a.mp4", Path("/v/a.mp4")),
        ("a.mp4", Path("a.mp4")),
    ],
)
def test_file_path(url: str, expected: Path | None) -> None:
    assert file_path(url) == expected


def test_a_file_is_looped_and_sampled_by_wall_clock(make_video: MakeVideo) -> None:
    clip = make_video("one-second.mp4", seconds=1, rate=10)
    stop = threading.Event()
    began = time.time()
    frames = []
    for frame in read_live(str(clip), fps=4, stop=stop):
        frames.append(frame)
        if frame.at - began > 2.6:
            break
    assert frame.image.shape == (120, 160, 3)
    slots = [int(f.at * 4) for f in frames]
    assert slots == sorted(set(slots))  # never two frames in one 1/4 s slot, so at most 4 per wall-clock second
    assert len(frames) >= 9  # and most slots get one, over more than two loops of the one-second clip


def test_a_missing_file_is_a_stream_error(tmp_path: Path) -> None:
    with pytest.raises(StreamError, match=r"gone\.mp4"):
        next(read_live(str(tmp_path / "gone.mp4"), fps=2, stop=threading.Event()))


def test_reader_goes_live_and_stops(make_video: MakeVideo) -> None:
    box = LatestFrame()
    reader = StreamReader(str(make_video("clip.mp4", seconds=1, rate=10)), fps=5, mailbox=box)
    assert reader.status.state == StreamState.connecting
    reader.start()
    try:
        wait_until(lambda: reader.status.frames >= 3, 10)
        status = reader.status
        assert status.state == StreamState.live and status.last_frame_at is not None and status.reconnects == 0
        assert box.take() is not None
    finally:
        reader.stop()
        reader.join(5)
    stopped = reader.status  # a new snapshot
    assert stopped.state == StreamState.stopped


def test_reader_retries_a_failing_source_with_backoff(tmp_path: Path) -> None:
    reader = StreamReader(str(tmp_path / "gone.mp4"), fps=2, mailbox=LatestFrame(), backoff=Backoff(0.05, 0.2))
    reader.start()
    try:
        wait_until(lambda: reader.status.reconnects >= 3, 10)
        status = reader.status
        assert status.state == StreamState.reconnecting and "gone.mp4" in (status.last_error or "")
    finally:
        reader.stop()
        reader.join(5)


def test_reader_stays_off_outside_its_schedule(make_video: MakeVideo) -> None:
    on = threading.Event()
    reader = StreamReader(str(make_video("clip.mp4", seconds=1, rate=10)), 5, LatestFrame(), active=on.is_set)
    reader.start()
    try:
        wait_until(lambda: not reader.status.in_schedule, 10)
        assert reader.status.state == StreamState.stopped and reader.status.frames == 0
        on.set()
        wait_until(lambda: reader.status.frames >= 1, 10)
        running = reader.status  # a new snapshot
        assert running.in_schedule and running.state == StreamState.live
    finally:
        reader.stop()
        reader.join(5)
