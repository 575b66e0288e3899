"""All API routers under ``/api``."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.routes import cases, health, hotspots, observations, users

api_router = APIRouter(prefix="/api")
for module in (health, hotspots, observations, cases, users):
    api_router.include_router(module.router)
