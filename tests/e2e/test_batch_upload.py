"""Patrol batch upload end to end: a real `streetscan serve` (uvicorn, SQLite), the real
`streetscan upload` command, the real detector (COCO weights, people as street vendors, 2 frames/s)
on the sample patrol clip; a server killed mid-video and started again; bad input over HTTP."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import REPO, free_port, healthy, spawn, stop, streetscan
from tests.polling import wait_until

PERSON_TAXONOMY = REPO / "tests" / "vision" / "data" / "person-taxonomy.yaml"
LIMIT_MB = 16
pytestmark = pytest.mark.slow  # every test here shares a server that has run the detector on the clip


class Server:
    """A `streetscan serve` process on a free port with its own data folder (kept across restarts)."""

    def __init__(self, data_dir: Path, coco_weights: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "YOLO_OFFLINE": "1",
            "STREETSCAN_DATA_DIR": str(data_dir),
            "STREETSCAN_DATABASE_URL": "",
            "STREETSCAN_MODEL": str(coco_weights),
            "STREETSCAN_TAXONOMY_PATH": str(PERSON_TAXONOMY),
            "STREETSCAN_SCAN_FPS": "2",
            "STREETSCAN_WORKERS": "1",
            "STREETSCAN_MAX_UPLOAD_MB": str(LIMIT_MB),
        }
        self.log = data_dir.parent / f"{data_dir.name}-server.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        args = [sys.executable, "-m", "service.cli", "serve", "--port", str(self.port)]
        self.proc = spawn(args, self.log, self.env)
        wait_until(lambda: self.proc.poll() is not None or healthy(self.url), 60, "server up", self.log)
        assert self.proc.poll() is None, self.log.read_text()[-3000:]
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        stop(self.proc)

    def new_token(self, role: str = "uploader") -> str:
        """The API token of a new user of ``role`` (the last word `streetscan user add` prints)."""
        return streetscan(self.env, "user", "add", f"patrol-{time.monotonic_ns()}", "--role", role).split()[-1]

    def upload(self, token: str, *args: str, server: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run `streetscan upload ARGS` against this server (or ``server``); any exit status."""
        return subprocess.run(
            [sys.executable, "-m", "service.cli", "upload", *args, "--server", server or self.url, "--token", token],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def get(self, token: str, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def db(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.data_dir / "streetscan.db") as conn:
            return conn.execute(sql).fetchall()


def batch_id(upload: subprocess.CompletedProcess[str]) -> int:
    return int(re.search(r"^batch (\d+):", upload.stdout, re.M).group(1))


@dataclass
class CleanRun:
    server: Server
    token: str
    upload: subprocess.CompletedProcess[str]
    seconds: float


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory, patrol_dir: Path, coco_weights: Path) -> Iterator[CleanRun]:
    """Server A, which has processed the patrol clip uploaded with `streetscan upload`."""
    server = Server(tmp_path_factory.mktemp("clean") / "data", coco_weights).start()
    token = server.new_token()
    began = time.monotonic()
    upload = server.upload(token, str(patrol_dir / "patrol.mp4"), str(patrol_dir / "patrol.gpx"))
    yield CleanRun(server, token, upload, time.monotonic() - began)
    server.stop()


def observations(server: Server) -> list[tuple[str, str]]:
    return sorted(server.db("SELECT source, track_id FROM observations"))


def test_uploaded_clip_becomes_cases_with_positions_and_images(clean_run: CleanRun) -> None:
    server, token, upload = clean_run.server, clean_run.token, clean_run.upload
    assert upload.returncode == 0, upload.stderr
    assert "upload" in upload.stderr and "processing" in upload.stderr and "100%" in upload.stderr  # the bars
    assert re.search(r"^patrol\.mp4: done, \d+ observations, cases [\d ]+, GPS patrol\.gpx$", upload.stdout, re.M)
    batch = server.get(token, f"/api/batches/{batch_id(upload)}").json()
    assert batch["status"] == "done" and batch["progress"] == 1.0 and batch["observations"] >= 8
    assert batch["case_ids"] and f"cases {' '.join(map(str, batch['case_ids']))}" in upload.stdout
    assert batch["observations"] == len(observations(server))
    reviewer = server.new_token("reviewer")
    for case_id in batch["case_ids"]:
        case = server.get(token, f"/api/cases/{case_id}").json()
        assert case["lat"] is not None and case["lon"] is not None
        for obs in case["observations"]:
            assert obs["lat"] is not None and obs["lon"] is not None
            for url in (obs["crop_url"], obs["keyframe_url"]):
                image = server.get(reviewer, url)  # as stored (an uploader gets blurred copies)
                assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
                assert image.content[:2] == b"\xff\xd8"
    cases = len(batch["case_ids"])
    print(f"\nclean run: {batch['observations']} observations, {cases} cases in {clean_run.seconds:.1f} s")


def test_server_killed_mid_video_finishes_after_restart_without_duplicates(
    clean_run: CleanRun, tmp_path: Path, patrol_dir: Path, coco_weights: Path
) -> None:
    server = Server(tmp_path / "data", coco_weights).start()
    token = server.new_token()
    upload = server.upload(token, str(patrol_dir / "patrol.mp4"), str(patrol_dir / "patrol.gpx"), "--no-follow")
    assert upload.returncode == 0, upload.stderr
    path = f"/api/batches/{batch_id(upload)}"
    wait_until(lambda: server.get(token, path).json()["progress"] >= 0.4, 120, "progress 0.4", server.log)
    server.kill()
    [(status, attempts, progress)] = server.db("SELECT status, attempts, progress FROM jobs")
    assert (status, attempts) == ("running", 1) and progress <= 0.8, f"too late to kill: {progress}"
    partial = observations(server)
    assert partial, "nothing stored before the kill"

    server.start()
    wait_until(lambda: server.get(token, path).json()["status"] in ("done", "failed"), 180, "finished", server.log)
    batch = server.get(token, path).json()
    server.stop()
    assert batch["status"] == "done" and batch["files"][0]["attempts"] == 2
    stored = observations(server)
    assert len(stored) == len(set(stored)) and set(partial) <= set(stored)
    assert stored == observations(clean_run.server)  # the same observations as the run never killed
    assert server.db("SELECT sum(observation_count) FROM cases") == [(len(stored),)]
    print(f"\nkilled at progress {progress:.2f} with {len(partial)} of {len(stored)} observations stored")


def test_bad_files_are_reported_one_by_one(clean_run: CleanRun, tmp_path: Path, patrol_dir: Path) -> None:
    server, token = clean_run.server, clean_run.token
    (tmp_path / "notes.mp4").write_text("this is not a video\n")
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "cut.mp4").write_bytes((patrol_dir / "patrol.mp4").read_bytes()[: 3 * 1024 * 1024])
    (tmp_path / "route.gpx").write_text("no track in here\n")
    names = ["notes.mp4", "empty.mp4", "cut.mp4", "route.gpx"]
    upload = server.upload(token, *(str(tmp_path / n) for n in names))
    assert upload.returncode == 1, upload.stderr
    reasons = {"notes.mp4": "cannot open video", "empty.mp4": "is empty", "cut.mp4": "truncated", "route.gpx": "GPS"}
    for name, reason in reasons.items():
        assert re.search(rf"^{re.escape(name)}: rejected, .*{reason}", upload.stdout, re.M), upload.stdout
    assert re.search(r"^batch \d+: failed", upload.stdout, re.M)


def test_same_video_again_is_not_processed_again(clean_run: CleanRun, patrol_dir: Path) -> None:
    server, token = clean_run.server, clean_run.token
    before = observations(server)
    again = server.upload(token, str(patrol_dir / "patrol.mp4"))
    assert again.returncode == 0, again.stderr
    assert "patrol.mp4: done" in again.stdout and "already uploaded (job 1)" in again.stdout
    assert observations(server) == before and server.db("SELECT count(*) FROM jobs") == [(1,)]
    first = server.get(token, f"/api/batches/{batch_id(clean_run.upload)}").json()
    assert server.get(token, f"/api/batches/{batch_id(again)}").json()["case_ids"] == first["case_ids"]


def test_upload_errors_are_clear_and_leave_the_server_healthy(clean_run: CleanRun, tmp_path: Path) -> None:
    server, token = clean_run.server, clean_run.token
    big = tmp_path / "big.mp4"
    with open(big, "wb") as f:
        f.truncate((LIMIT_MB + 4) * 1024 * 1024)
    too_big = server.upload(token, str(big))
    assert too_big.returncode == 2 and f"(413): upload too large: the limit is {LIMIT_MB} MiB" in too_big.stderr
    assert httpx.get(f"{server.url}/api/health", timeout=5).status_code == 200
    assert not any((server.data_dir / "uploads" / "incoming").iterdir())
    refused = server.upload("not-a-token", str(big))
    assert refused.returncode == 2 and "refused the token (401)" in refused.stderr
    nobody = server.upload(token, str(big), server=f"http://127.0.0.1:{free_port()}")
    assert nobody.returncode == 2 and "cannot reach" in nobody.stderr
    for result in (too_big, refused, nobody):
        assert "Traceback" not in result.stderr
