"""Request bodies and calls the API tests share."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.service.places import offset

Auth = dict[str, dict[str, str]]


def obs(track_id: str = "1", north: float | None = 0.0, east: float = 0.0, **fields: Any) -> dict[str, Any]:
    """A valid observation ``north``/``east`` metres from the test origin (north None: no GPS)."""
    lat, lon = offset(north, east) if north is not None else (None, None)
    item = {
        "track_id": track_id, "category": "street_vendor", "label": "person+umbrella", "confidence": 0.8,
        "t_first": 1.0, "t_last": 4.0, "t_best": 2.0, "observed_at": "2025-05-12T01:00:00Z",
        "bbox": [10, 20, 110, 220], "lat": lat, "lon": lon, "crop": f"crops/{track_id}.jpg",
    }
    return {**item, **fields}


def send(client: TestClient, auth: Auth, items: list[Any], source: str = "video-1") -> dict[str, Any]:
    return post(client, auth["uploader"], "/api/observations", {"source": source, "observations": items})


def post(client: TestClient, headers: dict[str, str], path: str, body: Any) -> dict[str, Any]:
    """POST JSON and insist on a 200."""
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()
