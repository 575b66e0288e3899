"""A fixed camera over real RTSP on loopback: Debian's rtsp-server-perl relay, fed by Debian's ffmpeg
publishing the sample patrol clip in a loop; ``streetscan serve`` reads it with the COCO model and
the test taxonomy that reports every person. The server is killed and restarted while streetscan
keeps running: the camera must go ``reconnecting``, then ``live`` again on its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import REPO, free_port, healthy, port_open, spawn, stop, streetscan
from tests.polling import wait_until

PERSON_TAXONOMY = REPO / "tests" / "vision" / "data" / "person-taxonomy.yaml"
MOVING_CAMERA_TRACKER = REPO / "models" / "tracker.yaml"  # the sample clip pans past the shop fronts


@dataclass
class RtspRelay:
    """rtsp-server-perl on loopback ports with ffmpeg publishing ``clip`` into it at real speed, looped."""

    clip: Path
    log: Path
    client_port: int
    source_port: int
    rtp_port: int
    server: subprocess.Popen | None = None
    publisher: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.client_port}/patrol"

    def start(self) -> None:
        server = shutil.which("rtsp-server-perl")
        if server is None:
            pytest.fail("Debian's rtsp-server-perl is needed for this test")
        self.server = spawn(
            [
                server,
                "--clientport",
                str(self.client_port),
                "--serverport",
                str(self.source_port),
                "--client_listen_address",
                "127.0.0.1",
                "--source_listen_address",
                "127.0.0.1",
                "--rtp_start_port",
                str(self.rtp_port),
            ],
            self.log,
        )
        wait_until(lambda: port_open(self.source_port) and port_open(self.client_port), 20, "RTSP server", self.log)
        self.publisher = spawn(
            [
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-stream_loop",
                "-1",
                "-i",
                str(self.clip),
                "-c",
                "copy",
                "-f",
                "rtsp",
                f"rtsp://127.0.0.1:{self.source_port}/patrol",
            ],
            self.log,
        )

    def kill(self) -> None:
        stop(self.publisher)
        stop(self.server)


@dataclass
class Service:
    url: str
    headers: dict[str, str]
    log: Path

    def get(self, path: str) -> Any:
        response = httpx.get(self.url + path, headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def relay(tmp_path: Path, patrol_dir: Path) -> Iterator[RtspRelay]:
    ports = sorted({free_port() for _ in range(3)})
    relay = RtspRelay(patrol_dir / "patrol.mp4", tmp_path / "rtsp.log", ports[0], ports[1], 40_000 + ports[2] % 20_000)
    relay.start()
    try:
        yield relay
    finally:
        relay.kill()


@pytest.fixture
def service(tmp_path: Path, coco_weights: Path) -> Iterator[Service]:
    env = {
        **os.environ,
        "STREETSCAN_DATA_DIR": str(tmp_path / "data"),
        "STREETSCAN_DATABASE_URL": "",
        "STREETSCAN_MODEL": str(coco_weights),
        "STREETSCAN_TAXONOMY_PATH": str(PERSON_TAXONOMY),
        "STREETSCAN_CAMERA_TRACKER": str(MOVING_CAMERA_TRACKER),
        "STREETSCAN_CAMERA_TIMEOUT_S": "3",
        "STREETSCAN_CAMERA_BACKOFF_MAX_S": "2",
        "STREETSCAN_WORKERS": "0",
    }
    token = streetscan(env, "user", "add", "admin", "--role", "admin").split()[-1]
    port = free_port()
    log = tmp_path / "serve.log"
    server = spawn([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], log, env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: server.poll() is None and healthy(url), 60, "streetscan serve", log)
        yield Service(url, {"Authorization": f"Bearer {token}"}, log)
    finally:
        stop(server)


@pytest.mark.slow
def test_rtsp_camera_streams_reports_and_survives_a_server_restart(relay: RtspRelay, service: Service) -> None:
    body = {
        "name": "patrol-relay",
        "url": relay.url,
        "lat": 35.4905,
        "lon": 112.851,
        "heading_deg": 180.0,
        "fps": 5,
        "dwell_s": {"street_vendor": 1.0},  # pedestrians stay in view about 2 s
    }
    response = httpx.post(service.url + "/api/cameras", json=body, headers=service.headers, timeout=30)
    assert response.status_code == 201, response.text
    path = f"/api/cameras/{response.json()['id']}"

    def camera() -> dict[str, Any]:
        return service.get(path)

    wait_until(lambda: camera()["status"] == "live" and camera()["frames"] >= 10, 60, "frames", service.log)
    wait_until(lambda: camera()["observations"] >= 1, 90, "observations", service.log)
    cases = service.get("/api/cases")
    assert cases["total"] >= 1 and {c["category"] for c in cases["items"]} == {"street_vendor"}
    assert all(c["lat"] == pytest.approx(35.4905) and c["lon"] == pytest.approx(112.851) for c in cases["items"])
    sighting = service.get(f"/api/cases/{cases['items'][0]['id']}")["observations"][0]
    assert sighting["source"].startswith("camera:")
    for url in (sighting["crop_url"], sighting["keyframe_url"]):
        image = httpx.get(service.url + url, headers=service.headers, timeout=10)
        assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"  # a JPEG
    before = camera()
    assert before["reconnects"] == 0 and before["last_frame_at"] and before["lag_s"] is not None

    relay.kill()
    wait_until(lambda: camera()["status"] == "reconnecting", 30, "reconnecting", service.log)
    down = camera()
    assert down["reconnects"] >= 1 and down["last_error"]

    relay.start()
    wait_until(lambda: camera()["status"] == "live", 60, "live again", service.log)
    frames = camera()["frames"]
    wait_until(lambda: camera()["frames"] >= frames + 10, 30, "frames after the restart", service.log)
    assert camera()["reconnects"] >= down["reconnects"]

    relay.server.send_signal(signal.SIGSTOP)  # a hung server: no packets, no closed connection
    try:
        wait_until(lambda: camera()["status"] == "reconnecting", 20, "read timeout noticed", service.log)
    finally:
        relay.server.send_signal(signal.SIGCONT)
    assert "timed out" in camera()["last_error"].lower()
    wait_until(lambda: camera()["status"] == "live", 60, "live after the hang", service.log)
