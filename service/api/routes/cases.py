"""Cases: list with filters and paging, detail with evidence and audit trail, review and status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import Session

from service.api.deps import ApiRoute, CurrentUser, IdFilter, Offset, ReviewerUser
from service.api.errors import errors
from service.cases import (
    CaseFilter,
    TransitionError,
    UnknownCategoryError,
    case_detail,
    change_status,
    find_cases,
    public_case,
    review,
)
from service.decisions import Conflict, decide
from service.deps import CategoriesDep, IdPath, NowDep, SessionDep, WriterDep
from service.inputs import Text, UtcTime
from service.models.cases import (
    Case,
    CaseAction,
    CaseDetail,
    CasePublic,
    CasesPublic,
    CaseStatus,
    Expectation,
    ReviewRequest,
    StatusRequest,
)
from service.writer import Writer

router = APIRouter(prefix="/cases", tags=["cases"], route_class=ApiRoute)

CategoryQuery = Annotated[Text | None, Query(max_length=64)]


@router.get("", response_model=CasesPublic)
def list_cases(
    session: SessionDep,
    now: NowDep,
    user: CurrentUser,
    category: CategoryQuery = None,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    hotspot_id: IdFilter = None,
    since: Annotated[UtcTime | None, Query()] = None,
    until: Annotated[UtcTime | None, Query()] = None,
    unit_id: IdFilter = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> CasesPublic:
    """Cases seen between ``since`` and ``until`` (ISO-8601; naive means UTC), newest sighting first;
    ``unit_id``: dispatched to that unit; ``overdue``: dispatched and past their deadline now."""
    found = CaseFilter(category, status_, hotspot_id, since, until, unit_id, now if overdue else None)
    return find_cases(session, found, limit, offset)


@router.get("/{case_id}", response_model=CaseDetail, responses=errors(404))
def get_case(case_id: IdPath, session: SessionDep, user: CurrentUser) -> CaseDetail:
    """One case with its observations (and crop links) and its audit trail."""
    try:
        return case_detail(session, case_id)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case") from None


def decided(session: Session, writer: Writer, case_id: int, seen: Expectation, apply: Callable[[Case], None]) -> Case:
    """``service.decisions.decide`` with its refusals as HTTP errors: 404, 409 (stale or forbidden), 422."""
    try:
        return decide(session, writer, case_id, seen, apply)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case") from None
    except (Conflict, TransitionError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except UnknownCategoryError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


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
