"""Evidence uploads: images a client scanned on its own machine, sent before the observations that
name them (uploaders), and after-photos of a disposal or its verification (dispatchers, field officers)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from service.api.deps import ApiRoute, EvidenceUser
from service.api.errors import errors
from service.deps import SettingsDep
from service.evidence import MEDIA_TYPES, EvidenceError, evidence_store, store_bytes
from service.models.observations import EvidencePublic

router = APIRouter(prefix="/evidence", tags=["evidence"], route_class=ApiRoute)

ACCEPTED = (*MEDIA_TYPES.values(), "application/octet-stream")
_IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()},
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EvidencePublic,
    responses=errors(415),
    openapi_extra=_IMAGE_BODY,
)
async def post_evidence(request: Request, settings: SettingsDep, user: EvidenceUser) -> EvidencePublic:
    """Store one image, the request body as it is (``Content-Type: image/jpeg`` or ``image/png``), in
    the evidence store and return its key, for an observation's ``crop`` or ``keyframe``. The same
    bytes always give the same key. Not a whole JPEG or PNG image: 422; over ``max_evidence_mb``: 413."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media not in ACCEPTED:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"send the image as {' or '.join(MEDIA_TYPES.values())}"
        )
    limit = settings.max_evidence_bytes
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, f"image too large: the limit is {settings.max_evidence_mb:g} MiB"
            )
    try:
        key = await run_in_threadpool(store_bytes, evidence_store(settings), bytes(data))
    except EvidenceError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return EvidencePublic(key=key, size=len(data))
