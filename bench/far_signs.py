"""Far, small signs through the whole `streetscan scan`: recall per distance and pixel-height band, today's
settings (one 640-px pass, ``--no-focus``) against the default (with the focus window), in one run.

Clips:
- forward drive: the facade val photos rendered as a forward-looking 1080p30 drive at 8 m/s with exact
  ground truth (``vision/training/forward_drive.py``), made once into ``--cache``;
- the sample side-looking patrol clip (``samples/patrol-facades``, camera facing right): today, the
  default with ``--mount right`` (no window), a window asked for, and the forward window (no ``--mount``).

How a sign counts as found (object level): an observation with a sign-like label (shop_sign,
projecting_sign, window_ad, lightbox) matches the labeled sign whose box, in the observation's best frame,
overlaps its best box most, when that IoU is at least 0.3. A sign is found when an observation matches it.
- by size: each sign falls in the band of the largest height (pixels) it reaches while wholly in view;
  "< 48 px" is every sign the clip never shows taller than 48 px;
- by distance / by height at the time (forward drive): a sign is in a band for the frames it is wholly in
  view at that distance (metres from the camera) or height; it is found in that band when a matching
  observation's track (t_first..t_last) overlaps those frames. Spans shorter than 0.4 s are not counted.
Also printed: extra observations of found signs (duplicates), sign observations matching no sign, the
wall time per sampled frame of each scan (decode, detect, track, write), and the ratio of the last run's
recall to the first's.

    python bench/far_signs.py [--cache DIR] [--seconds 60] [--weights PT] [--skip-patrol]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("YOLO_OFFLINE", "1")

from vision import iou_matrix  # noqa: E402
from vision.regions import SIGN_LABELS  # noqa: E402
from vision.training.forward_drive import (  # noqa: E402
    DISTANCE,
    HEIGHT,
    MATCH_IOU,
    DriveSettings,
    DriveTruth,
    ensure_drive,
    open_split,
)

SHARED = Path(os.environ.get("STREETSCAN_SHARED", REPO.parent / "shared"))
HEIGHT_BANDS = [(0, 24), (24, 48), (48, 96), (96, 10_000)]
DISTANCE_BANDS = [(0, 15), (15, 30), (30, 60), (60, 10_000)]
PATROL_PAN_PX_PER_S = 897.5  # the patrol clip scrolls its facade strip right to left at 4 m/s
PATROL_SIGNS = {"signboard", "cantilever", "win_ad"}


@dataclass
class Run:
    """One scan: its observations and wall time per sampled frame."""

    name: str
    observations: list[dict[str, Any]]
    frames: int
    seconds: float

    @property
    def ms_per_frame(self) -> float:
        return self.seconds / max(self.frames, 1) * 1000


def scan(video: Path, gps: Path, out: Path, name: str, extra: list[str], weights: Path | None) -> Run:
    """`streetscan scan` as a user runs it; its summary line gives frames and seconds."""
    cmd = [sys.executable, "-m", "service.cli", "scan", str(video), "--gps", str(gps), "--out", str(out), "--quiet"]
    cmd += (["--model", str(weights)] if weights else []) + extra
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"scan failed ({' '.join(extra)}): {proc.stderr}")
    summary = re.search(r"from (\d+) frames in ([\d.]+) s", proc.stderr)
    if summary is None:
        raise SystemExit(f"no summary line in: {proc.stderr}")
    lines = (out / "observations.jsonl").read_text(encoding="utf-8").splitlines()
    return Run(name, [json.loads(line) for line in lines], int(summary[1]), float(summary[2]))


def sign_observations(run: Run) -> list[dict[str, Any]]:
    return [o for o in run.observations if o["label"] in SIGN_LABELS]


def band_name(lo: float, hi: float, unit: str) -> str:
    return f">= {lo:g} {unit}" if hi >= 10_000 else f"< {hi:g} {unit}" if lo == 0 else f"{lo:g}-{hi:g} {unit}"


def print_table(title: str, bands: list[str], rows: dict[str, list[tuple[int, int]]]) -> None:
    """rows: run name -> (found, total) per band."""
    print(f"\n{title}")
    print(f"{'band':16s}" + "".join(f"{name:>18s}" for name in rows) + f"{'last/1st':>9s}")
    for b, band in enumerate(bands):
        cells = [rows[name][b] for name in rows]
        recalls = [f / t if t else float("nan") for f, t in cells]
        ratio = recalls[-1] / recalls[0] if recalls[0] else float("inf") if recalls[-1] else float("nan")
        print(
            f"{band:16s}" + "".join(f"{r:8.2f} ({f:3d}/{t:3d})" for r, (f, t) in zip(recalls, cells)) + f"{ratio:9.2f}"
        )


def forward_drive(args: argparse.Namespace, runs: dict[str, list[str]]) -> None:
    """Recall per band on the forward drive, for each run's scan options (the first is the baseline)."""
    split = open_split(SHARED / "datasets" / "facade-ads" / "data.yaml", "val")
    files = ensure_drive(split, args.cache, DriveSettings(seconds=args.seconds))
    truth = DriveTruth(files.truth)
    print(
        f"forward drive: {files.video} ({args.seconds:g} s at 8 m/s, 1920x1080), "
        f"{len(truth.signs)} labeled signs in view"
    )
    with tempfile.TemporaryDirectory() as tmp:
        done = [
            scan(files.video, files.gps, Path(tmp) / name, name, extra, args.weights) for name, extra in runs.items()
        ]
    biggest = np.array([rows[:, HEIGHT].max() for rows in truth.rows])
    by_size: dict[str, list[tuple[int, int]]] = {}
    by_distance: dict[str, list[tuple[int, int]]] = {}
    by_height: dict[str, list[tuple[int, int]]] = {}
    for run in done:
        matched, unmatched = truth.matched(run.observations)
        by_size[run.name] = []
        for lo, hi in HEIGHT_BANDS:
            members = np.flatnonzero((biggest >= lo) & (biggest < hi))
            by_size[run.name].append((sum(int(i) in matched for i in members), len(members)))
        for table, column, bands in ((by_distance, DISTANCE, DISTANCE_BANDS), (by_height, HEIGHT, HEIGHT_BANDS)):
            table[run.name] = [truth.followed(matched, column, lo, hi) for lo, hi in bands]
        small = np.flatnonzero(biggest < 48)
        extra = sum(len(v) - 1 for v in matched.values())
        print(
            f"  {run.name}: {len(run.observations)} observations, {len(sign_observations(run))} of signs; found "
            f"{len(matched)} of {len(truth.signs)} signs, {sum(int(i) in matched for i in small)} of {len(small)} "
            f"smaller than 48 px; {extra} extra observations of found signs, {unmatched} matching no sign; "
            f"{run.ms_per_frame:.0f} ms per sampled frame ({run.frames} frames)"
        )
    print_table(
        "signs found, by the largest height they reach in view",
        [band_name(lo, hi, "px") for lo, hi in HEIGHT_BANDS],
        by_size,
    )
    print_table(
        "signs followed while at this distance", [band_name(lo, hi, "m") for lo, hi in DISTANCE_BANDS], by_distance
    )
    print_table("signs followed while this high", [band_name(lo, hi, "px") for lo, hi in HEIGHT_BANDS], by_height)
    base, new = done[0], done[-1]
    print(
        f"\ncost: {base.ms_per_frame:.0f} vs {new.ms_per_frame:.0f} ms per sampled frame, "
        f"x{new.ms_per_frame / base.ms_per_frame:.2f}"
    )


PATROL_RUNS = {  # the camera faces right of travel
    "today": ["--no-focus", "--mount", "right"],
    "default, right": ["--mount", "right"],
    "right, window": ["--mount", "right", "--focus-width", "0.3333"],
    "forward window": [],
}


def patrol(args: argparse.Namespace, runs: dict[str, list[str]]) -> None:
    """Signs of the side-looking sample clip found per height, for each run's scan options."""
    folder = SHARED / "samples" / "patrol-facades"
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    signs = [o for o in truth["objects"] if o["class"] in PATROL_SIGNS and o["visible_s"][1] - o["visible_s"][0] >= 1.0]
    boxes = np.asarray([o["strip_box"] for o in signs], np.float32)
    heights = boxes[:, 3] - boxes[:, 1]
    print(f"\nside-looking patrol clip: {folder / 'patrol.mp4'}, {len(signs)} labeled signs in view >= 1 s")
    rows: dict[str, list[tuple[int, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in runs.items():
            run = scan(folder / "patrol.mp4", folder / "patrol.gpx", Path(tmp) / name, name, extra, args.weights)
            found: set[int] = set()
            for o in sign_observations(run):
                shift = PATROL_PAN_PX_PER_S * o["t_best"]
                strip_box = np.asarray([o["bbox"]], np.float32) + np.array([shift, 0, shift, 0], np.float32)
                iou = iou_matrix(strip_box, boxes)[0]
                if iou.max() >= MATCH_IOU:
                    found.add(int(np.argmax(iou)))
            rows[name] = [
                (
                    sum(i in found for i in np.flatnonzero((heights >= lo) & (heights < hi))),
                    int(((heights >= lo) & (heights < hi)).sum()),
                )
                for lo, hi in HEIGHT_BANDS
            ]
            print(
                f"  {name} ({' '.join(extra)}): found {len(found)} of {len(signs)} signs; "
                f"{run.ms_per_frame:.0f} ms per sampled frame"
            )
    print_table("signs found, by height", [band_name(lo, hi, "px") for lo, hi in HEIGHT_BANDS], rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cache", type=Path, default=REPO / ".cache" / "forward-drive", help="where the drive clip is kept")
    p.add_argument("--seconds", type=float, default=60.0, help="length of the forward drive")
    p.add_argument("--weights", type=Path, default=None, help="model (default: the shipped one)")
    p.add_argument("--skip-patrol", action="store_true", help="only the forward drive")
    args = p.parse_args(argv)
    forward_drive(args, {"today (--no-focus)": ["--no-focus"], "default (focus)": []})
    if not args.skip_patrol:
        patrol(args, PATROL_RUNS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
