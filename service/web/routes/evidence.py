"""Evidence images for logged-in reviewers, served as the API serves them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from service.deps import IdPath, SessionDep, SettingsDep, evidence_image
from service.web.deps import Viewer, WebRoute

router = APIRouter(include_in_schema=False, route_class=WebRoute)


@router.get("/evidence/{observation_id}/{kind}", response_class=Response)
def evidence(observation_id: IdPath, kind: str, db: SessionDep, settings: SettingsDep, visitor: Viewer) -> Response:
    """An observation's ``crop`` or ``keyframe`` image from the evidence store; 404 when it has none."""
    return evidence_image(db, settings, observation_id, kind)
