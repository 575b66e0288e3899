"""``streetscan scan``: one video (and its GPS track) to observations on disk, no server needed."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vision.defaults import default_model


def _utc(text: str) -> datetime:
    """ISO-8601 time; a naive one is taken as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _focus(kind: str) -> Callable[[str], Any]:
    """The argparse type of a focus window value, ``kind`` "band" or "width", checked by ``vision.regions``."""

    def convert(text: str) -> Any:
        from vision.regions import parse_band, parse_width

        try:
            return (parse_band if kind == "band" else parse_width)(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def add_scan_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("scan", help="find violations in one video; writes observations.jsonl, crops/ and keyframes/")
    p.add_argument("video", type=Path, help="video file (MP4, MOV, AVI, MKV, TS; H.264/H.265)")
    p.add_argument("--gps", type=Path, help="GPS track of the drive: GPX, NMEA, CSV or DJI-style SRT")
    p.add_argument(
        "--model", type=Path, default=None, help="YOLO weights file (default: $STREETSCAN_MODEL or the shipped model)"
    )
    p.add_argument(
        "--taxonomy", type=Path, default=None, help="label -> category rules YAML (default: the shipped taxonomy)"
    )
    p.add_argument(
        "--fps", type=float, default=5.0, help="frames per second of video to analyse without a GPS track (default 5)"
    )
    p.add_argument(
        "--every-m",
        type=float,
        default=0.8,
        help="with a GPS track, analyse a frame every M metres of travel (default 0.8; 0 = by time, --fps)",
    )
    p.add_argument(
        "--min-fps",
        type=float,
        default=1.0,
        help="distance sampling: frames/s at least, e.g. standing still (default 1)",
    )
    p.add_argument(
        "--max-fps", type=float, default=10.0, help="distance sampling: frames/s at most, driving fast (default 10)"
    )
    p.add_argument("--conf", type=float, default=0.25, help="minimum detection confidence (default 0.25)")
    p.add_argument("--imgsz", type=int, default=640, help="model input size in pixels (default 640)")
    p.add_argument("--tile", type=int, default=0, help="also detect in TILE-pixel windows of large frames (0 = off)")
    p.add_argument(
        "--focus",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="look again at the band of the frame where signs stand, at full resolution, for small, far signs "
        "(default on: forward cameras, about 1.5 passes more per 1080p frame; side mounts only with "
        "--focus-band or --focus-width)",
    )
    p.add_argument(
        "--focus-band",
        type=_focus("band"),
        metavar="TOP,BOTTOM",
        help="rows of that band as fractions of the frame height (default: by --mount; forward 0.28,0.62)",
    )
    p.add_argument(
        "--focus-width",
        type=_focus("width"),
        metavar="FRACTION",
        help="width of the window looked at again, a fraction of the frame width (default: by --mount; forward 0.5)",
    )
    p.add_argument("--min-hits", type=int, default=3, help="drop tracks seen in fewer sampled frames (default 3)")
    p.add_argument(
        "--mount", choices=["forward", "left", "right"], help="side the camera faces; shifts positions toward it"
    )
    p.add_argument("--mount-offset", type=float, default=5.0, help="metres from the camera to the objects (default 5)")
    p.add_argument("--start", type=_utc, help="recording start (ISO-8601; default: from the video, else the GPS track)")
    p.add_argument("--no-keyframes", dest="keyframes", action="store_false", help="save crops only, not whole frames")
    p.add_argument("--no-ocr", dest="ocr", action="store_false", help="do not read the text on signs")
    p.add_argument("--out", type=Path, default=Path("out"), help="output directory (default ./out)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_scan)


def run_scan(args: argparse.Namespace) -> int:
    """Validate inputs before loading the model, then scan with a progress bar on stderr."""
    from tqdm import tqdm

    from vision.detector import ModelError
    from vision.frames import VideoError, probe
    from vision.geo import GpsFormatError, load_track
    from vision.pipeline import Scanner, ScanOptions, scan
    from vision.sampling import DistanceSampling
    from vision.taxonomy import TaxonomyError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        info = probe(args.video)
        gps = load_track(args.gps) if args.gps else None
        options = ScanOptions(
            model=args.model or default_model(),
            taxonomy=args.taxonomy,
            fps=args.fps,
            conf=args.conf,
            imgsz=args.imgsz,
            tile=args.tile,
            focus=args.focus,
            focus_band=args.focus_band,
            focus_width=args.focus_width,
            min_hits=args.min_hits,
            mount=args.mount,
            mount_offset_m=args.mount_offset,
            start_time=args.start,
            keyframes=args.keyframes,
            ocr=args.ocr,
            distance=DistanceSampling(args.every_m, args.min_fps, args.max_fps) if args.every_m > 0 else None,
        )
        total = Scanner.expected_frames(options, info, gps)
        with tqdm(total=total, unit="frame", desc=args.video.name, disable=args.quiet, file=sys.stderr) as bar:
            summary = scan(args.video, args.out, options, gps, on_frame=lambda _frame: bar.update())
    except (VideoError, GpsFormatError, ModelError, TaxonomyError, OSError, ValueError) as exc:
        print(f"streetscan scan: error: {exc}", file=sys.stderr)
        return 2
    print(summary.line(), file=sys.stderr)
    return 0
