"""The attacks of the security review, each tried as an attacker would and shown to fail.

- evidence references that point outside the content-addressed store (the database file, the
  session secret, absolute paths, ``..``, symlinks, URL-encoded variants), through ingest and
  through every evidence route of the API and the web view;
- session cookies forged with a stolen session secret or database;
- inputs that used to be server errors: huge ids and offsets, extreme time offsets, numbers where
  times belong, out-of-range observation fields, still images sent as videos, self-intersecting
  polygons;
- oversized bodies, and bodies sent by callers who are not allowed to send them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from service.app import create_app
from service.models.base import row_id
from service.models.batches import Job
from service.models.observations import ObservationRow
from service.models.users import WebSessionRow
from service.settings import Settings
from service.web.sessions import COOKIE, WebSession, encode
from tests.service.builders import Auth, jpeg, obs, send, served_app, store_image
from tests.service.places import polygon
from tests.service.web_client import logged_in

SECRET_DB = b"SQLite format 3\x00 users: admin scrypt$16384$8$1$c2FsdA==$aGFzaA=="
"""What the attacker was after: stands in for the database file in the data folder."""
HUGE = [2**31, 2**63 - 1, 2**63, 2**64 + 1]
EVIDENCE_KINDS = ("crop", "keyframe")


@pytest.fixture
def loot(settings: Settings, client: TestClient) -> dict[str, bytes]:
    """The files an attacker wants, by name: the database file and the session secret."""
    (settings.data_dir / "streetscan.db").write_bytes(SECRET_DB)
    served_app(client).state.session_key()  # the secret file, as a server that served a page has it
    return {name: (settings.data_dir / name).read_bytes() for name in ("streetscan.db", "session-secret")}


@pytest.fixture
def references(settings: Settings, loot: dict[str, bytes], client: TestClient, auth: Auth) -> list[str]:
    """Evidence references that name something other than a stored image, symlinks included."""
    data, store = settings.data_dir, settings.evidence_dir
    real = store_image(client, auth, jpeg())
    linked_file = "ab/ab" + "0" * 62 + ".jpg"  # a well-formed key whose file is a link to the database
    (store / "ab").mkdir(parents=True, exist_ok=True)
    (store / linked_file).symlink_to(data / "streetscan.db")
    outside = data / "outside"  # a well-formed key under a folder that is a link out of the store
    outside.mkdir()
    linked_dir = "cd/cd" + "1" * 62 + ".jpg"
    (outside / linked_dir.split("/")[1]).write_bytes(SECRET_DB)
    (store / "cd").symlink_to(outside, target_is_directory=True)
    return [
        "streetscan.db",
        "session-secret",
        "./streetscan.db",
        "crops/../streetscan.db",
        "../streetscan.db",
        "evidence/../streetscan.db",
        "../../../../etc/passwd",
        str(data / "streetscan.db"),
        str(data / "session-secret"),
        "/etc/passwd",
        "file:///etc/passwd",
        "..\\streetscan.db",
        "%2e%2e%2fstreetscan.db",
        "..%2Fstreetscan.db",
        "%2e%2e/%2e%2e/etc/passwd",
        "streetscan.db%00.jpg",
        "streetscan.db\x00.jpg",
        f"{real}/../../../streetscan.db",
        real.upper(),
        "00" + real[2:],
        linked_file,
        linked_dir,
    ]


def leaked(body: bytes, loot: dict[str, bytes]) -> bool:
    return any(secret[:32] in body for secret in loot.values())


def evidence_urls(observation_id: int) -> list[str]:
    api = [f"/api/observations/{observation_id}/{kind}" for kind in EVIDENCE_KINDS]
    return api + [f"/evidence/{observation_id}/{kind}" for kind in EVIDENCE_KINDS]


def get(client: TestClient, url: str, auth: Auth) -> Any:
    """GET with the reviewer's token (the API) and the reviewer's web session (the web view)."""
    return client.get(url, headers=auth["reviewer"])


def test_the_reported_attack_fails(
    client: TestClient, auth: Auth, web_users: dict[str, str], loot: dict[str, bytes], engine: Engine
) -> None:
    item = {
        "track_id": "L1",
        "category": "street_vendor",
        "label": "x",
        "confidence": 0.5,
        "t_first": 0,
        "t_last": 1,
        "t_best": 1,
        "bbox": [1, 1, 2, 2],
        "crop": "streetscan.db",
        "keyframe": "session-secret",
    }
    result = send(client, auth, [item], source="x")
    assert result["accepted"] == 0
    error = result["results"][0]["error"]
    assert "crop: not an evidence key" in error and "keyframe: not an evidence key" in error
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(ObservationRow)).one() == 0
    kept = send(client, auth, [obs("ok")], source="x")["results"][0]["case_id"]
    observation_id = client.get(f"/api/cases/{kept}", headers=auth["reviewer"]).json()["observations"][0]["id"]
    logged_in(client, web_users["reviewer"])
    for url in evidence_urls(observation_id):
        response = get(client, url, auth)
        assert response.status_code == 404 and not leaked(response.content, loot), url


def test_ingest_refuses_every_reference_outside_the_store(
    client: TestClient, auth: Auth, references: list[str]
) -> None:
    items = [{**obs(str(i), north=50 * i), kind: ref} for i, ref in enumerate(references) for kind in EVIDENCE_KINDS]
    for i, item in enumerate(items):
        item["track_id"] = str(i)
    result = send(client, auth, items)
    assert result["accepted"] == 0, [(r["track_id"], r["error"]) for r in result["results"] if not r["error"]]
    for r, item in zip(result["results"], items, strict=True):
        field = "crop" if item["crop"] else "keyframe"
        assert r["case_id"] is None and r["error"].startswith(f"{field}: "), r
        assert any(why in r["error"] for why in ("not an evidence key", "no image", "NUL")), r


def test_no_evidence_route_serves_a_file_outside_the_store(
    client: TestClient,
    auth: Auth,
    web_users: dict[str, str],
    engine: Engine,
    references: list[str],
    loot: dict[str, bytes],
) -> None:
    """Rows that name anything but a stored image (as rows written before the check did) serve nothing."""
    if engine.dialect.name == "postgresql":  # its text columns cannot hold NUL characters at all
        references = [r for r in references if "\x00" not in r]
    results = send(client, auth, [obs(str(i), north=50 * i) for i in range(len(references))])["results"]
    ids = []
    with Session(engine) as session:
        for result, reference in zip(results, references, strict=True):
            row = session.exec(select(ObservationRow).where(ObservationRow.track_id == result["track_id"])).one()
            stmt = update(ObservationRow).where(col(ObservationRow.id) == row.id)
            session.exec(stmt.values(crop=reference, keyframe=reference))
            ids.append(row_id(row))
        session.commit()
    logged_in(client, web_users["reviewer"])
    for observation_id, reference in zip(ids, references, strict=True):
        for url in evidence_urls(observation_id):
            response = get(client, url, auth)
            assert response.status_code == 404, (url, reference, response.status_code)
            assert not leaked(response.content, loot), (url, reference)


@pytest.mark.parametrize(
    "tail",
    [
        "..%2F..%2Fstreetscan.db",
        "crop%2F..%2F..%2Fstreetscan.db",
        "%2e%2e",
        "%2e%2e%2fsession-secret",
        "crop/../../streetscan.db",
        "..%5cstreetscan.db",
        "crop%00",
        "streetscan.db",
    ],
)
def test_url_encoded_paths_reach_no_file(
    client: TestClient, auth: Auth, web_users: dict[str, str], loot: dict[str, bytes], tail: str
) -> None:
    case = send(client, auth, [obs("1", crop=store_image(client, auth, jpeg()))])["results"][0]["case_id"]
    observation_id = client.get(f"/api/cases/{case}", headers=auth["reviewer"]).json()["observations"][0]["id"]
    logged_in(client, web_users["reviewer"])
    for url in (
        f"/api/observations/{observation_id}/{tail}",
        f"/evidence/{observation_id}/{tail}",
        f"/evidence/{tail}/crop",
        f"/api/observations/{tail}/crop",
        f"/static/{tail}",
    ):
        response = get(client, url, auth)
        assert response.status_code in (404, 422), (url, response.status_code)
        assert not leaked(response.content, loot), url


def sign(payload: object, key: bytes) -> str:
    """A cookie value for any payload, signed with ``key`` (as someone holding the secret could)."""
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()).rstrip(b"=")
    return f"{body}.{signature.decode()}"


def test_a_stolen_secret_and_database_forge_no_session(
    client: TestClient, web_users: dict[str, str], loot: dict[str, bytes], engine: Engine, clock: Any
) -> None:
    logged_in(client, web_users["admin"])  # a live admin session exists
    key = loot["session-secret"].strip()
    later = int(clock.now.timestamp()) + 3600
    with Session(engine) as session:
        stolen_hashes = session.exec(select(WebSessionRow.id_hash)).all()
    forged = [
        sign(["csrf", later, 2, "0" * 16], key),  # the former cookie format: user id + password fingerprint
        sign(["csrf", later, 2], key),
        encode(WebSession("csrf", later, "made-up-session-id"), key),
        *(encode(WebSession("csrf", later, digest), key) for digest in stolen_hashes),  # the database holds digests
    ]
    assert stolen_hashes
    for value in forged:
        client.cookies.clear()
        client.cookies.set(COOKIE, value)
        assert client.get("/admin/users", follow_redirects=False).status_code == 303, value
        assert client.get("/review", follow_redirects=False).status_code == 303, value


def test_huge_ids_and_offsets_are_refused_not_server_errors(
    client: TestClient, auth: Auth, web_users: dict[str, str]
) -> None:
    logged_in(client, web_users["admin"])
    admin = auth["admin"]
    for n in HUGE:
        for method, url, body in [
            ("GET", f"/api/cases/{n}", None),
            ("GET", f"/api/batches/{n}", None),
            ("GET", f"/api/cameras/{n}", None),
            ("PATCH", f"/api/cameras/{n}", {"fps": 1}),
            ("DELETE", f"/api/cameras/{n}", None),
            ("GET", f"/api/observations/{n}/crop", None),
            ("POST", f"/api/cases/{n}/review", {"decision": "confirm"}),
            ("POST", f"/api/cases/{n}/status", {"status": "closed"}),
            ("POST", f"/api/hotspots/{n}/locate", {"lat": 1, "lon": 1}),
            ("POST", "/api/hotspots/1/locate", {"case_id": n}),
            ("POST", "/api/cases/1/review", {"decision": "confirm", "version": n}),
            ("GET", f"/api/cases?offset={n * 2**32}", None),
            ("GET", f"/api/cases?hotspot_id={n}", None),
            ("GET", f"/api/batches?offset={n * 2**32}", None),
            ("GET", f"/cases/{n}", None),
            ("GET", f"/evidence/{n}/crop", None),
            ("GET", f"/review/cards?after=0.5~{n}&order=confidence", None),
            ("GET", f"/review/cards?after=2025-05-12T00:00:00~{n}", None),
        ]:
            response = client.request(method, url, json=body, headers=admin)
            assert response.status_code == 422, (method, url, response.status_code, response.text)
    token = logged_in(client, web_users["admin"])
    decide = client.post(
        "/review/decide", json={"ids": [2**63], "decision": "confirm"}, headers={"X-CSRF-Token": token}
    )
    assert decide.status_code == 422
    assign = client.post("/cases/1/hotspot", data={"hotspot_id": str(2**63), "csrf_token": token})
    assert assign.status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"until": "0.5"},
        {"since": "1700000000"},
        {"since": "0001-01-01T00:00:00+14:00"},
        {"until": "9999-12-31T23:59:59-14:00"},
        {"since": "yesterday"},
        {"category": "x\x00"},
        {"category": "x" * 65},
    ],
)
def test_bad_list_parameters_are_422(client: TestClient, auth: Auth, params: dict[str, str]) -> None:
    response = client.get("/api/cases", params=params, headers=auth["reviewer"])
    assert response.status_code == 422 and isinstance(response.json()["detail"], list), response.text


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"observed_at": "0001-01-01T00:00:00+14:00"}, "observed_at: time out of range"),
        ({"observed_at": "9999-12-31T23:59:59-14:00"}, "observed_at: time out of range"),
        ({"observed_at": 0.5}, "observed_at: expected an ISO-8601"),
        ({"bbox": [0, 0, 10, 1e9]}, "bbox coordinates must be pixels from 0 to 100000"),
        ({"bbox": [-5, 0, 10, 10]}, "bbox coordinates must be pixels"),
        ({"t_last": 2e6}, "t_last: Input should be less than or equal to"),
        ({"track_id": "a\x00b"}, "track_id: text must not contain NUL"),
        ({"label": "\ud800"}, "label: Input should be a valid string"),
    ],
)
def test_out_of_range_items_are_item_errors_and_the_rest_is_stored(
    client: TestClient, auth: Auth, fields: dict[str, Any], reason: str
) -> None:
    body = json.dumps(
        {"source": "s", "observations": [obs("good-1"), {**obs("bad"), **fields}, obs("good-2", east=100)]}
    )
    response = client.post(
        "/api/observations", content=body, headers={**auth["uploader"], "Content-Type": "application/json"}
    )
    result = response.json()
    first, bad, last = result["results"]
    assert result["accepted"] == 2 and first["case_id"] and last["case_id"]
    assert bad["case_id"] is None and reason in bad["error"], bad["error"]


def test_infinite_numbers_are_item_errors(client: TestClient, auth: Auth) -> None:
    body = json.dumps({"source": "s", "observations": [obs("1", bbox=[0, 0, 10, float("inf")]), obs("2", north=80)]})
    response = client.post(
        "/api/observations", content=body, headers={**auth["uploader"], "Content-Type": "application/json"}
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1
    assert "bbox" in response.json()["results"][0]["error"]


def still_images() -> dict[str, bytes]:
    image = np.full((32, 48, 3), 90, np.uint8)
    return {ext: cv2.imencode(ext, image)[1].tobytes() for ext in (".png", ".jpg")} | {".gif": b"GIF89a" + b"\x00" * 64}


@pytest.mark.parametrize("kind", [".png", ".jpg", ".gif"])
def test_a_still_image_sent_as_a_video_is_rejected_not_queued(
    client: TestClient, auth: Auth, engine: Engine, kind: str
) -> None:
    files = [("files", (f"patrol{kind}.mp4", still_images()[kind], "video/mp4"))]
    response = client.post("/api/batches", files=files, headers=auth["uploader"])
    assert response.status_code == 202, response.text
    (file,) = response.json()["files"]
    assert file["status"] == "rejected" and "still image" in file["error"] and file["job_id"] is None
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Job)).one() == 0


@pytest.mark.parametrize(
    ("ring", "reason", "pixel_reason"),
    [
        ([[0, 0], [20, 20], [20, 0], [0, 20]], "Self-intersection", "Self-intersection"),
        ([[0, 0], [10, 10], [20, 20]], "no area", "Self-intersection"),  # in degrees, rounding leaves a sliver
        ([[0, 0], [0, 0], [0, 0]], "Too few points", "Too few points"),
    ],
)
def test_self_intersecting_or_flat_polygons_are_refused_with_the_reason(
    client: TestClient, auth: Auth, ring: list[list[float]], reason: str, pixel_reason: str
) -> None:
    geometry = polygon(ring)
    feature = {"type": "Feature", "id": "p", "geometry": geometry, "properties": {"name": "p", "kind": "public_place"}}
    response = client.post(
        "/api/hotspots/import", json={"type": "FeatureCollection", "features": [feature]}, headers=auth["admin"]
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert "Polygon is not valid" in error["msg"] and reason in error["msg"], error
    camera = {"name": "c", "url": "rtsp://127.0.0.1/x", "lat": 1, "lon": 1, "fps": 1, "regions": [ring]}
    refused = client.post("/api/cameras", json=camera, headers=auth["admin"])
    assert refused.status_code == 422 and pixel_reason in refused.text


@pytest.fixture
def small_limit(engine: Engine, database_url: str, tmp_path: Path, clock: Any) -> Iterator[TestClient]:
    """The app with a 1 MiB body limit."""
    settings = Settings(database_url=database_url, data_dir=tmp_path, hotspot_catalog=None, max_body_mb=1)
    with TestClient(create_app(settings, clock)) as test_client:
        yield test_client


def test_json_bodies_over_the_limit_are_413_before_parsing(small_limit: TestClient, auth: Auth) -> None:
    big = json.dumps({"source": "s", "observations": [obs(str(i)) for i in range(5000)]}).encode()
    assert len(big) > 1024 * 1024
    headers = {**auth["uploader"], "Content-Type": "application/json"}
    for sent in ({}, auth["uploader"]):
        at_once = small_limit.post(
            "/api/observations", content=big, headers={**sent, "Content-Type": "application/json"}
        )
        assert at_once.status_code == 413 and "limit is 1 MiB" in at_once.json()["detail"]
    chunks = (big[i : i + 65536] for i in range(0, len(big), 65536))  # no Content-Length: counted as it streams
    streamed = small_limit.post("/api/observations", content=chunks, headers=headers)
    assert streamed.status_code == 413 and "limit is 1 MiB" in streamed.json()["detail"]
    form = small_limit.post("/login", data={"username": "x" * (1024 * 1024 + 1)})
    assert form.status_code == 413
    assert (
        small_limit.post(
            "/api/observations", json={"source": "s", "observations": [obs()]}, headers=headers
        ).status_code
        == 200
    )


def asgi_post(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, bool]:
    """POST a JSON body straight to the app; (status, whether the app read the body)."""
    body = json.dumps({"source": "s", "observations": []}).encode()
    read = []

    async def call() -> int:
        async def receive() -> dict[str, Any]:
            read.append(True)
            return {"type": "http.request", "body": body, "more_body": False}

        sent: list[MutableMapping[str, Any]] = []

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await served_app(client)(scope, receive, send)
        return sent[0]["status"]

    return client.portal.call(call), bool(read)


def test_the_caller_is_checked_before_the_body_is_read(
    client: TestClient, auth: Auth, web_users: dict[str, str]
) -> None:
    token = logged_in(client, web_users["reviewer"])
    session = {"Cookie": f"{COOKIE}={client.cookies[COOKIE]}", "X-CSRF-Token": token}
    for path, headers, expected in [
        ("/api/observations", {}, 401),
        ("/api/observations", {"Authorization": "Bearer forged"}, 401),
        ("/api/observations", auth["reviewer"], 403),
        ("/api/observations", auth["uploader"], 200),
        ("/review/decide", {}, 401),
        ("/review/decide", {"Cookie": f"{COOKIE}=forged.cookie"}, 401),
        ("/review/decide", session, 422),  # a session: the body is read (and is no decision)
    ]:
        status, read = asgi_post(client, path, headers)
        assert status == expected and read == (expected not in (401, 403)), (path, headers, status, read)


def test_data_folder_and_database_file_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    old_umask = os.umask(0o022)
    try:
        with TestClient(create_app(Settings(data_dir=data, hotspot_catalog=None))) as fresh:
            assert fresh.get("/api/health").status_code == 200
    finally:
        os.umask(old_umask)
    assert data.stat().st_mode & 0o777 == 0o700
    assert (data / "streetscan.db").stat().st_mode & 0o777 == 0o600
    assert (data / "streetscan.db").stat().st_size > 0


def test_every_error_has_the_documented_shape(client: TestClient, auth: Auth) -> None:
    responses = [
        client.get("/api/cases/1"),
        client.get("/api/cases/1", headers=auth["reviewer"]),
        client.post("/api/cases/1/review", json={"decision": "confirm"}, headers=auth["uploader"]),
        client.get("/api/cases", params={"limit": 0}, headers=auth["reviewer"]),
        client.post(
            "/api/hotspots/import", json={"type": "FeatureCollection", "features": [{}]}, headers=auth["admin"]
        ),
        client.post("/api/hotspots/import", json=[], headers=auth["admin"]),
        client.post(
            "/api/observations", content=b"\xff\xfe", headers={**auth["uploader"], "Content-Type": "application/json"}
        ),
        client.post("/api/evidence", content=b"x", headers={**auth["uploader"], "Content-Type": "text/plain"}),
        client.get("/api/nowhere"),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500
        detail = response.json()["detail"]
        assert isinstance(detail, str) or all({"loc", "msg", "type"} <= set(item) for item in detail), detail


def test_every_operation_documents_its_errors(client: TestClient) -> None:
    for path, methods in served_app(client).openapi()["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            expected = set()
            if operation.get("security"):
                expected.add("401")
            if "requestBody" in operation:
                expected |= {"400", "413", "422"}
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                expected |= {"404", "422"}
            assert expected <= codes, (method, path, sorted(codes))
            for code in codes - {"200", "201", "202", "204"}:
                assert code.startswith("4"), (method, path, code)
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)
