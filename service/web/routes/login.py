"""Logging in and out, the language switch, and ``/``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import RedirectResponse, Response

from service.api.deps import SessionDep
from service.auth import authenticate, has_role
from service.models import Role
from service.web.deps import csrf_ok, poster, read_session, session_key
from service.web.i18n import LANG_COOKIE, LANGS
from service.web.render import Page, render
from service.web.sessions import WebSession, clear_cookie, password_fingerprint, set_cookie

router = APIRouter(include_in_schema=False)
HOME = "/review"
LANG_MAX_AGE_S = 365 * 24 * 3600


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in; anything else (other sites included) goes home."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return HOME
    return target


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse(HOME, status.HTTP_303_SEE_OTHER)


def _login_form(request: Request, next_url: str | None, error: str | None = None, status_code: int = 200) -> Response:
    """The form, with the CSRF token of the visitor's session (a new anonymous one if needed)."""
    session = read_session(request)
    fresh = session is None or error == "form_expired"
    if fresh:
        session = WebSession.start(request.app.state.clock())
    response = render(
        Page(request, csrf=session.csrf), "login.html", status_code, next_url=safe_next(next_url), error=error
    )
    if fresh:
        set_cookie(response, request, session, session_key(request))
    return response


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query parameter's name
    return _login_form(request, next)


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME,  # noqa: A002
) -> Response:
    """Check the CSRF token of the anonymous session, then the password; a new session on success."""
    if not csrf_ok(read_session(request), csrf_token):
        return _login_form(request, next, "form_expired", status.HTTP_403_FORBIDDEN)
    user = authenticate(db, username, password)
    if user is None:
        return _login_form(request, next, "bad_login", status.HTTP_401_UNAUTHORIZED)
    if not has_role(user, Role.reviewer):
        return _login_form(request, next, "no_web_role", status.HTTP_403_FORBIDDEN)
    key = session_key(request)
    session = WebSession.start(request.app.state.clock(), user.id, password_fingerprint(key, user.password_hash))
    response = RedirectResponse(safe_next(next), status.HTTP_303_SEE_OTHER)
    set_cookie(response, request, session, key)
    return response


@router.post("/logout", dependencies=[Depends(poster)])
def logout(request: Request) -> RedirectResponse:
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    clear_cookie(response, request)
    return response


@router.get("/lang/{lang}")
def choose_language(request: Request, lang: str, next: str | None = None) -> RedirectResponse:  # noqa: A002
    """Remember the interface language (zh or en) in a cookie and go back."""
    response = RedirectResponse(safe_next(next), status.HTTP_303_SEE_OTHER)
    if lang in LANGS:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=LANG_MAX_AGE_S, samesite="lax", secure=request.url.scheme == "https"
        )
    return response
