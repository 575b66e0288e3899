"""Evidence images for logged-in reviewers, served as the API serves them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from service.deps import IdPath, SessionDep, SettingsDep
from service.evidence import IMAGE_HEADERS, MEDIA_TYPES
from service.observations import observation_image
from service.web.deps import Viewer, WebRoute

router = APIRouter(include_in_schema=False, route_class=WebRoute)


@router.get("/evidence/{observation_id}/{kind}", response_class=FileResponse)
def evidence(observation_id: IdPath, kind: str, db: SessionDep, settings: SettingsDep, visitor: Viewer) -> FileResponse:
    """An observation's ``crop`` or ``keyframe`` image from the evidence store; 404 when it has none."""
    path = observation_image(db, settings.evidence_dir, observation_id, kind)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind} for this observation")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=IMAGE_HEADERS)
