"""Waiting in tests for something another thread or process does: poll, bounded."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest


def wait_until(check: Callable[[], bool], timeout: float, what: str = "condition", log: Path | None = None) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` (and the end of ``log``) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
            pytest.fail(f"{what}: not within {timeout:g} s\n{tail}")
        time.sleep(0.05)
