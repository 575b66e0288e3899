"""The sign register: list with filters and paging, an entry with its sightings, and the reviewer's edits
(status and permit, merge two entries, split sightings off)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response

from service.api.deps import ApiRoute, CurrentUser, IdFilter, Offset, ReviewerUser
from service.api.errors import errors
from service.auth.users import has_role
from service.deps import IdPath, NowDep, SessionDep, SettingsDep, WriterDep, sign_crop
from service.inputs import Text, UtcTime
from service.models.base import row_id
from service.models.signs import MergeRequest, Sign, SignDetail, SignsPublic, SignStatus, SignUpdate, SplitRequest
from service.models.users import Role
from service.signs import SignEditError, SignFilter, find_signs, merge, sign_detail, split, update
from service.writer import lock_matching

router = APIRouter(prefix="/signs", tags=["signs"], route_class=ApiRoute)


@router.get("", response_model=SignsPublic)
def list_signs(
    session: SessionDep,
    user: CurrentUser,
    q: Annotated[Text | None, Query(max_length=200)] = None,
    kind: Annotated[Text | None, Query(max_length=128)] = None,
    status_: Annotated[SignStatus | None, Query(alias="status")] = None,
    hotspot_id: IdFilter = None,
    since: Annotated[UtcTime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> SignsPublic:
    """Register entries, last seen first: ``q`` is searched in the text read on the sign, its permit
    number and note; ``since`` (ISO-8601; naive means UTC) keeps the signs first seen since then."""
    return find_signs(session, SignFilter(q, kind, status_, hotspot_id, since), limit, offset)


@router.get("/{sign_id}", response_model=SignDetail, responses=errors(404))
def get_sign(sign_id: IdPath, session: SessionDep, user: CurrentUser) -> SignDetail:
    """One entry with its sightings (source, track, time, box, crop link, text), oldest first."""
    try:
        return sign_detail(session, sign_id)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such sign") from None


@router.get("/{sign_id}/crop", response_class=Response, responses=errors(404))
def get_crop(sign_id: IdPath, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Response:
    """The best view of the sign: as stored for reviewers and admins, faces and plates blurred for others."""
    return sign_crop(session, settings, sign_id, raw=has_role(user, Role.reviewer))


def _entry(session: SessionDep, sign_id: int) -> Sign:
    sign = session.get(Sign, sign_id)
    if sign is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such sign")
    return sign


@router.patch("/{sign_id}", response_model=SignDetail, responses=errors(404, 409))
def patch_sign(
    sign_id: IdPath, body: SignUpdate, session: SessionDep, now: NowDep, writer: WriterDep, user: ReviewerUser
) -> SignDetail:
    """Set status (``approved`` needs a permit number, else 409), permit number and expiry, text or note."""
    with writer:
        sign = _entry(session, sign_id)
        try:
            update(sign, body, now)
        except SignEditError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        session.add(sign)
        session.commit()
    return sign_detail(session, sign_id)


@router.post("/{sign_id}/merge", response_model=SignDetail, responses=errors(404, 409))
def merge_sign(
    sign_id: IdPath,
    body: MergeRequest,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    user: ReviewerUser,
) -> SignDetail:
    """Move this entry's sightings into ``into`` and delete this one; answers the merged entry."""
    with writer:
        lock_matching(session)
        sign, into = _entry(session, sign_id), _entry(session, body.into)
        try:
            merge(session, settings, sign, into, now)
        except SignEditError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        session.commit()
    return sign_detail(session, body.into)


@router.post("/{sign_id}/split", response_model=SignDetail, responses=errors(404, 409))
def split_sign(
    sign_id: IdPath,
    body: SplitRequest,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    user: ReviewerUser,
) -> SignDetail:
    """Move the given sightings of this entry to a new entry; answers the new entry (409 when one is not
    this entry's, or they are all of them)."""
    with writer:
        lock_matching(session)
        sign = _entry(session, sign_id)
        try:
            other = split(session, settings, sign, body.observation_ids, now)
        except SignEditError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        session.commit()
    return sign_detail(session, row_id(other))
