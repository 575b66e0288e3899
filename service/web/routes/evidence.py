"""Evidence images for logged-in reviewers, found the way the API finds them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from service.api.deps import SessionDep, SettingsDep
from service.evidence import evidence_file
from service.models import Observation
from service.web.deps import Viewer
from service.web.queries import EVIDENCE

router = APIRouter(include_in_schema=False)


@router.get("/evidence/{observation_id}/{kind}", response_class=FileResponse)
def evidence(observation_id: int, kind: str, db: SessionDep, settings: SettingsDep, visitor: Viewer) -> FileResponse:
    """An observation's ``crop`` or ``keyframe`` image; 404 when it has none or the file is gone."""
    obs = db.get(Observation, observation_id) if kind in EVIDENCE else None
    relative = getattr(obs, kind) if obs else None
    path = evidence_file(settings, relative) if relative else None
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such image")
    return FileResponse(path, headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"})
