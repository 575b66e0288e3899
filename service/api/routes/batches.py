"""Patrol batch uploads (uploaders) and their progress (any user)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlmodel import Session, col, func, select
from starlette.concurrency import run_in_threadpool

from service.api.deps import ApiRoute, CurrentUser, Offset, UploaderUser
from service.api.errors import errors
from service.batches import (
    FILES_FIELD,
    GPS_FOR_FIELD,
    BatchRequestError,
    batch_views,
    check_batch,
    create_batch,
    incoming,
)
from service.deps import IdPath, NowDep, SessionDep, SettingsDep, WriterDep
from service.models.batches import Batch, BatchesPublic, BatchPublic
from service.uploads import UploadError, receive
from vision import TRACK_SUFFIXES

router = APIRouter(prefix="/batches", tags=["batches"], route_class=ApiRoute)

_MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILES_FIELD],
                    "properties": {
                        FILES_FIELD: {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"videos and GPS tracks ({' '.join(sorted(TRACK_SUFFIXES))})",
                        },
                        GPS_FOR_FIELD: {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "VIDEO=TRACK by file name; else a track goes with the video of its stem",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchPublic,
    openapi_extra=_MULTIPART_BODY,
    responses=errors(400, 415),
)
async def post_batch(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, writer: WriterDep, user: UploaderUser
) -> BatchPublic:
    """Upload videos and GPS tracks; each new readable video is queued for processing. Files that
    cannot be read are reported one by one; a video sent before is a duplicate of its job. A body
    over ``max_upload_mb``: 413; a request without files, with unknown fields or a bad ``gps_for``: 422."""
    user_id = user.id
    session.close()  # no database transaction stays open while the body streams in (minutes, for hours of video)
    try:
        received = await receive(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            request.stream(),
            incoming(settings),
            settings.max_upload_bytes,
        )
    except UploadError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    try:
        checked = await run_in_threadpool(check_batch, received)

        def record() -> int:
            with writer:
                return create_batch(session, settings, checked, user_id, now)

        batch_id = await run_in_threadpool(record)
    except BatchRequestError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    finally:
        received.discard()
    request.app.state.jobs.wake()
    return await run_in_threadpool(_view, session, batch_id)


@router.get("", response_model=BatchesPublic)
def list_batches(
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> BatchesPublic:
    """Batches, newest first."""
    total = session.exec(select(func.count()).select_from(Batch)).one()
    batches = session.exec(select(Batch).order_by(col(Batch.id).desc()).limit(limit).offset(offset)).all()
    return BatchesPublic(items=batch_views(session, batches), total=total)


@router.get("/{batch_id}", response_model=BatchPublic, responses=errors(404))
def get_batch(batch_id: IdPath, session: SessionDep, user: CurrentUser) -> BatchPublic:
    """One batch: status, progress, per-file results and the cases its videos made."""
    return _view(session, batch_id)


def _view(session: Session, batch_id: int) -> BatchPublic:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such batch")
    return batch_views(session, [batch])[0]
