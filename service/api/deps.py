"""API request dependencies: the token's user and role checks, bounded query ids; and ``ApiRoute``,
the route class of every API router, which checks the token and role before the request body is
read and documents the errors every route of its kind can answer. The dependencies the web view
shares (session, settings, clock, writer) are in ``service.deps``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, Response, status
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from service.api.errors import errors
from service.auth.users import has_role, user_for_token
from service.deps import dependency_calls
from service.inputs import MAX_ID, MAX_OFFSET
from service.models.users import Role, User

IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


bearer = HTTPBearer(auto_error=False, description="an API token from `streetscan user add` or `streetscan token add`")


def get_current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User:
    """The enabled user of the ``Authorization: Bearer`` token (a live one: not revoked, not
    expired); 401 without one. Looked up once per request."""
    user: User | None = getattr(request.state, "user", None)
    if user is not None:
        return user
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    with Session(request.app.state.engine) as session:
        user = user_for_token(session, token, request.app.state.clock())
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"})
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


class RoleCheck:
    """A dependency that lets through users holding one of ``roles`` (admins always); 403 otherwise."""

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

    def __call__(self, user: CurrentUser) -> User:
        if not has_role(user, *self.roles):
            wanted = " or ".join([Role.admin, *self.roles])
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs role {wanted}")
        return user


AdminUser = Annotated[User, Depends(RoleCheck())]
ReviewerUser = Annotated[User, Depends(RoleCheck(Role.reviewer))]
UploaderUser = Annotated[User, Depends(RoleCheck(Role.uploader))]
DispatcherUser = Annotated[User, Depends(RoleCheck(Role.dispatcher))]
VerifierUser = Annotated[User, Depends(RoleCheck(Role.dispatcher, Role.reviewer))]
FieldUser = Annotated[User, Depends(RoleCheck(Role.field_officer, Role.dispatcher))]
EvidenceUser = Annotated[User, Depends(RoleCheck(Role.uploader, Role.dispatcher, Role.field_officer))]
"""Who may store evidence images: uploaders (crops), dispatchers and field officers (after-photos)."""


def _has_body(dependant: Dependant, openapi_extra: dict[str, Any] | None) -> bool:
    return bool(dependant.body_params) or "requestBody" in (openapi_extra or {})


class ApiRoute(APIRoute):
    """An API route that checks the bearer token, then the role, before its body is read (no
    work for an unknown caller), and documents 400/401/403/413/422 where it can answer them."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        dependant = get_dependant(path=path, call=endpoint)
        calls = list(dependency_calls(dependant))
        self.authenticates = get_current_user in calls
        self.role_checks = [c for c in calls if isinstance(c, RoleCheck)]
        has_body = _has_body(dependant, kwargs.get("openapi_extra"))
        has_input = has_body or bool(dependant.path_params or dependant.query_params)
        applies = {
            400: has_body,
            401: self.authenticates,
            403: bool(self.role_checks),
            413: has_body,
            422: has_input,
        }
        codes = [code for code, yes in applies.items() if yes]
        kwargs["responses"] = {**errors(*codes), **(kwargs.get("responses") or {})}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self.authenticates:
            return handler

        async def authenticated_first(request: Request) -> Response:
            user = await run_in_threadpool(get_current_user, request, await bearer(request))
            for check in self.role_checks:
                check(user)
            return await handler(request)

        return authenticated_first
