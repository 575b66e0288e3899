"""Liveness and database reachability."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from service.api.deps import ApiRoute
from service.deps import SessionDep

router = APIRouter(tags=["health"], route_class=ApiRoute)


@router.get("/health")
def health(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
