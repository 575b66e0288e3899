"""``streetscan scan`` sampling by distance: a patrol car that stops for 20 s is looked at once a second
meanwhile, and nothing it saw while driving is lost."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.test_scan import iou, streetscan
from tests.vision.conftest import run_ffmpeg
from vision.geo import destination

START = datetime(2025, 5, 9, 9, 30, tzinfo=UTC)
DRIVE_S, STOP_S, AGAIN_S = 8, 20, 4  # drives 8 s, stands 20 s, drives 4 s
SPEED_MPS = 4.0
PAN_PX_PER_S = 897.5 / 2  # the patrol clip's pan, at the half size the test clip is made at


def moving_s(t: float) -> float:
    """Seconds of driving up to video time ``t``."""
    return min(t, DRIVE_S) + max(0.0, t - DRIVE_S - STOP_S)


def strip_box(observation: dict) -> np.ndarray:
    """The observation's best box in the coordinates of the facade strip the camera passes."""
    shift = PAN_PX_PER_S * moving_s(observation["t_best"])
    return np.asarray(observation["bbox"]) + np.array([shift, 0, shift, 0])


@pytest.fixture(scope="module")
def stop_clip(tmp_path_factory: pytest.TempPathFactory, patrol_dir: Path) -> tuple[Path, Path]:
    """12 s of the patrol clip (from 4 s) at half size, its frame at 8 s held for 20 s; a GPX track that stops
    for those 20 s."""
    folder = tmp_path_factory.mktemp("stop")
    video, track = folder / "stop.mp4", folder / "stop.gpx"
    hold = f"loop=loop={STOP_S * 30 - 1}:size=1:start={DRIVE_S * 30}"
    run_ffmpeg(
        "-ss",
        "4",
        "-t",
        str(DRIVE_S + AGAIN_S),
        "-i",
        str(patrol_dir / "patrol.mp4"),
        "-vf",
        f"scale=960:540,{hold},setpts=N/30/TB",
        "-r",
        "30",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(video),
    )
    points = []
    for k in range(DRIVE_S + STOP_S + AGAIN_S + 1):
        lat, lon = destination(35.497, 112.851, 90.0, SPEED_MPS * moving_s(k))
        when = (START + timedelta(seconds=k)).isoformat().replace("+00:00", "Z")
        points.append(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><time>{when}</time></trkpt>')
    track.write_text(
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        + "".join(points)
        + "</trkseg></trk></gpx>",
        encoding="utf-8",
    )
    return video, track


def scan(video: Path, track: Path, out: Path, *options: str) -> tuple[str, list[dict]]:
    """(summary line, observations) of a scan with the shipped model."""
    proc = streetscan("scan", str(video), "--gps", str(track), "--out", str(out), "--quiet", *options)
    assert proc.returncode == 0, proc.stderr
    lines = (out / "observations.jsonl").read_text(encoding="utf-8").splitlines()
    return proc.stderr.strip().splitlines()[-1], [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def scans(stop_clip: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, list[dict]]]:
    video, track = stop_clip
    return {
        "distance": scan(video, track, tmp_path_factory.mktemp("distance")),  # the default
        "time": scan(video, track, tmp_path_factory.mktemp("time"), "--every-m", "0"),
    }


def frames(summary: str) -> int:
    return int(re.search(r"from (\d+) frames", summary).group(1))


@pytest.mark.slow
def test_standing_still_is_sampled_at_the_minimum_rate(scans: dict[str, tuple[str, list[dict]]]) -> None:
    summary, _ = scans["distance"]
    driving = (DRIVE_S + AGAIN_S) * 5  # 0.8 m apart at 4 m/s: 5 frames a second, as by time
    assert abs(frames(summary) - (driving + STOP_S * 1)) <= 3, summary  # 1 frame a second while stopped
    assert frames(scans["time"][0]) == (DRIVE_S + STOP_S + AGAIN_S) * 5
    skipped = int(re.search(r"(\d+) frames skipped while standing still", summary).group(1))
    assert abs(skipped - STOP_S * (5 - 1)) <= 3, summary
    assert "standing still" not in scans["time"][0]


@pytest.mark.slow
def test_nothing_seen_while_driving_is_lost(scans: dict[str, tuple[str, list[dict]]]) -> None:
    _, by_time = scans["time"]
    _, by_distance = scans["distance"]
    while_driving = [o for o in by_time if o["t_first"] < DRIVE_S or o["t_first"] >= DRIVE_S + STOP_S]
    assert len(while_driving) >= 10  # signs, windows, ads of the shop fronts passed
    for seen in while_driving:
        box = strip_box(seen)
        matches = [o for o in by_distance if o["label"] == seen["label"] and iou(strip_box(o), box) >= 0.3]
        assert matches, ("lost when sampling by distance", seen)
