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
    rechecks,
    reports,
    users,
)

api_router = APIRouter(prefix="/api")
for module in (health, hotspots, observations, evidence, cases, users, batches, cameras, reports, rechecks):
    api_router.include_router(module.router)
