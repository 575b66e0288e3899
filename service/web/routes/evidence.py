"""Evidence images for logged-in reviewers, served the way the API serves them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from service.api.deps import IdPath, SessionDep, SettingsDep
from service.api.routes.observations import image_response
from service.web.deps import Viewer, WebRoute

router = APIRouter(include_in_schema=False, route_class=WebRoute)


@router.get("/evidence/{observation_id}/{kind}", response_class=FileResponse)
def evidence(observation_id: IdPath, kind: str, db: SessionDep, settings: SettingsDep, visitor: Viewer) -> FileResponse:
    """An observation's ``crop`` or ``keyframe`` image from the evidence store; 404 when it has none."""
    return image_response(db, settings, observation_id, kind)
