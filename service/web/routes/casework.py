"""The case page's corrections: merge into another case (and reverse it), split sightings off, reject or
restore one sighting, and undo one's latest decision; each through ``service.casework`` as the API does,
then back to a case page with a notice, or the page again with why it was refused (409)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status
from sqlmodel import Session

from service.casework import Casework
from service.decisions import Conflict
from service.deps import IdPath, NowDep, SessionDep, SettingsDep, WriterDep
from service.inputs import MAX_ID, RowId
from service.messages import Refusal
from service.models.base import row_id
from service.models.cases import MAX_SPLIT, Case, Expectation, MergeRequest, SightingRequest, SplitRequest
from service.web.deps import PageError, Poster, Visitor, WebRoute
from service.web.render import Page
from service.web.routes.cases import back, case_page_of

router = APIRouter(include_in_schema=False, route_class=WebRoute)

VersionForm = Annotated[int | None, Form(ge=1, le=MAX_ID)]


def corrected(
    request: Request, db: Session, visitor: Visitor, case_id: int, work: Callable[[], Case], notice: str
) -> Response:
    """Run ``work`` and go to the case it returns with ``notice``; a refusal shows case ``case_id`` again
    with why (a stale page: who changed the case, in the visitor's language)."""
    page = Page(request, visitor)
    try:
        case = work()
    except LookupError:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_case") from None
    except Conflict as exc:
        problem = page.conflict(exc)
    except Refusal as exc:
        problem = page.t.refusal(exc)
    else:
        return back(row_id(case), notice)
    return case_page_of(request, db, visitor, case_id, problem=problem, status_code=status.HTTP_409_CONFLICT)


def visitor_casework(
    db: SessionDep, settings: SettingsDep, now: NowDep, writer: WriterDep, visitor: Poster
) -> Casework:
    """The visitor's corrections (``service.casework``)."""
    return Casework(db, writer, settings, now, row_id(visitor.user))


CaseworkDep = Annotated[Casework, Depends(visitor_casework)]


@router.post("/cases/{case_id}/merge")
def merge(
    case_id: IdPath,
    request: Request,
    db: SessionDep,
    visitor: Poster,
    work: CaseworkDep,
    into: Annotated[RowId, Form()],
    version: VersionForm = None,
) -> Response:
    """Merge this case into case ``into``; then to that case."""
    return corrected(
        request, db, visitor, case_id, lambda: work.merge(case_id, MergeRequest(into=into, version=version)), "merged"
    )


@router.post("/cases/{case_id}/unmerge")
def unmerge(
    case_id: IdPath,
    request: Request,
    db: SessionDep,
    visitor: Poster,
    work: CaseworkDep,
    version: VersionForm = None,
) -> Response:
    return corrected(
        request, db, visitor, case_id, lambda: work.unmerge(case_id, Expectation(version=version)), "unmerged"
    )


@router.post("/cases/{case_id}/split")
def split(
    case_id: IdPath,
    request: Request,
    db: SessionDep,
    visitor: Poster,
    work: CaseworkDep,
    observation_ids: Annotated[list[RowId], Form(max_length=MAX_SPLIT)] = [],  # noqa: B006 - FastAPI copies it
    version: VersionForm = None,
) -> Response:
    """The ticked sightings become a new case; then to the new case."""
    if not observation_ids:
        return case_page_of(
            request, db, visitor, case_id, problem=Page(request, visitor).t("pick_sightings"), status_code=422
        )
    body = SplitRequest(observation_ids=observation_ids, version=version)
    return corrected(request, db, visitor, case_id, lambda: work.split(case_id, body)[1], "split")


@router.post("/cases/{case_id}/sightings/{observation_id}")
def judge(
    case_id: IdPath,
    observation_id: IdPath,
    request: Request,
    db: SessionDep,
    visitor: Poster,
    work: CaseworkDep,
    rejected: Annotated[bool, Form()],
    version: VersionForm = None,
) -> Response:
    body = SightingRequest(rejected=rejected, version=version)
    notice = "sighting_rejected" if rejected else "sighting_restored"
    return corrected(request, db, visitor, case_id, lambda: work.judge(case_id, observation_id, body), notice)


@router.post("/cases/{case_id}/undo")
def undo(
    case_id: IdPath,
    request: Request,
    db: SessionDep,
    visitor: Poster,
    work: CaseworkDep,
    version: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    return corrected(request, db, visitor, case_id, lambda: work.undo(case_id, version), "undone")
