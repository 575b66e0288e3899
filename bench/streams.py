"""How many fixed cameras at 2 frames/s this machine sustains, and their frame lag under that load.

Each camera is the sample patrol clip (1080p, 30 frames/s, H.264) looped as a live source at its own
frame rate, so every camera costs a real-time decode; it is sampled at ``--fps`` by wall clock and
processed by the shipped model (``models/streetscan-v1.pt``, 640 px, CPU), the fixed-camera tracker and the dwell
rules, exactly as the camera supervisor does. Two ways to share the CPU are compared:

- shared: one detector, one inference thread batching the newest frame of every camera (what the
  supervisor runs);
- per-camera: one detector and one inference thread per camera.

A load of N cameras is *sustained* when every camera gets at least 90% of its frames processed
and the 95th percentile frame lag (frame read -> detections ready) is at most two sample periods.
The number of cameras is raised until a load is not sustained. The single-camera run of each mode
is the baseline its figures are compared with.

    python bench/streams.py [--seconds 15] [--fps 2] [--max-cameras 16] [--mode both|shared|per-camera]

Reads the clip from STREETSCAN_SHARED (default ../shared beside the checkout).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vision import (
    CameraPlace,
    CameraWatch,
    Detections,
    Detector,
    DwellRules,
    InferenceLoop,
    LiveFrame,
    StreamReader,
    Taxonomy,
    default_model,
)

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STREETSCAN_SHARED", REPO.parent / "shared"))
CLIP = SHARED / "samples" / "patrol-facades" / "patrol.mp4"
WEIGHTS = default_model()
WARMUP_S = 5.0


@dataclass
class Load:
    """What one run of ``cameras`` cameras achieved; rates in processed frames/s, lags in seconds."""

    cameras: int
    min_rate: float
    total_rate: float
    lag_p50: float
    lag_p95: float
    cpu_cores: float

    def sustained(self, fps: float) -> bool:
        return self.min_rate >= 0.9 * fps and self.lag_p95 <= 2.0 / fps

    def line(self, fps: float) -> str:
        return (
            f"{self.cameras:3d} cameras: {self.total_rate:5.1f} frames/s processed (slowest camera "
            f"{self.min_rate:4.2f}/s), lag p50 {self.lag_p50 * 1000:5.0f} ms p95 {self.lag_p95 * 1000:5.0f} ms, "
            f"{self.cpu_cores:4.2f} CPU cores busy  {'sustained' if self.sustained(fps) else 'NOT sustained'}"
        )


class Camera:
    """One benchmark camera: a reader on the looped clip and the per-camera processing with a lag log."""

    def __init__(self, index: int, loop: InferenceLoop, fps: float, taxonomy: Taxonomy) -> None:
        self.watch = CameraWatch(CameraPlace(35.49, 112.85), DwellRules(), taxonomy, fps)
        self.lags: list[float] = []
        self.recording = False
        mailbox = loop.mailbox()
        self.reader = StreamReader(str(CLIP), fps, mailbox, name=f"bench-camera-{index}")
        loop.attach(index, mailbox, self.handle)

    def handle(self, frame: LiveFrame, detections: Detections, done_at: float) -> None:
        self.watch.update(frame, detections)
        if self.recording:
            self.lags.append(done_at - frame.at)


def run(cameras: int, shared: bool, fps: float, seconds: float, detector: Callable[[], Detector]) -> Load:
    """Run ``cameras`` cameras for ``seconds`` after a warm-up; what they achieved."""
    taxonomy = Taxonomy.load()
    loops = [InferenceLoop(detector)] if shared else [InferenceLoop(detector) for _ in range(cameras)]
    feeds = [Camera(i, loops[0] if shared else loops[i], fps, taxonomy) for i in range(cameras)]
    for feed in feeds:
        feed.reader.start()
    try:
        time.sleep(WARMUP_S)
        for feed in feeds:
            feed.recording = True
        cpu_before, began = _cpu_s(), time.monotonic()
        time.sleep(seconds)
        for feed in feeds:
            feed.recording = False
        elapsed, cpu = time.monotonic() - began, _cpu_s() - cpu_before
    finally:
        for feed in feeds:
            feed.reader.stop()
        for loop in loops:
            loop.stop()
        for feed in feeds:
            feed.reader.join(10)
        for loop in loops:
            loop.join(30)
    errors = {loop.error for loop in loops if loop.error}
    if errors:
        raise SystemExit(f"inference failed: {errors}")
    lags = np.concatenate([feed.lags for feed in feeds]) if any(feed.lags for feed in feeds) else np.array([np.inf])
    return Load(
        cameras=cameras,
        min_rate=min(len(feed.lags) for feed in feeds) / elapsed,
        total_rate=sum(len(feed.lags) for feed in feeds) / elapsed,
        lag_p50=float(np.percentile(lags, 50)),
        lag_p95=float(np.percentile(lags, 95)),
        cpu_cores=cpu / elapsed,
    )


def _cpu_s() -> float:
    """CPU seconds this process has used, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ramp(shared: bool, fps: float, seconds: float, max_cameras: int) -> tuple[Load, Load | None]:
    """The single-camera baseline and the largest sustained load (None when not even one camera is)."""
    shared_model = Detector(WEIGHTS) if shared else None

    def load() -> Detector:
        return shared_model if shared_model is not None else Detector(WEIGHTS)

    name = "shared detector" if shared else "detector per camera"
    print(f"--- {name}")
    baseline = best = run(1, shared, fps, seconds, load)
    print(baseline.line(fps), flush=True)
    if not baseline.sustained(fps):
        return baseline, None
    cameras, low, high = 2, 1, None
    while cameras <= max_cameras:
        result = run(cameras, shared, fps, seconds, load)
        print(result.line(fps), flush=True)
        if result.sustained(fps):
            best, low = result, cameras
        else:
            high = cameras
        if high is not None and high - low <= 1:
            break
        cameras = (low + high) // 2 if high is not None else cameras * 2
    return baseline, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per load (after a warm-up)")
    parser.add_argument("--fps", type=float, default=2.0, help="frames per second analysed per camera")
    parser.add_argument("--max-cameras", type=int, default=16)
    parser.add_argument("--mode", choices=["both", "shared", "per-camera"], default="both")
    args = parser.parse_args()
    print(f"{CLIP.name} looped live per camera, {WEIGHTS.name} on CPU, {os.cpu_count()} CPUs, {args.fps:g} frames/s")
    modes = {"both": [True, False], "shared": [True], "per-camera": [False]}[args.mode]
    summary = []
    for shared in modes:
        baseline, best = ramp(shared, args.fps, args.seconds, args.max_cameras)
        summary.append((shared, baseline, best))
    print("--- summary")
    for shared, baseline, best in summary:
        name = "shared detector    " if shared else "detector per camera"
        if best is None:
            print(f"{name}: not even one camera sustained")
            continue
        print(
            f"{name}: {best.cameras} cameras sustained; lag p50 {best.lag_p50 * 1000:.0f} ms "
            f"p95 {best.lag_p95 * 1000:.0f} ms ({best.lag_p95 / baseline.lag_p95:.1f}x the single-camera p95 "
            f"of {baseline.lag_p95 * 1000:.0f} ms); {best.total_rate / baseline.total_rate:.1f}x the "
            f"single-camera throughput"
        )


if __name__ == "__main__":
    main()
