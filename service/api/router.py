"""All API routers under ``/api``."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.routes import (
    batches,
    cameras,
    cases,
    evidence,
    health,
    hotspots,
    observations,
    operations,
    units,
    users,
)

api_router = APIRouter(prefix="/api")
for module in (health, hotspots, observations, evidence, operations, cases, users, batches, cameras, units):
    api_router.include_router(module.router)
