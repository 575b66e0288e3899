"""Logging in (throttled) and out, the language switch, and ``/``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, func, select

from service.auth.sessions import end_session, start_session
from service.auth.users import authenticate, has_role
from service.deps import SessionDep, WriterDep
from service.models.base import row_id
from service.models.users import Role, User
from service.web.deps import FIELD_ROLES, SessionPoster, WebRoute, csrf_ok, read_session, session_key
from service.web.i18n import LANG_COOKIE, LANGS
from service.web.render import Page, render
from service.web.sessions import WebSession, clear_cookie, set_cookie

router = APIRouter(include_in_schema=False, route_class=WebRoute)
HOME = "/review"
TASKS = "/tasks"
LANG_MAX_AGE_S = 365 * 24 * 3600


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in; anything else (other sites included) goes home."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return HOME
    return target


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse(HOME, status.HTTP_303_SEE_OTHER)


def no_users(db: Session) -> bool:
    """True before the first user exists (the setup link is the way in then)."""
    return not db.exec(select(func.count()).select_from(User)).one()


def anonymous_form(
    request: Request, template: str, status_code: int = 200, fresh: bool = False, **context: object
) -> Response:
    """A form page for visitors without a login, with the CSRF token of their anonymous session
    (a new one when they have none, or when ``fresh``)."""
    session = None if fresh else read_session(request)
    if session is None:
        session = WebSession.start(request.app.state.clock())
        fresh = True
    response = render(Page(request, csrf=session.csrf), template, status_code, **context)
    if fresh:
        set_cookie(response, request, session, session_key(request))
    return response


def _login_form(
    request: Request,
    db: Session,
    next_url: str | None,
    error: str | None = None,
    status_code: int = 200,
    retry_after: int = 0,
) -> Response:
    response = anonymous_form(
        request,
        "login.html",
        status_code,
        fresh=error == "form_expired",
        next_url=safe_next(next_url),
        error=error,
        retry_after=retry_after,
        no_users=no_users(db),
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login")
def login_page(request: Request, db: SessionDep, next: str | None = None) -> Response:
    return _login_form(request, db, next)


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    writer: WriterDep,
    username: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    """Check the CSRF token of the anonymous session, the throttle (429 with Retry-After after too
    many failures of this account or from this address), then the password; a new session on success."""
    if not csrf_ok(read_session(request), csrf_token):
        return _login_form(request, db, next, "form_expired", status.HTTP_403_FORBIDDEN)
    now = request.app.state.clock()
    accounts, addresses = request.app.state.account_throttle, request.app.state.address_throttle
    account, address = username.strip().casefold(), request.client.host if request.client else ""
    wait = max(accounts.retry_after(account, now.timestamp()), addresses.retry_after(address, now.timestamp()))
    if wait:
        return _login_form(request, db, next, "too_many", status.HTTP_429_TOO_MANY_REQUESTS, wait)
    user = authenticate(db, username, password)
    if user is None:
        accounts.failed(account, now.timestamp())
        addresses.failed(address, now.timestamp())
        return _login_form(request, db, next, "bad_login", status.HTTP_401_UNAUTHORIZED)
    accounts.succeeded(account)
    if not has_role(user, Role.reviewer, *FIELD_ROLES):
        return _login_form(request, db, next, "no_web_role", status.HTTP_403_FORBIDDEN)
    target = safe_next(next)
    if not has_role(user, Role.reviewer) and target == HOME:  # field officers and dispatchers: their tasks
        target = TASKS
    return logged_in(request, db, writer, user, target)


def logged_in(request: Request, db: Session, writer: WriterDep, user: User, target: str) -> RedirectResponse:
    """Start a server-side session for ``user`` and go to ``target`` with its cookie."""
    now = request.app.state.clock()
    with writer:
        session_id = start_session(db, row_id(user), now)
    response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    set_cookie(response, request, WebSession.start(now, session_id), session_key(request))
    return response


@router.post("/logout")
def logout(request: Request, db: SessionDep, writer: WriterDep, visitor: SessionPoster) -> RedirectResponse:
    """End the session on the server (its cookie, wherever copied, opens nothing any more)."""
    with writer:
        end_session(db, visitor.session_id)
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    clear_cookie(response, request)
    return response


@router.get("/lang/{lang}")
def choose_language(request: Request, lang: str, next: str | None = None) -> RedirectResponse:
    """Remember the interface language (zh or en) in a cookie and go back."""
    response = RedirectResponse(safe_next(next), status.HTTP_303_SEE_OTHER)
    if lang in LANGS:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=LANG_MAX_AGE_S, samesite="lax", secure=request.url.scheme == "https"
        )
    return response
