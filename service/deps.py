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

from service.evidence import IMAGE_HEADERS, MEDIA_TYPES, evidence_store, has_image
from service.inputs import MAX_ID
from service.models.observations import ObservationRow
from service.models.signs import Sign
from service.observations import EVIDENCE_IMAGES
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


def image_answer(settings: Settings, key: str | None, raw: bool, missing: str) -> Response:
    """The evidence image ``key`` from the store, or (``raw`` False: for anyone but reviewers and admins)
    its privacy-blurred copy; 404 saying ``missing`` when there is none."""
    store = evidence_store(settings)
    data = None
    if key is not None and has_image(store, key):
        key = key if raw else blurred_key(store, key, settings.model_path)
        data = store.read(key)
    if key is None or data is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, missing)
    return Response(data, media_type=MEDIA_TYPES[PurePath(key).suffix], headers=IMAGE_HEADERS)


def evidence_image(session: Session, settings: Settings, observation_id: int, image: str, raw: bool = True) -> Response:
    """The ``crop`` or ``keyframe`` of a stored observation (see ``image_answer``)."""
    row = session.get(ObservationRow, observation_id) if image in EVIDENCE_IMAGES else None
    return image_answer(settings, getattr(row, image) if row else None, raw, f"no {image} for this observation")


def sign_crop(session: Session, settings: Settings, sign_id: int, raw: bool = True) -> Response:
    """The best view of a register entry (see ``image_answer``)."""
    sign = session.get(Sign, sign_id)
    return image_answer(settings, sign.crop if sign else None, raw, "no crop for this sign")


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency function of a route, nested ones included."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependency_calls(sub)
