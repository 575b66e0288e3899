"""Web view security: pages and images need a session, roles hold, posts need the CSRF token,
cookies are signed, HttpOnly, SameSite=Lax (Secure over https) and expire."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from service.auth.sessions import TTL
from service.auth.users import find_user, set_password
from service.models.observations import ObservationRow
from service.web.sessions import COOKIE
from tests.service.builders import Auth, jpeg, obs, send, store_image
from tests.service.web_client import PASSWORD, csrf_of, logged_in, login

PAGES = ["/review", "/cases/1", "/hotspots", "/admin/users", "/review?order=confidence", "/units/1"]


CROP = jpeg(90)


@pytest.fixture
def case_id(client: TestClient, auth: Auth) -> int:
    """One case whose observation has a crop in the evidence store."""
    return send(client, auth, [obs("1", crop=store_image(client, auth, CROP))])["results"][0]["case_id"]


def observation_id(client: TestClient, auth: Auth, case: int) -> int:
    return client.get(f"/api/cases/{case}", headers=auth["reviewer"]).json()["observations"][0]["id"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_visitors_without_a_session_to_the_login_form(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2F")
    assert client.get(path).url.path == "/login"


def test_evidence_images_and_fragments_need_a_session(
    client: TestClient, auth: Auth, web_users: dict[str, str], case_id: int
) -> None:
    image_url = f"/evidence/{observation_id(client, auth, case_id)}/crop"
    for path in (image_url, "/review/cards?after=0.5~1"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=auth["reviewer"]).status_code == 401  # an API token is no session
    logged_in(client, web_users["reviewer"])
    image = client.get(image_url)
    assert image.status_code == 200 and image.content == CROP
    assert image.headers["cache-control"].startswith("private")
    assert client.get(image_url.replace("crop", "keyframe")).status_code == 404
    assert client.get(image_url.replace("crop", "bbox")).status_code == 404


def test_evidence_outside_the_store_is_never_served(
    client: TestClient, auth: Auth, web_users: dict[str, str], engine: Engine, case_id: int
) -> None:
    refused = send(client, auth, [obs("2", crop="../../../../etc/passwd")])["results"][0]
    assert refused["case_id"] is None and "not an evidence key" in refused["error"]
    with Session(engine) as session:  # a row that bypassed the check (written before it existed)
        row = session.exec(select(ObservationRow).where(ObservationRow.case_id == case_id)).one()
        row.crop = "../../../../etc/passwd"
        session.add(row)
        session.commit()
    logged_in(client, web_users["reviewer"])
    assert client.get(f"/evidence/{observation_id(client, auth, case_id)}/crop").status_code == 404


def test_login_sets_a_signed_httponly_lax_cookie(client: TestClient, web_users: dict[str, str]) -> None:
    response = login(client, web_users["reviewer"], next_url="/hotspots")
    assert response.status_code == 303 and response.headers["location"] == "/hotspots"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie and f"Max-Age={int(TTL.total_seconds())}" in cookie
    assert client.get("/hotspots").status_code == 200


def test_cookie_is_secure_over_https(client: TestClient, web_users: dict[str, str]) -> None:
    client.base_url = client.base_url.copy_with(scheme="https")
    assert "Secure" in client.get("/login").headers["set-cookie"]
    assert "Secure" in login(client, web_users["reviewer"]).headers["set-cookie"]


@pytest.mark.parametrize(
    ("password", "user", "status", "message"),
    [
        ("wrong password", "reviewer", 401, "用户名或密码错误"),
        (PASSWORD, "nobody", 401, "用户名或密码错误"),
        (PASSWORD, "uploader", 403, "该账号无审核权限"),
    ],
)
def test_failed_login_opens_no_session(
    client: TestClient, web_users: dict[str, str], password: str, user: str, status: int, message: str
) -> None:
    response = login(client, web_users.get(user, user), password)
    assert response.status_code == status and message in response.text
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_tampered_or_expired_sessions_are_refused(client: TestClient, web_users: dict[str, str], clock: Any) -> None:
    logged_in(client, web_users["reviewer"])
    good = client.cookies[COOKIE]
    payload, _, signature = good.partition(".")
    for forged in (f"{payload}.{signature[:-2]}xx", f"{payload[:-2]}AA.{signature}", "garbage", "", good + "x"):
        client.cookies.clear()
        client.cookies.set(COOKIE, forged)
        assert client.get("/review", follow_redirects=False).status_code == 303, forged
    client.cookies.clear()
    client.cookies.set(COOKIE, good)
    assert client.get("/review").status_code == 200
    clock.advance(seconds=TTL.total_seconds() + 1)
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_a_password_change_ends_the_sessions(client: TestClient, web_users: dict[str, str], engine: Engine) -> None:
    logged_in(client, web_users["reviewer"])
    with Session(engine) as session:
        set_password(session, find_user(session, web_users["reviewer"]), "a brand new password")
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_reviewer_cannot_reach_admin_pages(client: TestClient, web_users: dict[str, str], case_id: int) -> None:
    token = logged_in(client, web_users["reviewer"])
    page = client.get("/admin/users")
    assert page.status_code == 403 and "需要管理员角色" in page.text
    assert "/admin/users" not in client.get("/review").text  # no link either
    add = client.post("/admin/users", data={"name": "x", "role": "admin", "password": "12345678", "csrf_token": token})
    assert add.status_code == 403
    assign = client.post(f"/cases/{case_id}/hotspot", data={"hotspot_id": "1", "csrf_token": token})
    assert assign.status_code == 403
    assert 'name="hotspot_id"' not in client.get(f"/cases/{case_id}").text
    token = logged_in(client, web_users["admin"])
    assert client.get("/admin/users").status_code == 200
    added = client.post(
        "/admin/users", data={"name": "new-rev", "role": "reviewer", "password": "12345678", "csrf_token": token}
    )
    assert added.status_code == 200 and "new-rev" in added.text and 'class="token"' in added.text


def test_posts_without_the_csrf_token_are_refused(
    client: TestClient, auth: Auth, web_users: dict[str, str], case_id: int
) -> None:
    token = logged_in(client, web_users["admin"])
    posts: list[tuple[str, dict[str, Any]]] = [
        ("/review/decide", {"json": {"ids": [case_id], "decision": "confirm"}}),
        (f"/cases/{case_id}/status", {"data": {"status": "confirmed"}}),
        (f"/cases/{case_id}/hotspot", {"data": {"hotspot_id": "1"}}),
        ("/admin/users", {"data": {"name": "x", "role": "admin", "password": "12345678"}}),
        ("/logout", {"data": {}}),
    ]
    for path, body in posts:
        for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": ""}):
            response = client.post(path, headers=headers, follow_redirects=False, **body)
            assert response.status_code == 403, (path, headers, response.text)
    assert (
        client.post(f"/cases/{case_id}/status", data={"status": "confirmed", "csrf_token": "x" + token}).status_code
        == 403
    )
    assert client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()["status"] == "new"
    ok = client.post("/review/decide", json={"ids": [case_id], "decision": "confirm"}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 200 and ok.json()["results"][0]["status"] == "confirmed"


def test_login_needs_the_token_of_its_own_form(client: TestClient, web_users: dict[str, str]) -> None:
    """Login CSRF: a post without the anonymous session's token (or with another's) is refused."""
    form = {"username": web_users["reviewer"], "password": PASSWORD}
    assert client.post("/login", data=form).status_code == 403
    other = csrf_of(client.get("/login").text)
    client.cookies.clear()
    client.get("/login")  # a new anonymous session with another token
    response = client.post("/login", data={**form, "csrf_token": other}, follow_redirects=False)
    assert response.status_code == 403 and "表单已过期" in response.text


def test_logout_ends_the_session(client: TestClient, web_users: dict[str, str]) -> None:
    token = logged_in(client, web_users["reviewer"])
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/review", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(client: TestClient, web_users: dict[str, str], target: str) -> None:
    assert login(client, web_users["reviewer"], next_url=target).headers["location"] == "/review"


def test_pages_carry_security_headers(client: TestClient, web_users: dict[str, str]) -> None:
    logged_in(client, web_users["reviewer"])
    headers = client.get("/review").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"
