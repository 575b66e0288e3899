"""A non-editable install: ``pip install .`` into a fresh virtual environment carries the shipped model,
taxonomy, tracker settings and hotspot catalog, and its ``streetscan scan`` works from any directory.

The environment reuses this interpreter's site-packages for the dependencies (a ``.pth`` file), so only
the project itself is installed, from a copy of the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.vision.conftest import run_ffmpeg

REPO = Path(__file__).resolve().parents[2]
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", "data", "out", "runs", "test-artifacts"
)


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "STREETSCAN_"))}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env={**env, "YOLO_OFFLINE": "1"}, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh environment with the project installed (not editable) into it."""
    root = tmp_path_factory.mktemp("install")
    shutil.copytree(REPO, root / "src", ignore=NOT_SOURCE)
    run(sys.executable, "-m", "venv", "--without-pip", root / "venv", cwd=root)
    python = root / "venv" / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root).stdout.strip()
    shared = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    (Path(purelib) / "shared-dependencies.pth").write_text("\n".join(dict.fromkeys(shared)) + "\n")
    run(
        python,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--ignore-installed",
        "--quiet",
        root / "src",
        cwd=root,
    )
    return root / "venv" / "bin"


@pytest.mark.slow
def test_installed_package_finds_its_shipped_files(installed: Path, tmp_path: Path) -> None:
    code = """
import json
import service, vision
from service.settings import Settings
from vision import DEFAULT_TAXONOMY, FIXED_CAMERA_TRACKER, SAMPLES_DIR, default_model
from vision.defaults import DEFAULT_TRACKER
files = [default_model(), DEFAULT_TAXONOMY, DEFAULT_TRACKER, FIXED_CAMERA_TRACKER, Settings().hotspot_catalog,
         SAMPLES_DIR / "tracks" / "sample.gpx"]
print(json.dumps({"packages": [vision.__file__, service.__file__], "files": [str(f) for f in files]}))
"""
    found = json.loads(run(installed / "python", "-c", code, cwd=tmp_path).stdout)
    venv = str(installed.parent)
    for path in found["packages"] + found["files"]:
        assert path.startswith(venv), f"{path} is not the installed copy"
    assert all(Path(f).is_file() for f in found["files"]), found["files"]


@pytest.mark.slow
def test_installed_streetscan_scans_a_clip_from_any_folder(installed: Path, tmp_path: Path, patrol_dir: Path) -> None:
    clip = tmp_path / "clip.mp4"  # four seconds of the patrol clip: shop signs pass by
    run_ffmpeg(
        "-ss",
        "4",
        "-t",
        "4",
        "-i",
        str(patrol_dir / "patrol.mp4"),
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(clip),
    )
    done = run(installed / "streetscan", "scan", clip, "--out", "out", "--quiet", cwd=tmp_path)
    assert "observations" in done.stderr
    lines = (tmp_path / "out" / "observations.jsonl").read_text(encoding="utf-8").splitlines()
    observations = [json.loads(line) for line in lines]
    assert observations, done.stderr
    assert {o["category"] for o in observations} <= {"street_vendor", "goods_spill", "lightbox_ad", "outdoor_ad"}
    assert all((tmp_path / "out" / o["crop"]).is_file() for o in observations)
