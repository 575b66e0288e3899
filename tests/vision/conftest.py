"""Fixtures that generate tiny test videos with the ffmpeg command-line tool."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

MakeVideo = Callable[..., Path]


def run_ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly, failing the test with ffmpeg's own message when it fails."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.fail("the ffmpeg command is needed to generate test videos")
    done = subprocess.run([ffmpeg, "-v", "error", "-y", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"ffmpeg {' '.join(args)} failed: {done.stderr}")


def has_encoder(name: str) -> bool:
    """Whether the installed ffmpeg has the encoder ``name`` (e.g. "libx265")."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return False
    listing = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    return any(line.split()[1:2] == [name] for line in listing.splitlines())


@pytest.fixture
def make_video(tmp_path: Path) -> MakeVideo:
    """Factory for 160x120 clips in ``tmp_path``; the container follows the name's extension.

    ``make_video(name, seconds=3, rate=30, source="testsrc2", codec="libx264", args=())``:
    ``source`` is an ffmpeg lavfi source (e.g. "color=c=red"), ``rate`` its frames/s, and
    ``args`` extra output options (filters, metadata).
    """

    def make(
        name: str,
        seconds: float = 3,
        rate: float = 30,
        source: str = "testsrc2",
        codec: str = "libx264",
        args: tuple[str, ...] = (),
    ) -> Path:
        path = tmp_path / name
        separator = ":" if "=" in source else "="
        lavfi = f"{source}{separator}size=160x120:rate={rate}:duration={seconds}"
        run_ffmpeg("-f", "lavfi", "-i", lavfi, "-c:v", codec, "-pix_fmt", "yuv420p", *args, str(path))
        return path

    return make
