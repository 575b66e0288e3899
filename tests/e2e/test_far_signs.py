"""`streetscan scan` on a forward-looking drive past held-out shop fronts: by default it looks again at the
sign band at full resolution and follows far, small signs that one 640-px pass misses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vision.training.forward_drive import HEIGHT, DriveFiles, DriveSettings, DriveTruth, open_split, write_drive

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> DriveFiles:
    """10 s at 8 m/s, 1080p30, past 12 facade val photos (never trained on)."""
    split = open_split(shared_dir / "datasets" / "facade-ads" / "data.yaml", "val").head(12)
    return write_drive(split, tmp_path_factory.mktemp("drive"), DriveSettings(seconds=10.0))


def scan(drive: DriveFiles, out: Path, *options: str) -> list[dict]:
    cmd = [sys.executable, "-m", "service.cli", "scan", str(drive.video), "--gps", str(drive.gps), "--out", str(out)]
    proc = subprocess.run([*cmd, "--quiet", *options], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in (out / "observations.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_the_default_scan_follows_small_far_signs_one_pass_misses(drive: DriveFiles, tmp_path: Path) -> None:
    truth = DriveTruth(drive.truth)
    one_pass, _ = truth.matched(scan(drive, tmp_path / "one-pass", "--no-focus"))
    focused, unmatched = truth.matched(scan(drive, tmp_path / "default"))
    small_before, counted = truth.followed(one_pass, HEIGHT, 0, 48)
    small_now, _ = truth.followed(focused, HEIGHT, 0, 48)
    assert counted >= 20
    assert small_now >= max(2 * small_before, 4), (small_before, small_now, counted)
    assert len(focused) > len(one_pass)  # more signs found at all
    assert unmatched <= len(focused)  # and not by boxing everything
