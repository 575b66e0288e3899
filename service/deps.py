"""What the API and the web view share of HTTP: the request dependencies (database session, settings,
clock, writer, category ids, bounded path ids), a walk over a route's dependencies, and the answers with
an evidence image."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.responses import FileResponse
from sqlmodel import Session

from service.evidence import IMAGE_HEADERS, MEDIA_TYPES, stored_file
from service.inputs import MAX_ID
from service.models.signs import Sign
from service.observations import observation_image
from service.settings import Settings
from service.writer import Writer


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def get_now(request: Request) -> datetime:
    """The request time, aware UTC, from the app's clock."""
    return cast(datetime, request.app.state.clock())


def get_categories(request: Request) -> frozenset[str]:
    """The violation category ids the service accepts."""
    return cast(frozenset[str], request.app.state.categories)


def get_writer(request: Request) -> Writer:
    """The writer a handler holds (``with writer:``) around each write transaction (see ``service.writer``)."""
    return cast(Writer, request.app.state.writer)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
CategoriesDep = Annotated[frozenset[str], Depends(get_categories)]
WriterDep = Annotated[Writer, Depends(get_writer)]

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id")]


def evidence_image(session: Session, settings: Settings, observation_id: int, image: str) -> FileResponse:
    """The ``crop`` or ``keyframe`` of a stored observation from the evidence store; 404 when it has none."""
    path = observation_image(session, settings.evidence_dir, observation_id, image)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {image} for this observation")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=IMAGE_HEADERS)


def sign_crop(session: Session, settings: Settings, sign_id: int) -> FileResponse:
    """The best view of a register entry from the evidence store; 404 when it has none."""
    sign = session.get(Sign, sign_id)
    path = stored_file(settings.evidence_dir, sign.crop) if sign and sign.crop else None
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no crop for this sign")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=IMAGE_HEADERS)


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency function of a route, nested ones included."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependency_calls(sub)
