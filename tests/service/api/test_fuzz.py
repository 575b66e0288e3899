"""Fuzzing the HTTP API with schemathesis: every operation of the OpenAPI schema gets generated
inputs, valid and invalid, each sent without a token and with an admin's, on SQLite and on
PostgreSQL, over real HTTP. A test fails on any 5xx, any status code the schema does not
document, and any response whose body, content type or headers do not match the schema.

``STREETSCAN_FUZZ_EXAMPLES`` sets the examples per operation (default 25: about a minute per
backend); raise it to fuzz longer, e.g. ``STREETSCAN_FUZZ_EXAMPLES=1000``. Runs are repeatable
(derandomized): the same code and examples give the same requests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from service.app import create_app
from service.auth.users import create_user
from service.db import make_engine
from service.models.users import Role
from service.settings import Settings
from tests.service.builders import jpeg, obs, post, send, store_image
from tests.service.conftest import empty
from tests.service.live_server import serving

EXAMPLES = int(os.environ.get("STREETSCAN_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]
OPERATIONS = [
    (method.upper(), path)
    for path, methods in create_app(Settings(hotspot_catalog=None)).openapi()["paths"].items()
    for method in methods
]
CATALOG = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "m1",
            "geometry": {"type": "Point", "coordinates": [112.85, 35.49]},
            "properties": {"name": "市场", "kind": "road_market", "batch": 1},
        },
    ],
}
CAMERA = {"name": "cam-1", "url": "rtsp://127.0.0.1/x", "lat": 35.49, "lon": 112.85, "heading_deg": 90, "fps": 1}


@dataclass
class Live:
    """A served app: its schema as schemathesis read it over HTTP, and an admin's headers."""

    schema: schemathesis.BaseSchema
    admin: dict[str, str]


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One served app per backend with some data: a hotspot, cases with evidence, a camera. No job
    workers and no camera supervisor: generated videos and cameras are stored, never run."""
    engine = make_engine(database_url)
    empty(engine)
    with Session(engine) as session:
        auth = {role.value: {"Authorization": f"Bearer {create_user(session, role.value, role)[1]}"} for role in Role}
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("fuzz"),
        hotspot_catalog=None,
        workers=0,
        camera_supervisor=False,
    )
    with serving(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as client:
        post(client, auth["admin"], "/api/hotspots/import", CATALOG)
        key = store_image(client, auth, jpeg())
        send(client, auth, [obs("1", crop=key, keyframe=key), obs("2", north=200), obs("3", north=None)])
        assert client.post("/api/cameras", json=CAMERA, headers=auth["admin"]).status_code == 201
        yield Live(schemathesis.openapi.from_url(f"{url}/openapi.json"), auth["admin"])
    empty(engine)
    engine.dispose()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_error_and_no_schema_violation(live: Live, method: str, path: str) -> None:
    operation = live.schema[path][method]
    cases = st.one_of(*(operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)))

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def each(case: schemathesis.Case) -> None:
        for headers in ({}, live.admin):
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)

    each()
