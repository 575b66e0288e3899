"""Memory of `streetscan scan` stays flat however long the video: peak RSS on the 40 s sample clip
(baseline) against the same clip looped to N minutes, both scanned in this run.

    python bench/scan_memory.py [--minutes 10] [--fps 1]

Reads the sample clip and COCO weights from STREETSCAN_SHARED (default ../shared beside the checkout).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STREETSCAN_SHARED", REPO.parent / "shared"))
CLIP = SHARED / "samples" / "patrol-facades" / "patrol.mp4"
WEIGHTS = SHARED / "models" / "yolo11n-coco.pt"
PERSONS = REPO / "tests" / "vision" / "data" / "person-taxonomy.yaml"


def peak_rss_mb(video: Path, out: Path, fps: float) -> tuple[float, float]:
    """Scan one video in a child process; (peak resident memory in MiB, wall seconds)."""
    cmd = [
        sys.executable,
        "-m",
        "service.cli",
        "scan",
        str(video),
        "--model",
        str(WEIGHTS),
        "--taxonomy",
        str(PERSONS),
        "--fps",
        str(fps),
        "--out",
        str(out),
        "--quiet",
    ]
    began = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True)
    child, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            peak = max(peak, child.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    if proc.returncode != 0:
        raise SystemExit(f"scan failed: {proc.stderr.read() if proc.stderr else proc.returncode}")
    return peak / 2**20, time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the looped video")
    parser.add_argument("--fps", type=float, default=1.0, help="sampled frames per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        long_video = Path(tmp) / "long.mp4"
        loops = max(1, round(args.minutes * 60 / 40)) - 1
        subprocess.run(
            ["ffmpeg", "-v", "error", "-stream_loop", str(loops), "-i", str(CLIP), "-c", "copy", str(long_video)],
            check=True,
        )
        base, base_s = peak_rss_mb(CLIP, Path(tmp) / "short", args.fps)
        peak, peak_s = peak_rss_mb(long_video, Path(tmp) / "long", args.fps)
    print(f"peak RSS, 40 s clip (baseline): {base:.0f} MiB in {base_s:.0f} s")
    print(f"peak RSS, {(loops + 1) * 40 / 60:.0f} min video: {peak:.0f} MiB in {peak_s:.0f} s")
    print(f"ratio long/short: {peak / base:.2f} (1.00 = flat)")


if __name__ == "__main__":
    main()
