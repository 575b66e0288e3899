"""Evidence images for logged-in reviewers, served as the API serves them, and the keyframe with the
observation's box drawn on it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import Response

from service.deps import IdPath, SessionDep, SettingsDep, evidence_image
from service.evidence import IMAGE_HEADERS, evidence_store
from service.models.observations import ObservationRow
from service.observations import boxed_keyframe, observation_image
from service.web.deps import Viewer, WebRoute

router = APIRouter(include_in_schema=False, route_class=WebRoute)


@router.get("/evidence/{observation_id}/boxed")
def boxed(observation_id: IdPath, db: SessionDep, settings: SettingsDep, visitor: Viewer) -> Response:
    """The observation's keyframe (JPEG) with its box drawn; 404 when it has no keyframe."""
    found = observation_image(db, evidence_store(settings), observation_id, "keyframe")
    row = db.get(ObservationRow, observation_id)
    if found is None or row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no keyframe for this observation")
    try:
        return Response(boxed_keyframe(found[1], list(row.bbox)), media_type="image/jpeg", headers=IMAGE_HEADERS)
    except ValueError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no readable keyframe for this observation") from None


@router.get("/evidence/{observation_id}/{kind}", response_class=Response)
def evidence(observation_id: IdPath, kind: str, db: SessionDep, settings: SettingsDep, visitor: Viewer) -> Response:
    """An observation's ``crop`` or ``keyframe`` image from the evidence store; 404 when it has none."""
    return evidence_image(db, settings, observation_id, kind)
