"""Logins, sessions and tokens: throttled failed logins, no user enumeration by timing, sessions
that end on the server (logout, password change, disabling), tokens that can be listed, revoked
and given an expiry, and the first-run setup link."""

from __future__ import annotations

import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from service.app import create_app
from service.auth.users import authenticate, create_user, find_user, set_disabled, user_for_token
from service.cli import main
from service.models.users import Role
from service.settings import Settings
from service.web.sessions import COOKIE
from tests.service.builders import Auth, served_app
from tests.service.web_client import PASSWORD, csrf_of, logged_in, login

NEW_PASSWORD = "another good password"


def test_thirty_wrong_logins_for_one_account_are_throttled(
    client: TestClient, web_users: dict[str, str], clock: Any
) -> None:
    name = web_users["reviewer"]
    statuses = [login(client, name, f"wrong {i}").status_code for i in range(30)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    locked = login(client, name, PASSWORD)  # the right password does not open a locked account
    assert locked.status_code == 429 and locked.headers["retry-after"] == "30"
    assert "登录失败次数过多，请 30 秒后再试" in locked.text
    clock.advance(seconds=31)
    assert login(client, name, "wrong again").status_code == 401
    growing = login(client, name, PASSWORD)
    assert growing.status_code == 429 and growing.headers["retry-after"] == "60"  # each failure doubles the wait
    clock.advance(seconds=61)
    assert login(client, name, PASSWORD).status_code == 303
    client.cookies.clear()
    assert login(client, name, "one slip").status_code == 401  # a success starts the count afresh


def test_failures_from_one_address_are_throttled_across_accounts(client: TestClient, web_users: dict[str, str]) -> None:
    for i in range(20):
        assert login(client, f"guess-{i}", "password").status_code == 401
    assert login(client, web_users["admin"], PASSWORD).status_code == 429


def test_an_unknown_user_costs_as_much_as_a_wrong_password(engine: Engine, web_users: dict[str, str]) -> None:
    with Session(engine) as session:
        set_disabled(session, create_user(session, "gone", Role.reviewer, PASSWORD)[0], True)

        def median_s(name: str, password: str) -> float:
            times = []
            for _ in range(5):
                start = time.perf_counter()
                assert authenticate(session, name, password) is None
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        wrong = median_s(web_users["reviewer"], "wrong password")
        for name, password in (("nobody-here", "wrong password"), ("gone", PASSWORD), ("x\x00", "p")):
            assert median_s(name, password) > 0.5 * wrong, name


def copied_cookie(client: TestClient, name: str) -> tuple[str, str]:
    """Log ``name`` in; their CSRF token and a copy of their session cookie."""
    token = logged_in(client, name)
    return token, client.cookies[COOKIE]


def opens(client: TestClient, cookie: str) -> bool:
    """Whether a session cookie, sent on its own, opens the review queue."""
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    return client.get("/review", follow_redirects=False).status_code == 200


def test_logout_ends_the_session_on_the_server(client: TestClient, web_users: dict[str, str]) -> None:
    token, cookie = copied_cookie(client, web_users["reviewer"])
    _, other_device = copied_cookie(client, web_users["reviewer"])
    assert opens(client, cookie)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert not opens(client, cookie)  # the copied cookie is dead
    assert opens(client, other_device)  # another session of the same user is not


def test_admin_resets_a_password_and_disables_a_user_on_the_web(
    client: TestClient, auth: Auth, web_users: dict[str, str], engine: Engine
) -> None:
    _, cookie = copied_cookie(client, web_users["reviewer"])
    with Session(engine) as session:
        reviewer = find_user(session, web_users["reviewer"])
        reviewer_id, admin_id = reviewer.id, find_user(session, web_users["admin"]).id
        _, token = create_user(session, "patrol-laptop", Role.uploader)
    token_headers = {"Authorization": f"Bearer {token}"}
    admin_csrf = logged_in(client, web_users["admin"])
    reset = client.post(
        f"/admin/users/{reviewer_id}/password", data={"password": NEW_PASSWORD, "csrf_token": admin_csrf}
    )
    assert reset.status_code == 200 and "密码已重置" in reset.text
    short = client.post(f"/admin/users/{reviewer_id}/password", data={"password": "short", "csrf_token": admin_csrf})
    assert short.status_code == 422
    assert not opens(client, cookie)
    client.cookies.clear()
    assert login(client, web_users["reviewer"], PASSWORD).status_code == 401
    assert login(client, web_users["reviewer"], NEW_PASSWORD).status_code == 303
    cookie = client.cookies[COOKIE]

    admin_csrf = logged_in(client, web_users["admin"])
    with Session(engine) as session:
        uploader_id = find_user(session, "patrol-laptop").id
    for user_id in (reviewer_id, uploader_id):
        page = client.post(f"/admin/users/{user_id}/disable", data={"csrf_token": admin_csrf})
        assert page.status_code == 200 and "已停用该用户" in page.text
    assert client.get("/api/users/me", headers=token_headers).status_code == 401
    assert not opens(client, cookie)
    client.cookies.clear()
    assert login(client, web_users["reviewer"], NEW_PASSWORD).status_code == 401
    admin_csrf = logged_in(client, web_users["admin"])
    itself = client.post(f"/admin/users/{admin_id}/disable", data={"csrf_token": admin_csrf})
    assert itself.status_code == 409 and "不能停用自己的账号" in itself.text
    assert client.post(f"/admin/users/{uploader_id}/enable", data={"csrf_token": admin_csrf}).status_code == 200
    assert client.get("/api/users/me", headers=token_headers).json()["name"] == "patrol-laptop"


def cli(monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str) -> int:
    monkeypatch.setenv("STREETSCAN_DATABASE_URL", database_url)
    return main(list(args))


def test_cli_disable_enable_and_passwd(
    client: TestClient,
    web_users: dict[str, str],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = web_users["reviewer"]
    _, cookie = copied_cookie(client, name)
    assert cli(monkeypatch, database_url, "user", "passwd", name, "--password", NEW_PASSWORD) == 0
    assert not opens(client, cookie)
    client.cookies.clear()
    assert login(client, name, NEW_PASSWORD).status_code == 303
    cookie = client.cookies[COOKIE]
    assert cli(monkeypatch, database_url, "user", "disable", name) == 0
    assert not opens(client, cookie)
    client.cookies.clear()
    assert login(client, name, NEW_PASSWORD).status_code == 401
    assert cli(monkeypatch, database_url, "user", "enable", name) == 0
    assert login(client, name, NEW_PASSWORD).status_code == 303
    assert cli(monkeypatch, database_url, "user", "passwd", name, "--password", "short") == 2
    assert cli(monkeypatch, database_url, "user", "disable", "nobody") == 1
    assert "no user 'nobody'" in capsys.readouterr().err


def test_cli_tokens_add_list_revoke_and_expire(
    client: TestClient,
    auth: Auth,
    clock: Any,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    clock.now = datetime.now(UTC)  # the command line reads the wall clock
    until = (clock.now + timedelta(hours=2)).isoformat()
    assert cli(monkeypatch, database_url, "token", "add", "uploader-1", "--name", "laptop 7", "--expires", until) == 0
    token = capsys.readouterr().out.strip().split()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/users/me", headers=headers).json()["name"] == "uploader-1"
    assert cli(monkeypatch, database_url, "token", "list", "--user", "uploader-1") == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == 2 and "laptop 7" in rows[1] and rows[1].endswith("active") and "first token" in rows[0]
    clock.advance(hours=2)
    assert client.get("/api/users/me", headers=headers).status_code == 401  # expired
    token_id = rows[0].split()[0]
    assert client.get("/api/users/me", headers=auth["uploader"]).status_code == 200
    assert cli(monkeypatch, database_url, "token", "revoke", token_id) == 0
    assert client.get("/api/users/me", headers=auth["uploader"]).status_code == 401  # revoked
    assert cli(monkeypatch, database_url, "token", "list") == 0
    listing = capsys.readouterr().out
    assert re.search(rf"^\s*{token_id}\s+uploader-1\s+first token .* revoked$", listing, re.M), listing
    assert cli(monkeypatch, database_url, "token", "revoke", "999") == 1
    assert cli(monkeypatch, database_url, "token", "add", "nobody") == 1
    with pytest.raises(SystemExit):
        cli(monkeypatch, database_url, "token", "add", "uploader-1", "--expires", "soon")


def test_a_disabled_users_token_is_refused_by_lookup(engine: Engine) -> None:
    with Session(engine) as session:
        user, token = create_user(session, "crew", Role.uploader)
        assert token is not None and user_for_token(session, token).name == "crew"
        set_disabled(session, user, True)
        assert user_for_token(session, token) is None


def setup_path(stderr: str) -> str:
    """The path and query of the setup link a starting server printed."""
    found = re.search(r"http://\S+/setup\?token=\S+", stderr)
    assert found, stderr
    url = urlsplit(found.group(0))
    return f"{url.path}?{url.query}"


def test_first_run_prints_a_one_time_setup_link(
    engine: Engine, settings: Settings, clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(settings, clock)) as client:
        link = setup_path(capsys.readouterr().err)
        assert "尚无任何用户" in client.get("/login").text
        assert client.get("/setup?token=wrong").status_code == 404
        form = client.get(link)
        assert form.status_code == 200 and "创建第一个管理员" in form.text
        token = link.split("token=")[1]
        fields = {"token": token, "name": "chief", "password": NEW_PASSWORD, "csrf_token": csrf_of(form.text)}
        differ = client.post("/setup", data={**fields, "password_again": "not the same"})
        assert differ.status_code == 422 and "两次输入的密码不一致" in differ.text
        made = client.post("/setup", data={**fields, "password_again": NEW_PASSWORD}, follow_redirects=False)
        assert made.status_code == 303 and made.headers["location"] == "/review"
        assert client.get("/admin/users").status_code == 200  # logged in as the new admin
        assert client.get(link).status_code == 404  # the link works once
        again = client.post("/setup", data={**fields, "name": "second", "password_again": NEW_PASSWORD})
        assert again.status_code == 404
        client.cookies.clear()
        assert "尚无任何用户" not in client.get("/login").text
    with Session(engine) as session:
        assert find_user(session, "chief").role == Role.admin
    with TestClient(create_app(settings, clock)) as client:  # a user exists: no link
        assert "/setup?token=" not in capsys.readouterr().err and served_app(client).state.setup is None


def test_the_setup_link_expires(
    engine: Engine, settings: Settings, clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(settings, clock)) as client:
        link = setup_path(capsys.readouterr().err)
        assert client.get(link).status_code == 200
        clock.advance(hours=1)
        assert client.get(link).status_code == 404
