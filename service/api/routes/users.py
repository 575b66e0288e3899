"""Who the token belongs to."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import ApiRoute, CurrentUser
from service.models.users import UserPublic

router = APIRouter(prefix="/users", tags=["users"], route_class=ApiRoute)


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)
