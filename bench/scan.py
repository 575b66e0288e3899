"""Scan speed: ``streetscan scan`` against the naive Ultralytics loop with the same weights, same clip, same run.

The naive loop is ``YOLO(weights).predict(video, stream=True, vid_stride=6)``: every 6th frame of the 30 fps
clips (5 frames/s, the scan's default rate), one after the other on one thread. The scan runs the real
pipeline with default settings (keyframes on) and the GPS track, and reports where its time goes.

Clips, built once (losslessly: the packets are copied, not re-encoded) into ``$STREETSCAN_BENCH_CACHE``
(default ``.cache/bench`` in the repository), from ``$STREETSCAN_SHARED/samples/patrol-facades``:
  light  patrol.mp4 (1080p30, 1.3 Mbit/s) 4 times over: 160 s, its GPS track continued for 160 s;
  hq     patrol_hq.mp4 (the first 20 s at 12 Mbit/s, B-frames) 4 times over: 80 s, and its track likewise.

    python bench/scan.py [--clips light hq] [--loops 4] [--model PATH] [--no-naive]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from vision.defaults import default_model
from vision.frames import probe
from vision.geo import GpsTrack, load_track
from vision.pipeline import ScanSummary

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STREETSCAN_SHARED", REPO.parent / "shared"))
SAMPLES = SHARED / "samples" / "patrol-facades"
CACHE = Path(os.environ.get("STREETSCAN_BENCH_CACHE", REPO / ".cache" / "bench"))
SOURCES = {"light": SAMPLES / "patrol.mp4", "hq": SAMPLES / "patrol_hq.mp4"}
NAIVE_STRIDE = 6


def looped_video(source: Path, loops: int, out: Path) -> Path:
    """``source`` ``loops`` times over, packets copied by ffmpeg's concat demuxer (no re-encoding)."""
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
            listing.write(f"file '{source.resolve()}'\n" * loops)
        partial = out.with_suffix(".part.mp4")
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                listing.name,
                "-c",
                "copy",
                str(partial),
            ],
            check=True,
        )
        os.unlink(listing.name)
        partial.rename(out)
    return out


def looped_track(track: GpsTrack, seconds: float, loops: int, out: Path) -> Path:
    """The first ``seconds`` of ``track`` driven ``loops`` times in a row: each lap starts where the last ended,
    so the car goes on along the street at the same speed. Written as GPX."""
    keep = track.t <= track.t[0] + seconds
    t, lat, lon = track.t[keep], track.lat[keep], track.lon[keep]
    span, dlat, dlon = t[-1] - t[0], lat[-1] - lat[0], lon[-1] - lon[0]
    points = []
    for lap in range(loops):
        for k in range(1 if lap else 0, len(t)):  # a lap's first fix is the last lap's last
            when = track.start + timedelta(seconds=float(t[k] - t[0] + lap * span))
            points.append(
                f'<trkpt lat="{lat[k] + lap * dlat:.7f}" lon="{lon[k] + lap * dlon:.7f}">'
                f"<time>{when.isoformat().replace('+00:00', 'Z')}</time></trkpt>"
            )
    out.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="bench" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>\n' + "\n".join(points) + "\n</trkseg></trk></gpx>\n",
        encoding="utf-8",
    )
    return out


def build_clip(name: str, loops: int) -> tuple[Path, Path]:
    """(video, GPX track) of clip ``name`` looped ``loops`` times, from the cache when already built."""
    source = SOURCES[name]
    video = looped_video(source, loops, CACHE / f"{name}-x{loops}.mp4")
    duration = probe(source).duration_s or 0.0
    track = looped_track(load_track(SAMPLES / "patrol.gpx"), duration, loops, CACHE / f"{name}-x{loops}.gpx")
    return video, track


def naive_loop(video: Path, weights: Path) -> tuple[float, int]:
    """(wall seconds, frames) of Ultralytics' own streaming predict over the video at every 6th frame."""
    from ultralytics import YOLO

    began = time.perf_counter()
    frames = sum(1 for _ in YOLO(str(weights)).predict(str(video), stream=True, vid_stride=NAIVE_STRIDE, verbose=False))
    return time.perf_counter() - began, frames


def scan_run(video: Path, track: Path, weights: Path, work: Path) -> ScanSummary:
    """The real ``streetscan scan`` pipeline with default settings; returns its ScanSummary."""
    from vision.pipeline import ScanOptions, scan

    return scan(video, work, ScanOptions(model=weights), load_track(track))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="+", choices=sorted(SOURCES), default=["light", "hq"])
    parser.add_argument("--loops", type=int, default=4, help="times each sample clip is repeated (default 4)")
    parser.add_argument("--model", type=Path, default=None, help="weights (default: the shipped model)")
    parser.add_argument("--no-naive", action="store_true", help="scan only (no ratio)")
    args = parser.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torchvision  # noqa: F401  # imported before either run is timed (Ultralytics needs it), so neither pays
    import ultralytics  # noqa: F401

    import vision.pipeline  # noqa: F401

    weights = args.model or default_model()
    print(f"load average at start: {os.getloadavg()[0]:.2f}; model {weights.name}")
    for name in args.clips:
        video, track = build_clip(name, args.loops)
        info = probe(video)
        seconds = info.duration_s or 0.0
        print(f"\n{name}: {video.name} {info.width}x{info.height} {info.fps:g} fps {seconds:g} s")
        cpu = time.process_time()
        with tempfile.TemporaryDirectory() as work:
            summary = scan_run(video, track, weights, Path(work))
        cpu = time.process_time() - cpu
        print(
            f"  streetscan scan   {summary.elapsed_s:6.1f} s  {seconds / summary.elapsed_s:5.2f}x real time  "
            f"CPU {cpu:6.1f} s  ({summary.frames} frames, {summary.observations} observations)"
        )
        for stage, spent in summary.stages.items():
            print(f"    {stage:24s} {spent:6.1f} s  {spent / max(summary.frames, 1) * 1000:6.1f} ms/frame")
        if args.no_naive:
            continue
        naive_cpu = time.process_time()
        naive_s, naive_frames = naive_loop(video, weights)
        naive_cpu = time.process_time() - naive_cpu
        print(
            f"  naive loop        {naive_s:6.1f} s  {seconds / naive_s:5.2f}x real time  "
            f"CPU {naive_cpu:6.1f} s  ({naive_frames} frames)"
        )
        print(f"  scan vs naive     x{naive_s / summary.elapsed_s:.2f} wall time, x{naive_cpu / cpu:.2f} CPU time")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
