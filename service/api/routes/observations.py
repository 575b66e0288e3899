"""Observation ingest (uploaders) and evidence images (any user)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from service.api.deps import (
    CategoriesDep,
    CurrentUser,
    NowDep,
    SessionDep,
    SettingsDep,
    UploaderUser,
    WriteLock,
)
from service.evidence import evidence_file
from service.ingest import ingest
from service.models import IngestRequest, IngestResponse, Observation

EvidenceImage = Literal["crop", "keyframe"]

router = APIRouter(prefix="/observations", tags=["observations"])


@router.post("", response_model=IngestResponse)
def post_observations(
    body: IngestRequest,
    session: SessionDep,
    settings: SettingsDep,
    categories: CategoriesDep,
    now: NowDep,
    lock: WriteLock,
    user: UploaderUser,
) -> IngestResponse:
    """Keep the valid items, reject the others with a reason; one result per item, in order.
    Idempotent on (source, track_id). More than ``max_observations_per_request`` items: 413."""
    limit = settings.max_observations_per_request
    if len(body.observations) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(body.observations)} observations in one request; the limit is {limit}: split the batch",
        )
    with lock:
        return ingest(session, settings, categories, body.source, body.observations, user.id, now)


@router.get("/{observation_id}/{image}", response_class=FileResponse)
def get_image(
    observation_id: int, image: EvidenceImage, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> FileResponse:
    """The observation's ``crop`` (the object) or ``keyframe`` (its whole best frame); 404 when it has none."""
    obs = session.get(Observation, observation_id)
    relative = getattr(obs, image) if obs else None
    path = evidence_file(settings, relative) if relative else None
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {image} for this observation")
    return FileResponse(path)
