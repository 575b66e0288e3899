"""Scanning on one's own machine and posting to a server, end to end: a real `streetscan serve`
process on a loopback port, `streetscan scan --post` with the real detector (COCO weights, people
as street vendors) on an 8 s cut of the sample patrol clip, its images sent to the evidence store
and its observations to the server, the evidence then served by the API; `streetscan post` again
(nothing doubles) and with the wrong token or a tampered output folder (clear errors)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import REPO, free_port, healthy, spawn, stop, streetscan
from tests.polling import wait_until
from tests.vision.conftest import run_ffmpeg

PERSON_TAXONOMY = REPO / "tests" / "vision" / "data" / "person-taxonomy.yaml"
pytestmark = pytest.mark.slow  # runs the detector on 8 s of video


@dataclass
class Server:
    url: str
    env: dict[str, str]
    tokens: dict[str, str]

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, headers={"Authorization": f"Bearer {self.tokens['reviewer']}"}, timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("post") / "data"
    env = {
        **os.environ,
        "YOLO_OFFLINE": "1",
        "STREETSCAN_DATA_DIR": str(data_dir),
        "STREETSCAN_DATABASE_URL": "",
        "STREETSCAN_TAXONOMY_PATH": str(PERSON_TAXONOMY),
        "STREETSCAN_WORKERS": "0",
        "STREETSCAN_CAMERA_SUPERVISOR": "false",
    }
    tokens = {
        role: streetscan(env, "user", "add", f"{role}-post", "--role", role).split()[-1]
        for role in ("uploader", "reviewer")
    }
    port = free_port()
    log = data_dir.parent / "server.log"
    process = spawn([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], log, env)
    srv = Server(f"http://127.0.0.1:{port}", env, tokens)
    try:
        wait_until(lambda: process.poll() is not None or healthy(srv.url), 60, "server up", log)
        assert process.poll() is None, log.read_text()[-2000:]
        yield srv
    finally:
        stop(process)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`streetscan ARGS`, whatever its exit status."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def scanned(
    server: Server, tmp_path_factory: pytest.TempPathFactory, patrol_dir: Path, coco_weights: Path
) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """`streetscan scan CLIP --post URL` on the first 8 s of the patrol clip: (clip, output folder, the run)."""
    folder = tmp_path_factory.mktemp("scan")
    clip = folder / "patrol-8s.mp4"
    run_ffmpeg("-i", str(patrol_dir / "patrol.mp4"), "-t", "8", "-c", "copy", str(clip))
    out = folder / "out"
    done = run(
        server.env,
        "scan",
        str(clip),
        "--gps",
        str(patrol_dir / "patrol.gpx"),
        "--model",
        str(coco_weights),
        "--taxonomy",
        str(PERSON_TAXONOMY),
        "--out",
        str(out),
        "--quiet",
        "--post",
        server.url,
        "--token",
        server.tokens["uploader"],
    )
    return clip, out, done


def test_scan_post_sends_images_then_observations(
    scanned: tuple[Path, Path, subprocess.CompletedProcess[str]], server: Server
) -> None:
    clip, out, done = scanned
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (out / "observations.jsonl").read_text("utf-8").splitlines()]
    assert len(lines) >= 3
    source = f"video-{hashlib.sha256(clip.read_bytes()).hexdigest()[:16]}"
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"{source}: {len(lines)} observations posted to {server.url}: ") and "created" in summary
    by_track = {o["track_id"]: o for o in lines}
    cases = server.get("/api/cases?limit=500").json()["items"]
    posted = [o for c in cases for o in server.get(f"/api/cases/{c['id']}").json()["observations"]]
    assert sorted(o["track_id"] for o in posted) == sorted(by_track) and {o["source"] for o in posted} == {source}
    for o in posted:
        sent = by_track[o["track_id"]]
        for kind in ("crop", "keyframe"):
            image = server.get(o[f"{kind}_url"])
            assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
            assert image.content == (out / sent[kind]).read_bytes()
        assert o["bbox"] == sent["bbox"] and o["lat"] == pytest.approx(sent["lat"])


def test_posting_again_doubles_nothing(
    scanned: tuple[Path, Path, subprocess.CompletedProcess[str]], server: Server
) -> None:
    clip, out, _ = scanned
    source = f"video-{hashlib.sha256(clip.read_bytes()).hexdigest()[:16]}"
    before = server.get("/api/cases?limit=500").json()["total"]
    again = run(
        server.env,
        "post",
        str(out),
        "--server",
        server.url,
        "--token",
        server.tokens["uploader"],
        "--source",
        source,
        "--quiet",
    )
    assert again.returncode == 0, again.stderr
    lines = (out / "observations.jsonl").read_text("utf-8").splitlines()
    assert again.stdout.strip().endswith(f": {len(lines)} duplicate")
    assert server.get("/api/cases?limit=500").json()["total"] == before


def test_post_refuses_clearly(
    scanned: tuple[Path, Path, subprocess.CompletedProcess[str]], server: Server, tmp_path: Path
) -> None:
    _, out, _ = scanned
    wrong_role = run(server.env, "post", str(out), "--server", server.url, "--token", server.tokens["reviewer"])
    assert wrong_role.returncode == 2 and "may not upload (403)" in wrong_role.stderr
    tampered = tmp_path / "tampered"
    shutil.copytree(out, tampered)
    first = json.loads((tampered / "observations.jsonl").read_text("utf-8").splitlines()[0])
    (tampered / "observations.jsonl").write_text(json.dumps({**first, "crop": "../../../etc/passwd"}) + "\n")
    escaped = run(server.env, "post", str(tampered), "--server", server.url, "--token", server.tokens["uploader"])
    assert escaped.returncode == 2 and "is no file in" in escaped.stderr
    (tampered / "observations.jsonl").write_text(json.dumps({**first, "track_id": "fake"}) + "\n")
    (tampered / first["crop"]).write_text("not a picture")
    not_image = run(server.env, "post", str(tampered), "--server", server.url, "--token", server.tokens["uploader"])
    assert not_image.returncode == 2 and "refused (422): not a JPEG or PNG image" in not_image.stderr
    nothing = run(server.env, "post", str(tmp_path), "--server", server.url, "--token", server.tokens["uploader"])
    assert nothing.returncode == 2 and "observations.jsonl: no such file" in nothing.stderr
