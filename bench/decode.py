"""Decode speed of ``iter_frames`` at 5 fps against a plain single-threaded PyAV decode.

Reads ``samples/patrol-facades/patrol_hq.mp4`` (20 s of 1080p at a dashcam's bitrate) from
``$STREETSCAN_SHARED`` (default: ``shared`` beside the repository). A threaded decode of every
frame separates the gain of threading from that of converting only the sampled frames. Each
case runs REPEATS times and its fastest run counts.

    python bench/decode.py
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import av

from vision import DecodeStats, iter_frames, probe

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STREETSCAN_SHARED", REPO.parent / "shared"))
CLIP = SHARED / "samples" / "patrol-facades" / "patrol_hq.mp4"
SAMPLE_FPS = 5.0
REPEATS = 2


def plain_decode(threaded: bool) -> int:
    """Decode every frame and turn each into a BGR ndarray. Returns frames decoded."""
    decoded = 0
    with av.open(str(CLIP)) as container:
        stream = container.streams.video[0]
        if threaded:
            stream.thread_type = "AUTO"
        else:
            stream.codec_context.thread_count = 1
        for frame in container.decode(stream):
            frame.to_ndarray(format="bgr24")
            decoded += 1
    return decoded


def sampled_decode() -> int:
    """``iter_frames`` at SAMPLE_FPS: threaded, only sampled frames become ndarrays. Returns frames decoded."""
    stats = DecodeStats()
    for _ in iter_frames(CLIP, SAMPLE_FPS, stats):
        pass
    return stats.decoded


def main() -> None:
    info = probe(CLIP)
    print(f"{CLIP.name}: {info.width}x{info.height} {info.codec} {info.fps:g} fps {info.duration_s:g} s")
    cases: dict[str, Callable[[], int]] = {
        "baseline: 1 thread, every frame to ndarray": lambda: plain_decode(False),
        "threaded, every frame to ndarray": lambda: plain_decode(True),
        f"iter_frames(fps={SAMPLE_FPS:g})": sampled_decode,
    }
    best_s = dict.fromkeys(cases, math.inf)
    decoded = {}
    for _ in range(REPEATS):  # round-robin, so a change in machine load hits every case alike
        for name, run in cases.items():
            start = time.perf_counter()
            decoded[name] = run()
            best_s[name] = min(best_s[name], time.perf_counter() - start)
    baseline_s = next(iter(best_s.values()))
    for name, seconds in best_s.items():
        print(
            f"{name:45s} {seconds:6.2f} s  {decoded[name] / seconds:6.1f} frames/s"
            f"  {(info.duration_s or 0.0) / seconds:5.2f}x real time  {baseline_s / seconds:5.2f}x baseline"
        )


if __name__ == "__main__":
    main()
