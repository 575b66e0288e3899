"""Observation ingest (uploaders) and evidence crops (any user)."""

from __future__ import annotations

from pathlib import Path

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
from service.ingest import ingest
from service.models import IngestRequest, IngestResponse, Observation
from service.settings import Settings

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


@router.get("/{observation_id}/crop", response_class=FileResponse)
def get_crop(observation_id: int, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> FileResponse:
    """The observation's crop image; its path is read relative to the data folder."""
    obs = session.get(Observation, observation_id)
    if obs is None or not obs.crop:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no crop for this observation")
    path = evidence_file(settings, obs.crop)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "crop file not found")
    return FileResponse(path)


def evidence_file(settings: Settings, relative: str) -> Path | None:
    """The evidence file at ``relative`` (a path under the data folder); None when it lies outside
    the folder or does not exist. The web view serves images through this too."""
    root = settings.data_dir.resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None
