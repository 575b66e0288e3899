"""Admin pages: the users and adding one (its API token is shown once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import select

from service.api.deps import SessionDep
from service.auth import create_user
from service.models import Role, User, UserCreate, validation_message
from service.web.deps import AdminPage, AdminPoster, Visitor
from service.web.render import Page, render

router = APIRouter(include_in_schema=False)


def _users_page(
    request: Request,
    db: SessionDep,
    visitor: Visitor,
    status_code: int = 200,
    error: str | None = None,
    added: User | None = None,
    token: str | None = None,
) -> HTMLResponse:
    users = db.exec(select(User).order_by(User.name)).all()
    return render(
        Page(request, visitor),
        "admin_users.html",
        status_code,
        users=users,
        roles=list(Role),
        error=error,
        added=added,
        token=token,
    )


@router.get("/admin/users")
def users_page(request: Request, db: SessionDep, visitor: AdminPage) -> HTMLResponse:
    return _users_page(request, db, visitor)


@router.post("/admin/users")
def add_user(
    request: Request,
    db: SessionDep,
    visitor: AdminPoster,
    name: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Add a user (with a password they can log in here too) and show their first API token."""
    try:
        wanted = UserCreate(name=name, role=role, password=password or None)
        user, token = create_user(db, wanted.name, wanted.role, wanted.password)
    except ValidationError as exc:
        return _users_page(request, db, visitor, status.HTTP_422_UNPROCESSABLE_CONTENT, error=validation_message(exc))
    except ValueError as exc:
        return _users_page(request, db, visitor, status.HTTP_409_CONFLICT, error=str(exc))
    return _users_page(request, db, visitor, added=user, token=token)
