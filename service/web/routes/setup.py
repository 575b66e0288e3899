"""First run: the one-time setup link ``streetscan serve`` prints while no user exists opens a
form that creates the first admin and logs them in (see ``service.setup_link``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import Response
from pydantic import ValidationError

from service.auth.users import create_user
from service.deps import SessionDep, WriterDep
from service.models.users import Role, UserCreate
from service.web.deps import PageError, WebRoute, csrf_ok, read_session
from service.web.routes.login import HOME, anonymous_form, logged_in, no_users

router = APIRouter(include_in_schema=False, route_class=WebRoute)
Token = Annotated[str, Form(max_length=256)]


def _open(request: Request, token: str) -> None:
    """PageError 404 unless ``token`` is the live setup link's."""
    link = request.app.state.setup
    if link is None or not link.valid(token, request.app.state.clock()):
        raise PageError(status.HTTP_404_NOT_FOUND, "setup_link_gone")


@router.get("/setup")
def setup_page(request: Request, db: SessionDep, token: str = "") -> Response:
    _open(request, token)
    if not no_users(db):
        raise PageError(status.HTTP_404_NOT_FOUND, "setup_link_gone")
    return anonymous_form(request, "setup.html", token=token, error=None)


@router.post("/setup")
def create_first_admin(
    request: Request,
    db: SessionDep,
    writer: WriterDep,
    token: Token = "",
    name: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_again: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Token = "",
) -> Response:
    """Create the first admin with a password, spend the link, log them in."""
    _open(request, token)
    if not csrf_ok(read_session(request), csrf_token):
        return anonymous_form(
            request, "setup.html", status.HTTP_403_FORBIDDEN, fresh=True, token=token, error="form_expired"
        )
    try:
        wanted = UserCreate(name=name, role=Role.admin, password=password)
        problem = None if password == password_again else "passwords_differ"
    except ValidationError:
        problem = "bad_user"
    if problem:
        return anonymous_form(request, "setup.html", status.HTTP_422_UNPROCESSABLE_CONTENT, token=token, error=problem)
    with writer:
        if not no_users(db) or not request.app.state.setup.use(token, request.app.state.clock()):
            raise PageError(status.HTTP_404_NOT_FOUND, "setup_link_gone")
        user, _ = create_user(db, wanted.name, Role.admin, wanted.password, with_token=False)
    return logged_in(request, db, writer, user, HOME)
