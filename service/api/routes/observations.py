"""Observation ingest (uploaders) and evidence images (any user)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import Response

from service.api.deps import ApiRoute, CurrentUser, UploaderUser
from service.api.errors import errors
from service.auth.users import has_role
from service.deps import CategoriesDep, IdPath, NowDep, SessionDep, SettingsDep, WriterDep, evidence_image
from service.evidence import MEDIA_TYPES, evidence_store
from service.ingest import ingest
from service.models.observations import IngestRequest, IngestResponse
from service.models.users import Role
from service.observations import EvidenceImage, parse_items
from service.signs import CameraView

IMAGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "the image", "content": {media: {} for media in MEDIA_TYPES.values()}}
}

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
    (anything else is an item error). More than ``max_observations_per_request`` items: 413. ``mount`` and
    ``frame_width`` tell the side of the street each sign stands on."""
    limit = settings.max_observations_per_request
    if len(body.observations) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(body.observations)} observations in one request; the limit is {limit}: split the batch",
        )
    items = parse_items(body.observations, categories, evidence_store(settings))
    with writer:
        view = CameraView(body.mount, body.frame_width)
        return ingest(session, settings, body.source, items, user.id, now, view=view)


@router.get("/{observation_id}/{image}", response_class=Response, responses={**IMAGE_RESPONSE, **errors(404)})
def get_image(
    observation_id: IdPath, image: EvidenceImage, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> Response:
    """The observation's ``crop`` (the object) or ``keyframe`` (its whole best frame); 404 when it has none.
    Reviewers and admins get the image as stored, other roles a copy with faces and plates blurred."""
    return evidence_image(session, settings, observation_id, image, raw=has_role(user, Role.reviewer))
