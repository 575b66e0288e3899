"""All API routers under ``/api``."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.routes import (
    batches,
    cameras,
    cases,
    evidence,
    exports,
    health,
    hotspots,
    observations,
    rechecks,
    reports,
    users,
    webhooks,
)

api_router = APIRouter(prefix="/api")
for module in (
    health,
    hotspots,
    observations,
    evidence,
    cases,
    exports,
    users,
    batches,
    cameras,
    reports,
    rechecks,
    webhooks,
):
    api_router.include_router(module.router)
