"""Helpers for end-to-end tests that run real processes on loopback: free ports, the streetscan
command line, a server subprocess that is waited for and always stopped."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streetscan(env: dict[str, str], *args: str) -> str:
    """Run ``streetscan ARGS`` to completion; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a process with stdout and stderr going to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)


def stop(process: subprocess.Popen | None) -> None:
    """Terminate a process (kill it if it lingers) and reap it."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/api/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
