"""What the API and the web view share of HTTP: the request dependencies (database session, settings,
clock, writer, signing key, category ids, bounded path ids), a walk over a route's dependencies,
and the answer with an evidence image."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import PurePath
from typing import Annotated, Any, cast

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from sqlmodel import Session

from service.evidence import IMAGE_HEADERS, MEDIA_TYPES, evidence_store
from service.inputs import MAX_ID
from service.observations import observation_image
from service.privacy import blurred_key
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


def get_secret_key(request: Request) -> bytes:
    """The service's signing key (web sessions, share links): configured, or generated once in the data folder."""
    return cast(bytes, request.app.state.session_key())


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
CategoriesDep = Annotated[frozenset[str], Depends(get_categories)]
WriterDep = Annotated[Writer, Depends(get_writer)]
SecretKeyDep = Annotated[bytes, Depends(get_secret_key)]

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id")]
WeekQuery = Annotated[
    date | None,
    Query(
        ge=date(2000, 1, 1),
        le=date(2099, 12, 31),
        description="a day of the week to report (YYYY-MM-DD; it ends on the Friday on or after it); "
        "default: the week ending last Friday",
    ),
]


def evidence_image(session: Session, settings: Settings, observation_id: int, image: str, raw: bool = True) -> Response:
    """The ``crop`` or ``keyframe`` of a stored observation from the evidence store, or (``raw`` False:
    for anyone but reviewers and admins) its privacy-blurred copy; 404 when it has none."""
    store = evidence_store(settings)
    found = observation_image(session, store, observation_id, image)
    if found is not None and not raw:
        shown = blurred_key(store, found[0], settings.model_path)
        data = store.read(shown)
        found = (shown, data) if data is not None else None
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {image} for this observation")
    key, data = found
    return Response(data, media_type=MEDIA_TYPES[PurePath(key).suffix], headers=IMAGE_HEADERS)


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency function of a route, nested ones included."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependency_calls(sub)
