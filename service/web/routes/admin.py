"""Admin pages: the users, adding one (its API token is shown once), disabling or enabling one,
resetting a password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, select

from service.auth.users import create_user, has_role, set_disabled, set_password
from service.deps import IdPath, SessionDep, WriterDep
from service.messages import Refusal
from service.models.users import Password, Role, User, UserCreate
from service.web.deps import FIELD_ROLES, AdminPage, AdminPoster, PageError, Visitor, WebRoute
from service.web.render import Page, render

router = APIRouter(include_in_schema=False, route_class=WebRoute)
NEW_PASSWORD = TypeAdapter(Password)


def _users_page(
    request: Request,
    db: Session,
    visitor: Visitor,
    status_code: int = 200,
    error: Refusal | None = None,
    notice: str | None = None,
    added: User | None = None,
    token: str | None = None,
) -> HTMLResponse:
    """The users table; ``error`` why a change was refused, ``notice`` a label key."""
    users = db.exec(select(User).order_by(User.name)).all()
    page = Page(request, visitor)
    return render(
        page,
        "admin_users.html",
        status_code,
        users=users,
        web_login={u.id for u in users if u.password_hash and has_role(u, Role.reviewer, *FIELD_ROLES)},
        roles=list(Role),
        error=page.t.refusal(error) if error else None,
        notice=notice,
        added=added,
        token=token,
    )


def user_or_404(db: Session, user_id: int) -> User:
    """The user ``user_id``; a 404 page when there is none."""
    user = db.get(User, user_id)
    if user is None:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_user")
    return user


@router.get("/admin/users")
def users_page(request: Request, db: SessionDep, visitor: AdminPage) -> HTMLResponse:
    return _users_page(request, db, visitor)


@router.post("/admin/users")
def add_user(
    request: Request,
    db: SessionDep,
    writer: WriterDep,
    visitor: AdminPoster,
    name: Annotated[str, Form(max_length=256)],
    role: Annotated[str, Form(max_length=32)],
    password: Annotated[str, Form(max_length=1024)] = "",
) -> HTMLResponse:
    """Add a user (with a password they can log in here too) and show their first API token."""
    try:
        wanted = UserCreate.model_validate({"name": name, "role": role, "password": password or None})
        with writer:
            user, token = create_user(db, wanted.name, wanted.role, wanted.password)
    except ValidationError:
        return _users_page(request, db, visitor, status.HTTP_422_UNPROCESSABLE_CONTENT, error=Refusal("bad_user"))
    except ValueError:
        refusal = Refusal("user_exists", name=name)
        return _users_page(request, db, visitor, status.HTTP_409_CONFLICT, error=refusal)
    return _users_page(request, db, visitor, added=user, token=token)


@router.post("/admin/users/{user_id}/disable")
def disable_user(
    request: Request, user_id: IdPath, db: SessionDep, writer: WriterDep, visitor: AdminPoster
) -> HTMLResponse:
    """Disable a user: their web sessions end at once and their API tokens stop working."""
    if user_id == visitor.user.id:
        return _users_page(request, db, visitor, status.HTTP_409_CONFLICT, notice="notice_not_yourself")
    with writer:
        set_disabled(db, user_or_404(db, user_id), True)
    return _users_page(request, db, visitor, notice="notice_disabled")


@router.post("/admin/users/{user_id}/enable")
def enable_user(
    request: Request, user_id: IdPath, db: SessionDep, writer: WriterDep, visitor: AdminPoster
) -> HTMLResponse:
    """Enable a user again (their tokens work again; the web needs a new login)."""
    with writer:
        set_disabled(db, user_or_404(db, user_id), False)
    return _users_page(request, db, visitor, notice="notice_enabled")


@router.post("/admin/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: IdPath,
    db: SessionDep,
    writer: WriterDep,
    visitor: AdminPoster,
    password: Annotated[str, Form(max_length=1024)],
) -> HTMLResponse:
    """Give a user a new password (8 to 256 characters); their web sessions end."""
    try:
        NEW_PASSWORD.validate_python(password)
    except ValidationError:
        return _users_page(request, db, visitor, status.HTTP_422_UNPROCESSABLE_CONTENT, error=Refusal("bad_user"))
    with writer:
        set_password(db, user_or_404(db, user_id), password)
    return _users_page(request, db, visitor, notice="notice_password")
