"""Logging a TestClient in to the web view, and the users the web tests share."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlmodel import Session

from service.auth.users import create_user
from service.models.users import Role

PASSWORD = "correct horse battery"
USERS = {"reviewer": "wang-reviewer", "admin": "li-admin", "uploader": "zhao-uploader"}
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture
def web_users(engine: Engine) -> dict[str, str]:
    """One user with a password per role: role -> name."""
    with Session(engine) as session:
        for role, name in USERS.items():
            create_user(session, name, Role(role), PASSWORD)
    return USERS


def csrf_of(html: str) -> str:
    """The CSRF token a page carries in its ``csrf-token`` meta tag."""
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD, next_url: str = "/review") -> Response:
    """Fill in the login form like a browser: fetch it (anonymous session + token), then post it."""
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token, "next": next_url},
        follow_redirects=False,
    )


def logged_in(client: TestClient, name: str) -> str:
    """Log ``name`` in (forgetting any earlier session) and return the session's CSRF token."""
    client.cookies.clear()
    response = login(client, name)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/review").text)
