"""Request dependencies: database session, settings, clock, the token's user and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from service.auth import has_role, user_for_token
from service.models import Role, User
from service.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_now(request: Request) -> datetime:
    """The request time, aware UTC, from the app's clock."""
    return request.app.state.clock()


def get_categories(request: Request) -> frozenset[str]:
    """The violation category ids the service accepts."""
    return request.app.state.categories


def get_write_lock(request: Request) -> AbstractContextManager:
    """The process-wide lock a handler holds while it writes: one writer at a time (SQLite allows
    no more). Taken inside the handler, so it is acquired and released on the same thread."""
    return request.app.state.write_lock


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
CategoriesDep = Annotated[frozenset[str], Depends(get_categories)]
WriteLock = Annotated[AbstractContextManager, Depends(get_write_lock)]


bearer = HTTPBearer(auto_error=False, description="an API token from `streetscan user add`")


def get_current_user(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User:
    """The user of the ``Authorization: Bearer`` token; 401 without a valid one."""
    if credentials is None or not credentials.credentials.strip():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    user = user_for_token(session, credentials.credentials.strip())
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require(*roles: Role) -> Callable[[User], User]:
    """A dependency that lets through users holding one of ``roles`` (admins always); 403 otherwise."""

    def check(user: CurrentUser) -> User:
        if not has_role(user, *roles):
            wanted = " or ".join([Role.admin, *roles])
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs role {wanted}")
        return user

    return check


AdminUser = Annotated[User, Depends(require())]
ReviewerUser = Annotated[User, Depends(require(Role.reviewer))]
UploaderUser = Annotated[User, Depends(require(Role.uploader))]
