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
    operations,
    rechecks,
    reports,
    signs,
    units,
    users,
    webhooks,
)

api_router = APIRouter(prefix="/api")
for module in (
    health,
    hotspots,
    observations,
    evidence,
    operations,
    cases,
    signs,
    exports,
    users,
    batches,
    cameras,
    units,
    reports,
    rechecks,
    webhooks,
):
    api_router.include_router(module.router)
