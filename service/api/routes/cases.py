"""Cases: list with filters and paging, detail with evidence and audit trail, review and status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from service.api.deps import ApiRoute, CurrentUser, IdFilter, Offset, ReviewerUser
from service.api.errors import errors
from service.auth.users import has_role
from service.campaign import stored_calendar
from service.cases import (
    CaseFilter,
    UnknownCategoryError,
    case_detail,
    change_status,
    find_cases,
    public_case,
    review,
)
from service.casework import Casework
from service.decisions import Conflict, decide
from service.deps import CategoriesDep, IdPath, NowDep, SecretKeyDep, SessionDep, SettingsDep, WriterDep
from service.evidence_report import HEADERS, render_report
from service.inputs import Text, UtcTime
from service.messages import Refusal
from service.models.base import row_id
from service.models.cases import (
    Case,
    CaseAction,
    CaseDetail,
    CasePublic,
    CasesPublic,
    CaseStatus,
    Expectation,
    MergeRequest,
    ReviewRequest,
    ShareLink,
    ShareRequest,
    SightingRequest,
    SplitPublic,
    SplitRequest,
    StatusRequest,
    UndoRequest,
)
from service.models.users import Role
from service.operations import phase_at
from service.share import share_token
from service.writer import Writer

router = APIRouter(prefix="/cases", tags=["cases"], route_class=ApiRoute)

T = TypeVar("T")
CategoryQuery = Annotated[Text | None, Query(max_length=64)]


def case_filter(
    now: NowDep,
    category: CategoryQuery = None,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    hotspot_id: IdFilter = None,
    since: Annotated[UtcTime | None, Query()] = None,
    until: Annotated[UtcTime | None, Query()] = None,
    unit_id: IdFilter = None,
    overdue: bool = False,
) -> CaseFilter:
    """The case filter of a request's query: cases seen between ``since`` and ``until`` (ISO-8601;
    naive means UTC) of the given category, status and hotspot; ``unit_id``: dispatched to that unit;
    ``overdue``: dispatched and past their deadline now."""
    return CaseFilter(category, status_, hotspot_id, since, until, unit_id=unit_id, overdue_at=now if overdue else None)


CaseFilterDep = Annotated[CaseFilter, Depends(case_filter)]


@router.get("", response_model=CasesPublic)
def list_cases(
    session: SessionDep,
    now: NowDep,
    user: CurrentUser,
    found: CaseFilterDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> CasesPublic:
    """Cases seen between ``since`` and ``until`` (ISO-8601; naive means UTC), newest sighting first."""
    return find_cases(session, found, limit, offset)


@router.get("/{case_id}", response_model=CaseDetail, responses=errors(404))
def get_case(case_id: IdPath, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> CaseDetail:
    """One case with its observations (and crop links), its audit trail and its campaign phase."""
    try:
        detail = case_detail(session, case_id)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case") from None
    phase = phase_at(stored_calendar(session), detail.first_seen, settings.timezone)
    detail.phase = phase.number if phase else None
    return detail


def refused(work: Callable[[], T]) -> T:
    """``work()`` (a decision) with its refusals as HTTP errors: 404, 409 (stale or forbidden), 422."""
    try:
        return work()
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case") from None
    except UnknownCategoryError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except (Conflict, Refusal) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def decided(session: Session, writer: Writer, case_id: int, seen: Expectation, apply: Callable[[Case], None]) -> Case:
    """``service.decisions.decide`` with its refusals as HTTP errors (``refused``)."""
    return refused(lambda: decide(session, writer, case_id, seen, apply))


def reviewer_casework(
    session: SessionDep, settings: SettingsDep, now: NowDep, writer: WriterDep, user: ReviewerUser
) -> Casework:
    """The calling reviewer's corrections (``service.casework``)."""
    return Casework(session, writer, settings, now, row_id(user))


CaseworkDep = Annotated[Casework, Depends(reviewer_casework)]


@router.post("/{case_id}/review", response_model=CasePublic, responses=errors(404, 409))
def review_case(
    case_id: IdPath,
    body: ReviewRequest,
    session: SessionDep,
    categories: CategoriesDep,
    now: NowDep,
    writer: WriterDep,
    user: ReviewerUser,
) -> CasePublic:
    """Confirm or reject (409 where the state machine forbids it), optionally with a new category;
    ``recategorize`` changes only the category. With ``expected_status`` or ``version``, a case
    that has changed since is a 409 naming who changed it, and nothing is overwritten."""
    case = decided(
        session,
        writer,
        case_id,
        body,
        lambda c: review(session, c, body.decision, body.category, categories, now, user.id, body.note),
    )
    return public_case(session, case)


@router.post("/{case_id}/status", response_model=CasePublic, responses=errors(404, 409))
def set_status(
    case_id: IdPath, body: StatusRequest, session: SessionDep, now: NowDep, writer: WriterDep, user: ReviewerUser
) -> CasePublic:
    """Move the case along the state machine; a transition it does not allow is a 409, and so is
    a stale ``expected_status`` or ``version``."""
    case = decided(
        session,
        writer,
        case_id,
        body,
        lambda c: change_status(session, c, body.status, now, user.id, body.note, CaseAction.status),
    )
    return public_case(session, case)


REPORT_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"description": "the record", "content": {"text/html": {}}}}


@router.get("/{case_id}/evidence-report", response_class=Response, responses={**REPORT_RESPONSE, **errors(404)})
def evidence_report(
    case_id: IdPath, session: SessionDep, settings: SettingsDep, now: NowDep, user: CurrentUser
) -> HTMLResponse:
    """The case's printable evidence record (HTML, Chinese): observations with times, positions,
    model, source video and image hashes, decisions with user and time, each with its evidence-chain
    position and hash. Images are raw for reviewers and admins, faces and plates blurred for others."""
    try:
        html = render_report(session, settings, case_id, has_role(user, Role.reviewer), now, user.name)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case") from None
    return HTMLResponse(html, headers=HEADERS)


@router.post("/{case_id}/share", response_model=ShareLink, responses=errors(404))
def share_case(
    case_id: IdPath, body: ShareRequest, session: SessionDep, key: SecretKeyDep, now: NowDep, user: ReviewerUser
) -> ShareLink:
    """A signed link, valid ``days``, that shows the case's evidence record with faces and number
    plates blurred to anyone holding it (no login): for other departments or the public."""
    if session.get(Case, case_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case")
    expires_at = now + timedelta(days=body.days)
    return ShareLink(url=f"/shared/{share_token(key, case_id, expires_at)}", expires_at=expires_at)


@router.post("/{case_id}/merge", response_model=CasePublic, responses=errors(404, 409))
def merge_case(
    case_id: IdPath,
    body: MergeRequest,
    session: SessionDep,
    work: CaseworkDep,
) -> CasePublic:
    """Move every sighting of the case into case ``into`` (same category), whose position, error and
    counts are recomputed; this case becomes ``merged`` (``POST …/unmerge`` reverses it). Returns the
    case merged into. 409 for a stale ``version``/``into_version``, a merged case or other categories."""
    return public_case(session, refused(lambda: work.merge(case_id, body)))


@router.post("/{case_id}/unmerge", response_model=CasePublic, responses=errors(404, 409))
def unmerge_case(
    case_id: IdPath,
    body: Expectation,
    session: SessionDep,
    work: CaseworkDep,
) -> CasePublic:
    """Reverse the merge of a ``merged`` case: the sightings it gave come back and it gets its status again."""
    return public_case(session, refused(lambda: work.unmerge(case_id, body)))


@router.post("/{case_id}/split", response_model=SplitPublic, responses=errors(404, 409))
def split_case(
    case_id: IdPath,
    body: SplitRequest,
    session: SessionDep,
    work: CaseworkDep,
) -> SplitPublic:
    """A new case (status new) of the sightings ``observation_ids``; both cases' positions, errors and
    counts are recomputed from their sightings. Merging the new case back reverses it."""
    case, new = refused(lambda: work.split(case_id, body))
    return SplitPublic(case=public_case(session, case), split=public_case(session, new))


@router.post("/{case_id}/sightings/{observation_id}", response_model=CasePublic, responses=errors(404, 409))
def judge_sighting(
    case_id: IdPath,
    observation_id: IdPath,
    body: SightingRequest,
    session: SessionDep,
    work: CaseworkDep,
) -> CasePublic:
    """``rejected: true``: the sighting is not the case's object: it stays listed but stops counting, and
    the training export takes it as a hard negative; ``false`` restores it."""
    return public_case(session, refused(lambda: work.judge(case_id, observation_id, body)))


@router.post("/{case_id}/undo", response_model=CasePublic, responses=errors(404, 409))
def undo_decision(
    case_id: IdPath,
    body: UndoRequest,
    session: SessionDep,
    work: CaseworkDep,
) -> CasePublic:
    """Undo the caller's latest decision on the case (review, status, category, merge, split, sighting)
    while the case still has ``version``; 409 when anyone changed it since or the latest change is not
    the caller's."""
    return public_case(session, refused(lambda: work.undo(case_id, body.version)))
