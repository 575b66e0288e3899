"""Who is looking: the session cookie's user, role checks and the CSRF check for every web post.

Pages (``PageViewer``) send a visitor without a session to the login form; images, fragments and
posts (``Viewer``, ``Poster``) answer 401 instead, before their body is read (``WebRoute``). Posts
must carry the session's CSRF token, in the ``X-CSRF-Token`` header (scripts) or the
``csrf_token`` form field (forms).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from service.auth.sessions import session_user
from service.auth.users import has_role
from service.deps import SessionDep, dependency_calls
from service.messages import Refusal
from service.models.users import Role, User
from service.web.sessions import COOKIE, WebSession, decode

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
FIELD_ROLES = (Role.field_officer, Role.dispatcher)
"""Roles that log in for the field pages only (their unit's tasks), besides reviewers and admins."""


class LoginRequired(Exception):
    """A page asked for without a valid session: answered with a redirect to the login form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageError(Exception):
    """An error shown as a page: ``status`` and why, a refusal the page shows in the visitor's language."""

    def __init__(self, status_code: int, key: str, **params: Any) -> None:
        self.refusal = Refusal(key, **params)
        super().__init__(str(self.refusal))
        self.status_code = status_code


@dataclass(frozen=True)
class Visitor:
    """A logged-in user and their session."""

    user: User
    session: WebSession

    @property
    def session_id(self) -> str:
        """The id of the visitor's server-side session."""
        if self.session.session_id is None:
            raise ValueError("an anonymous session has no visitor")
        return self.session.session_id

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.admin

    @property
    def reviews(self) -> bool:
        """Whether the visitor may use the review pages (a reviewer or an admin)."""
        return has_role(self.user, Role.reviewer)


def session_key(request: Request) -> bytes:
    return cast(bytes, request.app.state.session_key())


def read_session(request: Request) -> WebSession | None:
    """The request's valid session (anonymous or not), or None."""
    return decode(request.cookies.get(COOKIE), session_key(request), request.app.state.clock())


def _visitor(request: Request, db: SessionDep) -> Visitor | None:
    """The user of the request's live server-side session, or None."""
    session = read_session(request)
    if session is None or session.session_id is None:
        return None
    user = session_user(db, session.session_id, request.app.state.clock())
    return None if user is None else Visitor(user, session)


def page_visitor(request: Request, db: SessionDep) -> Visitor:
    """The reviewer or admin viewing a page; others go to the login form or get a 403 page."""
    visitor = _visitor(request, db)
    if visitor is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    if not has_role(visitor.user, Role.reviewer):
        raise PageError(status.HTTP_403_FORBIDDEN, "needs_reviewer")
    return visitor


def visitor(request: Request, db: SessionDep) -> Visitor:
    """The reviewer or admin behind an image, fragment or post; 401 without a session, 403 without
    the role. Checked once per request."""
    found = getattr(request.state, "visitor", None) or _visitor(request, db)
    if found is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first")
    if not has_role(found.user, Role.reviewer):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "needs role reviewer or admin")
    request.state.visitor = found
    return found


def field_page(request: Request, db: SessionDep) -> Visitor:
    """A field officer, dispatcher or admin viewing a field page; others go to the login form or get a 403 page."""
    found = _visitor(request, db)
    if found is None:
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if not has_role(found.user, *FIELD_ROLES):
        raise PageError(status.HTTP_403_FORBIDDEN, "needs_field_role")
    return found


def any_visitor(request: Request, db: SessionDep) -> Visitor:
    """Any logged-in user behind a post (logout, field posts check their role after); 401 without a session."""
    found = getattr(request.state, "visitor", None) or _visitor(request, db)
    if found is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first")
    request.state.visitor = found
    return found


def _visitor_first(request: Request, check: Callable[[Request, Session], Visitor]) -> None:
    with Session(request.app.state.engine) as db:
        check(request, db)


class WebRoute(APIRoute):
    """A web route that checks its visitor (a live session with the role) before its body is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        calls = set(dependency_calls(self.dependant))
        check = visitor if visitor in calls else any_visitor if any_visitor in calls else None
        if check is None:
            return handler

        async def visitor_first(request: Request) -> Response:
            await run_in_threadpool(_visitor_first, request, check)
            return await handler(request)

        return visitor_first


async def sent_csrf(request: Request) -> str:
    """The CSRF token a post carries: header, else form field; empty when none."""
    token = request.headers.get("x-csrf-token")
    if token is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        field = (await request.form()).get("csrf_token")
        token = field if isinstance(field, str) else None
    return token or ""


def csrf_ok(session: WebSession | None, token: str) -> bool:
    return session is not None and bool(token) and hmac.compare_digest(token.encode(), session.csrf.encode())


async def poster(request: Request, found: Annotated[Visitor, Depends(visitor)]) -> Visitor:
    """The visitor behind a post, which must carry their session's CSRF token (403 otherwise)."""
    if not csrf_ok(found.session, await sent_csrf(request)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong")
    return found


async def session_poster(request: Request, found: Annotated[Visitor, Depends(any_visitor)]) -> Visitor:
    """Any logged-in user behind a post carrying their session's CSRF token (403 otherwise)."""
    if not csrf_ok(found.session, await sent_csrf(request)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong")
    return found


def field_poster(found: Annotated[Visitor, Depends(session_poster)]) -> Visitor:
    """A field officer, dispatcher or admin behind a post with the CSRF token; 403 otherwise."""
    if not has_role(found.user, *FIELD_ROLES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "needs role field_officer, dispatcher or admin")
    return found


def _admin(found: Visitor, page: bool) -> Visitor:
    if not found.is_admin:
        if page:
            raise PageError(status.HTTP_403_FORBIDDEN, "needs_admin")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "needs role admin")
    return found


def admin_page(found: Annotated[Visitor, Depends(page_visitor)]) -> Visitor:
    return _admin(found, page=True)


def admin_poster(found: Annotated[Visitor, Depends(poster)]) -> Visitor:
    return _admin(found, page=False)


PageViewer = Annotated[Visitor, Depends(page_visitor)]
Viewer = Annotated[Visitor, Depends(visitor)]
Poster = Annotated[Visitor, Depends(poster)]
AdminPage = Annotated[Visitor, Depends(admin_page)]
AdminPoster = Annotated[Visitor, Depends(admin_poster)]
FieldPage = Annotated[Visitor, Depends(field_page)]
FieldPoster = Annotated[Visitor, Depends(field_poster)]
SessionPoster = Annotated[Visitor, Depends(session_poster)]
