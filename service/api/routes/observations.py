"""Observation ingest (uploaders) and evidence images (any user)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from service.api.deps import (
    ApiRoute,
    CategoriesDep,
    CurrentUser,
    IdPath,
    NowDep,
    SessionDep,
    SettingsDep,
    UploaderUser,
    WriterDep,
)
from service.api.errors import errors
from service.evidence import MEDIA_TYPES, evidence_file
from service.ingest import ingest
from service.models import IngestRequest, IngestResponse, Observation

EvidenceImage = Literal["crop", "keyframe"]
IMAGE_HEADERS = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
"""Headers of every evidence image: cached by the browser only (the image never changes), never sniffed."""
IMAGE_RESPONSE = {200: {"description": "the image", "content": {media: {} for media in MEDIA_TYPES.values()}}}

router = APIRouter(prefix="/observations", tags=["observations"], route_class=ApiRoute)


@router.post("", response_model=IngestResponse, responses=errors(409))
def post_observations(
    body: IngestRequest,
    session: SessionDep,
    settings: SettingsDep,
    categories: CategoriesDep,
    now: NowDep,
    writer: WriterDep,
    user: UploaderUser,
) -> IngestResponse:
    """Keep the valid items, reject the others with a reason; one result per item, in order.
    Idempotent on (source, track_id). ``crop``/``keyframe`` are keys from ``POST /api/evidence``
    (anything else is an item error). More than ``max_observations_per_request`` items: 413."""
    limit = settings.max_observations_per_request
    if len(body.observations) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(body.observations)} observations in one request; the limit is {limit}: split the batch",
        )
    with writer:
        return ingest(session, settings, categories, body.source, body.observations, user.id, now)


def image_response(session: SessionDep, settings: SettingsDep, observation_id: int, image: str) -> FileResponse:
    """The ``crop`` or ``keyframe`` of an observation from the evidence store; 404 when it has none."""
    obs = session.get(Observation, observation_id) if image in ("crop", "keyframe") else None
    key = getattr(obs, image) if obs else None
    path = evidence_file(settings, key) if key else None
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {image} for this observation")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=IMAGE_HEADERS)


@router.get("/{observation_id}/{image}", response_class=FileResponse, responses={**IMAGE_RESPONSE, **errors(404)})
def get_image(
    observation_id: IdPath, image: EvidenceImage, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> FileResponse:
    """The observation's ``crop`` (the object) or ``keyframe`` (its whole best frame); 404 when it has none."""
    return image_response(session, settings, observation_id, image)
