"""Cases: list with filters and paging, detail with evidence and audit trail, review and status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import Session, func, select

from service.api.deps import (
    ApiRoute,
    CategoriesDep,
    CurrentUser,
    IdFilter,
    IdPath,
    NowDep,
    Offset,
    ReviewerUser,
    SessionDep,
    WriterDep,
)
from service.api.errors import errors
from service.cases import TransitionError, UnknownCategoryError, change_status, review
from service.decisions import Conflict, decide
from service.inputs import Text, UtcTime
from service.models import (
    Case,
    CaseAction,
    CaseDetail,
    CaseEvent,
    CaseEventPublic,
    CasePublic,
    CasesPublic,
    CaseStatus,
    Expectation,
    Hotspot,
    Observation,
    ObservationPublic,
    ReviewRequest,
    StatusRequest,
    User,
)
from service.writer import Writer

router = APIRouter(prefix="/cases", tags=["cases"], route_class=ApiRoute)

CategoryQuery = Annotated[Text | None, Query(max_length=64)]


def case_public(case: Case, hotspot_name: str | None) -> CasePublic:
    return CasePublic.model_validate(
        {**case.model_dump(), "hotspot_name": hotspot_name, "located": case.lat is not None}
    )


def _load(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case")
    return case


def _public(session: Session, case: Case) -> CasePublic:
    name = session.get(Hotspot, case.hotspot_id).name if case.hotspot_id else None
    return case_public(case, name)


@router.get("", response_model=CasesPublic)
def list_cases(
    session: SessionDep,
    user: CurrentUser,
    category: CategoryQuery = None,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    hotspot_id: IdFilter = None,
    since: Annotated[UtcTime | None, Query()] = None,
    until: Annotated[UtcTime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> CasesPublic:
    """Cases seen between ``since`` and ``until`` (ISO-8601; naive means UTC), newest sighting first."""
    conditions = []
    if category is not None:
        conditions.append(Case.category == category)
    if status_ is not None:
        conditions.append(Case.status == status_)
    if hotspot_id is not None:
        conditions.append(Case.hotspot_id == hotspot_id)
    if since is not None:
        conditions.append(Case.last_seen >= since)
    if until is not None:
        conditions.append(Case.first_seen <= until)
    total = session.exec(select(func.count()).select_from(Case).where(*conditions)).one()
    stmt = (
        select(Case, Hotspot.name)
        .outerjoin(Hotspot, Case.hotspot_id == Hotspot.id)
        .where(*conditions)
        .order_by(Case.last_seen.desc(), Case.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return CasesPublic(items=[case_public(c, name) for c, name in session.exec(stmt)], total=total)


@router.get("/{case_id}", response_model=CaseDetail, responses=errors(404))
def get_case(case_id: IdPath, session: SessionDep, user: CurrentUser) -> CaseDetail:
    """One case with its observations (and crop links) and its audit trail."""
    case = _load(session, case_id)
    observations = session.exec(
        select(Observation).where(Observation.case_id == case_id).order_by(Observation.seen_at, Observation.id)
    )
    events = session.exec(
        select(CaseEvent, User.name)
        .outerjoin(User, CaseEvent.user_id == User.id)
        .where(CaseEvent.case_id == case_id)
        .order_by(CaseEvent.id)
    )
    return CaseDetail(
        **_public(session, case).model_dump(),
        observations=[
            ObservationPublic(
                **o.model_dump(),
                crop_url=f"/api/observations/{o.id}/crop" if o.crop else None,
                keyframe_url=f"/api/observations/{o.id}/keyframe" if o.keyframe else None,
            )
            for o in observations
        ],
        events=[CaseEventPublic(**e.model_dump(), user=name) for e, name in events],
    )


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
        session, writer, case_id, body,
        lambda c: review(session, c, body.decision, body.category, categories, now, user.id, body.note),
    )
    return _public(session, case)


@router.post("/{case_id}/status", response_model=CasePublic, responses=errors(404, 409))
def set_status(
    case_id: IdPath, body: StatusRequest, session: SessionDep, now: NowDep, writer: WriterDep, user: ReviewerUser
) -> CasePublic:
    """Move the case along the state machine; a transition it does not allow is a 409, and so is
    a stale ``expected_status`` or ``version``."""
    case = decided(
        session, writer, case_id, body,
        lambda c: change_status(session, c, body.status, now, user.id, body.note, CaseAction.status),
    )
    return _public(session, case)
