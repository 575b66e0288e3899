"""Request bodies and calls the API tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import cv2
import httpx
import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.service.places import offset
from vision import Frame

Auth = dict[str, dict[str, str]]


def obs(track_id: str = "1", north: float | None = 0.0, east: float = 0.0, **fields: Any) -> dict[str, Any]:
    """A valid observation ``north``/``east`` metres from the test origin (north None: no GPS)."""
    lat, lon = offset(north, east) if north is not None else (None, None)
    item = {
        "track_id": track_id,
        "category": "street_vendor",
        "label": "person+umbrella",
        "confidence": 0.8,
        "t_first": 1.0,
        "t_last": 4.0,
        "t_best": 2.0,
        "observed_at": "2025-05-12T01:00:00Z",
        "bbox": [10, 20, 110, 220],
        "lat": lat,
        "lon": lon,
        "crop": None,
    }
    return {**item, **fields}


def served_app(client: TestClient) -> FastAPI:
    """The service app a test client talks to."""
    return cast(FastAPI, client.app)


def send(client: httpx.Client, auth: Auth, items: list[Any], source: str = "video-1") -> dict[str, Any]:
    return post(client, auth["uploader"], "/api/observations", {"source": source, "observations": items})


def post(client: httpx.Client, headers: dict[str, str], path: str, body: Any) -> dict[str, Any]:
    """POST JSON and insist on a 200."""
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def dispose_and_verify(client: httpx.Client, auth: Auth, case_id: int) -> None:
    """Take a confirmed case through dispatch (to the first unit), a disposal and a passed inspection,
    as an admin: what it needs before it may close."""
    unit = client.get("/api/units", headers=auth["admin"]).json()[0]["id"]
    post(client, auth["admin"], f"/api/cases/{case_id}/dispatch", {"unit_id": unit})
    response = client.post(f"/api/cases/{case_id}/disposal", data={"kind": "persuaded"}, headers=auth["admin"])
    assert response.status_code == 200, response.text
    post(client, auth["admin"], f"/api/cases/{case_id}/verify", {"method": "inspection", "note": "现场已无摊点"})


def jpeg(shade: int = 128, size: tuple[int, int] = (24, 16)) -> bytes:
    """A small JPEG image of one grey ``shade`` (``size`` is height, width in pixels)."""
    ok, data = cv2.imencode(".jpg", np.full((*size, 3), shade, np.uint8))
    assert ok
    return data.tobytes()


def store_image(client: httpx.Client, auth: Auth, data: bytes, media: str = "image/jpeg") -> str:
    """Send an image to ``POST /api/evidence`` as the uploader; its key."""
    response = client.post("/api/evidence", content=data, headers={**auth["uploader"], "Content-Type": media})
    assert response.status_code == 201, response.text
    return response.json()["key"]


class NoDetections:
    """Stands in for a Scanner in job tests: visits one frame of any video and finds nothing."""

    def observations(self, video: Path, out_dir: Path, gps: Any, on_frame: Any, stats: Any) -> Iterator[Any]:
        on_frame(Frame(0, 0.0, np.zeros((4, 4, 3), dtype=np.uint8)))
        yield from ()
