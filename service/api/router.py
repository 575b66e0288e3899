"""All API routers under ``/api``."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.routes import batches, cameras, cases, evidence, health, hotspots, observations, signs, users

api_router = APIRouter(prefix="/api")
for module in (health, hotspots, observations, evidence, cases, signs, users, batches, cameras):
    api_router.include_router(module.router)
