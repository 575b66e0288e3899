"""The whole vision path for one video: frames -> detections -> tracks -> observations on disk."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from vision.boxes import Detections
from vision.detector import Detector
from vision.detector_pool import DetectorPool
from vision.frames import DecodeStats, Frame, VideoInfo, iter_frames, probe
from vision.geo import GpsTrack, Mount, camera_offset
from vision.observe import Observation, TrackFolder, TrackRecord
from vision.prefetch import Prefetch
from vision.regions import FocusedDetector, focus_policy
from vision.sampling import DistanceSampling, SampleClock
from vision.signs import SignDescriber
from vision.taxonomy import Taxonomy
from vision.timing import StageTimes, timed
from vision.tracking import Tracker

log = logging.getLogger(__name__)


@dataclass
class ScanOptions:
    """How to scan. ``fps`` is sampled frames per second of video; ``mount`` is the side the camera
    faces (forward/left/right, None = report the camera position); ``mount_offset_m`` how far from
    the camera the objects usually are, in metres; ``start_time`` overrides the recording start;
    ``keyframes`` also saves each observation's whole best frame; ``imgsz`` is the model input in
    pixels and ``tile`` > 0 also looks at large frames in tile x tile windows (small, far objects);
    ``ocr`` reads the text on sign tracks (the taxonomy's ``signs``); ``focus`` looks again at the band of the
    frame where signs stand, at full resolution, for sign-like classes (``vision.regions.focus_policy``: the
    mount's window, with ``focus_band`` as (top, bottom) fractions of the height and ``focus_width`` as a
    fraction of the width when given). ``distance``: with a GPS track, sample one frame every so many metres
    of travel instead of ``fps`` a second (None: always by time). ``batch``: at most this many decoded frames
    go to the model at once; ``workers``: detector copies run side by side (None: one per CPU core with the
    OpenVINO runtime, else one)."""

    model: Path
    taxonomy: Path | None = None
    tracker: Path | None = None
    fps: float = 5.0
    conf: float = 0.25
    imgsz: int = 640
    tile: int = 0
    focus: bool = True
    focus_band: tuple[float, float] | None = None
    focus_width: float | None = None
    batch: int = 4
    min_hits: int = 3
    mount: Mount | None = None
    mount_offset_m: float = 5.0
    start_time: datetime | None = None
    keyframes: bool = True
    ocr: bool = True
    distance: DistanceSampling | None = field(default_factory=DistanceSampling)
    workers: int | None = None


@dataclass
class ScanSummary:
    """What one scan did: counts, and seconds of wall time."""

    video: str
    frames: int = 0
    corrupt_frames: int = 0
    still_skipped: int = 0  # frames sampling by time would have analysed while the car stood still
    elapsed_s: float = 0.0
    observations: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    stages: StageTimes = field(default_factory=StageTimes)  # stage -> seconds of wall time spent in it

    def line(self) -> str:
        """One human-readable summary line."""
        cats = ", ".join(f"{k} {v}" for k, v in sorted(self.by_category.items())) or "none"
        rate = self.frames / self.elapsed_s if self.elapsed_s else 0.0
        return (
            f"{self.video}: {self.observations} observations ({cats}) from {self.frames} frames "
            f"in {self.elapsed_s:.1f} s ({rate:.1f} frames/s)"
            + (f", {self.still_skipped} frames skipped while standing still" if self.still_skipped else "")
            + (f", {self.corrupt_frames} corrupt frames skipped" if self.corrupt_frames else "")
        )


class Scanner:
    """Holds the loaded model, taxonomy and tracker settings; scans one source at a time."""

    def __init__(self, options: ScanOptions) -> None:
        self.options = options
        workers = options.workers or os.cpu_count() or 1
        first = self._detector(threads=1 if workers > 1 else None)
        if first.runtime != "openvino" and not options.workers:
            workers = 1  # PyTorch spreads one model over every core itself
        self.focus = focus_policy(options.mount, options.focus_band, options.focus_width) if options.focus else None
        copies = [first] + [self._detector(threads=1) for _ in range(workers - 1)]
        self.detectors = [FocusedDetector(detector, self.focus) for detector in copies]
        self.taxonomy = Taxonomy.load(options.taxonomy)
        self.relevant = self.taxonomy.relevant_labels()
        self.signs = SignDescriber(self.taxonomy, ocr=options.ocr)  # OCR loads on the first sign

    def _detector(self, threads: int | None) -> Detector:
        o = self.options
        return Detector(o.model, conf=o.conf, imgsz=o.imgsz, batch=o.batch, tile=o.tile, threads=threads)

    def observations(
        self,
        video: str | Path,
        out_dir: Path,
        gps: GpsTrack | None = None,
        on_frame: Callable[[Frame], object] | None = None,
        stats: DecodeStats | None = None,
        stages: StageTimes | None = None,
    ) -> Iterator[Observation]:
        """Yield observations of one video as their tracks end; images go to ``out_dir/crops/`` and
        ``out_dir/keyframes/``. ``stages`` adds up the seconds spent decoding, detecting and tracking."""
        stages = stages if stages is not None else StageTimes()
        for sub in ("crops", "keyframes") if self.options.keyframes else ("crops",):
            (out_dir / sub).mkdir(parents=True, exist_ok=True)
        start = self._start_time(video, gps)
        clock = sample_clock(self.options, start, gps)
        tracker = Tracker(self.options.tracker, frame_rate=self.options.fps)
        folder = TrackFolder(min_hits=self.options.min_hits)

        def run(frames: list[Frame], found: list[Detections]) -> Iterator[TrackRecord]:
            for frame, det in zip(frames, found):
                began = time.perf_counter()
                det.data["category"] = np.array(self.taxonomy.classify(det, frame.image.shape[:2]), dtype=object)
                det = det[np.array([label in self.relevant for label in det.labels], dtype=bool)]
                tracked = tracker.update(det, frame.image)
                stages["track"] += time.perf_counter() - began
                # a track ends unseen for 15 samples (longer than the tracker keeps a lost one), at least 3 s
                folder.max_idle_s = max(3.0, 15.0 / clock.lowest_rate(frame.t - 15.0, frame.t))
                yield from folder.update(frame.t, frame.image, tracked)
                if on_frame:
                    on_frame(frame)

        decoded = timed(iter_frames(video, stats=stats, clock=clock), stages, "decode (own thread)")
        with (
            Prefetch(decoded, depth=4 * self.options.batch, name="decode") as ahead,
            DetectorPool(self.detectors, stages) as pool,
        ):
            for frames, found in pool.detect(timed(ahead.batches(self.options.batch), stages, "waiting for frames")):
                yield from (self._finish(r, out_dir, start, gps) for r in run(frames, found))
        yield from (self._finish(r, out_dir, start, gps) for r in folder.flush())

    @staticmethod
    def expected_frames(options: ScanOptions, info: VideoInfo, gps: GpsTrack | None) -> int | None:
        """About how many frames a scan of the video ``info`` describes will analyse (None: length unknown)."""
        if not info.duration_s:
            return None
        start = recording_start(options, info.start_time, gps)
        return math.ceil(sample_clock(options, start, gps).slots(info.duration_s))

    def _start_time(self, video: str | Path, gps: GpsTrack | None) -> datetime | None:
        """Recording start: the override, else the container's creation time, else the GPS track start."""
        recorded = probe(video).start_time
        start = recording_start(self.options, recorded, gps)
        if start is not None and recorded is None and not self.options.start_time:
            log.warning("%s has no recording start time; assuming it starts with the GPS track at %s", video, start)
        return start

    def _finish(self, record: TrackRecord, out_dir: Path, start: datetime | None, gps: GpsTrack | None) -> Observation:
        """Turn a kept track into an Observation: write its images, place it in time and on the map."""
        crop = f"crops/{record.track_id}.jpg"
        cv2.imwrite(str(out_dir / crop), record.crop, [cv2.IMWRITE_JPEG_QUALITY, 90])
        keyframe = f"keyframes/{record.track_id}.jpg" if self.options.keyframes else None
        if keyframe:
            cv2.imwrite(str(out_dir / keyframe), record.frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
        when = start + timedelta(seconds=record.best_t) if start else None
        lat = lon = accuracy = None
        if gps is not None:
            at = record.best_t if gps.video_relative else when
            pos = gps.at(at) if at is not None else None
            if pos is not None:
                accuracy = pos.accuracy_m
                lat, lon = (
                    camera_offset(pos, self.options.mount, self.options.mount_offset_m)
                    if self.options.mount
                    else (pos.lat, pos.lon)
                )
        look = self.signs.describe(record.label, record.frame, record.best_bbox, record.crops)
        return Observation(
            track_id=str(record.track_id),
            category=str(record.category),
            label=record.label,
            confidence=round(record.best_confidence, 4),
            t_first=round(record.t_first, 3),
            t_last=round(record.t_last, 3),
            t_best=round(record.best_t, 3),
            observed_at=when.isoformat().replace("+00:00", "Z") if when else None,
            bbox=record.best_bbox,
            lat=round(lat, 7) if lat is not None else None,
            lon=round(lon, 7) if lon is not None else None,
            crop=crop,
            keyframe=keyframe,
            text=look.text,
            text_confidence=look.text_confidence,
            signature=look.signature,
            gps_accuracy_m=accuracy,
        )


def recording_start(options: ScanOptions, recorded: datetime | None, gps: GpsTrack | None) -> datetime | None:
    """The override, else the container's ``recorded`` creation time, else the start of a GPS track in UTC."""
    if options.start_time:
        return options.start_time.astimezone(UTC)
    if recorded is None and gps is not None and not gps.video_relative:
        return gps.start
    return recorded


def sample_clock(options: ScanOptions, start: datetime | None, gps: GpsTrack | None) -> SampleClock:
    """The scan's sampling: by distance along ``gps`` (from the recording ``start``) when there is a track
    and ``options.distance`` is set, else ``options.fps`` frames a second."""
    if gps is None or options.distance is None:
        return SampleClock(options.fps)
    return SampleClock.by_distance(options.fps, gps, start, options.distance)


def scan(
    video: str | Path,
    out_dir: Path,
    options: ScanOptions,
    gps: GpsTrack | None = None,
    on_frame: Callable[[Frame], object] | None = None,
) -> ScanSummary:
    """Scan one video into ``out_dir/observations.jsonl`` and its images; lines are written as tracks end."""
    began = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = ScanSummary(video=str(video))
    stats = DecodeStats()
    with open(out_dir / "observations.jsonl", "w", encoding="utf-8") as out:
        scanner = Scanner(options)
        summary.stages["load model"] = time.monotonic() - began
        for obs in scanner.observations(video, out_dir, gps, on_frame, stats, summary.stages):
            out.write(json.dumps(obs.to_dict(), ensure_ascii=False) + "\n")
            out.flush()
            summary.observations += 1
            summary.by_category[obs.category] += 1
    summary.frames, summary.corrupt_frames, summary.still_skipped = stats.sampled, stats.corrupt, stats.still_skipped
    summary.elapsed_s = time.monotonic() - began
    main_thread = ("load model", "track", "waiting for frames", "waiting for detections")
    summary.stages["observe/write"] = summary.elapsed_s - sum(summary.stages[k] for k in main_thread)
    return summary
