"""Tokens, passwords and role checks: a wrong or missing token is a 401/403, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from service.auth.users import authenticate, hash_password, hash_token, user_for_token, verify_password
from service.cli import main

EMPTY_BATCH = {"source": "s", "observations": []}
EMPTY_CATALOG = {"type": "FeatureCollection", "features": []}


def test_password_hash_is_salted_and_verifies() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("correct horse", first)
    assert not verify_password("wrong horse", first)
    assert not verify_password("correct horse", None)
    assert not verify_password("correct horse", "scrypt$garbage")


def test_token_hash_is_sha256_hex() -> None:
    assert len(hash_token("abc")) == 64 and hash_token("abc") != hash_token("abd")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer no-such-token",
        "Bearer \u00e9t\u00e9".encode("latin-1"),  # not ASCII
    ],
)
def test_missing_or_bad_token_is_401(client: TestClient, authorization: str | bytes | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path, body in [
        ("POST", "/api/observations", EMPTY_BATCH),
        ("GET", "/api/cases", None),
        ("GET", "/api/cases/1", None),
        ("POST", "/api/hotspots/import", EMPTY_CATALOG),
        ("GET", "/api/users/me", None),
    ]:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "expected"),
    [
        ("reviewer", "POST", "/api/observations", EMPTY_BATCH, 403),
        ("uploader", "POST", "/api/observations", EMPTY_BATCH, 200),
        ("admin", "POST", "/api/observations", EMPTY_BATCH, 200),
        ("uploader", "POST", "/api/cases/1/review", {"decision": "confirm"}, 403),
        ("reviewer", "POST", "/api/cases/1/review", {"decision": "confirm"}, 404),
        ("uploader", "POST", "/api/cases/1/status", {"status": "closed"}, 403),
        ("reviewer", "POST", "/api/hotspots/import", EMPTY_CATALOG, 403),
        ("uploader", "POST", "/api/hotspots/1/locate", {"lat": 1, "lon": 1}, 403),
        ("admin", "POST", "/api/hotspots/import", EMPTY_CATALOG, 200),
        ("uploader", "GET", "/api/cases", None, 200),
        ("reviewer", "GET", "/api/cases", None, 200),
    ],
)
def test_roles(
    client: TestClient, auth: dict[str, dict[str, str]], role: str, method: str, path: str, body: object, expected: int
) -> None:
    response = client.request(method, path, json=body, headers=auth[role])
    assert response.status_code == expected, response.text


def test_public_reads(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/hotspots").json()["type"] == "FeatureCollection"


def test_me(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    assert client.get("/api/users/me", headers=auth["reviewer"]).json()["role"] == "reviewer"


def test_cli_user_add_prints_token(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STREETSCAN_DATABASE_URL", database_url)
    assert main(["user", "add", "wang", "--role", "reviewer", "--password", "s3cret-pass"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    with Session(engine) as session:
        assert user_for_token(session, token).name == "wang"
        assert authenticate(session, "wang", "s3cret-pass").role == "reviewer"
        assert authenticate(session, "wang", "wrong-pass") is None
    assert main(["user", "add", "wang", "--role", "admin"]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["user", "add", "li", "--role", "admin", "--password", "short"]) == 2
