"""The case page (sightings, map, status actions, corrections, audit trail) and its two posts: a status
change and "assign to hotspot", both through the functions the API uses (the corrections are in
``service.web.routes.casework``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select

from service.campaign import campaign_plan
from service.cases import (
    LOCATING_STATUSES,
    TRANSITIONS,
    PlacementError,
    TransitionError,
    assign_hotspot,
    case_detail,
    change_status,
)
from service.casework import undoable
from service.decisions import Conflict, decide
from service.deps import IdPath, NowDep, SecretKeyDep, SessionDep, SettingsDep, WriterDep, get_now, get_settings
from service.evidence_report import HEADERS, render_report
from service.geometry import bounds
from service.inputs import MAX_ID, RowId, Text
from service.messages import Refusal
from service.models.base import row_id
from service.models.cases import Case, CaseDetail, CaseStatus, Expectation
from service.models.hotspots import Hotspot
from service.models.operations import CaseAssignment
from service.models.patrols import PatrolPass
from service.operations import assignment_public, phase_at
from service.share import share_token
from service.web.deps import AdminPoster, PageError, PageViewer, Poster, Visitor, WebRoute
from service.web.i18n import NOTICES, Labels
from service.web.maps import Basemap, Mark, Projection, SvgMap, hotspot_marks
from service.web.queries import EVIDENCE, merge_proposals, next_waiting
from service.web.render import Page, render
from service.writer import lock_matching

router = APIRouter(include_in_schema=False, route_class=WebRoute)
SHARE_DAYS = 7
"""How long a share link made on the case page works."""
MAP_RADIUS_M = 300.0
MAP_SIZE = (480, 240)


def _case(db: Session, case_id: int) -> Case:
    case = db.get(Case, case_id)
    if case is None:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_case")
    return case


def case_map(db: Session, detail: CaseDetail, t: Labels, colour: str, basemap: Basemap) -> SvgMap | None:
    """Hotspots around the case, the routes of the patrol passes that saw it, its sightings and the case
    itself; None without a position."""
    if detail.lat is None or detail.lon is None:
        return None
    projection = Projection.around(detail.lat, detail.lon, MAP_RADIUS_M, *MAP_SIZE)
    located = db.exec(select(Hotspot).where(col(Hotspot.geometry).is_not(None))).all()
    marks = hotspot_marks(
        projection, [h for h in located if h.geometry and projection.sees(bounds(h.geometry))], t.kind
    )
    sources = sorted({obs.source for obs in detail.observations})
    for patrol in db.exec(select(PatrolPass).where(col(PatrolPass.source).in_(sources)).order_by(col(PatrolPass.id))):
        marks.append(Mark("track", f"{t('pass_track')} {patrol.source}", d=projection.path(patrol.route)))
    for obs in detail.observations:
        if obs.lat is not None and obs.lon is not None:
            x, y = projection.xy(obs.lat, obs.lon)
            marks.append(Mark("sighting", obs.track_id, x=x, y=y, r=2.5))
    x, y = projection.xy(detail.lat, detail.lon)
    marks.append(Mark(f"this-case {colour}", t("this_case"), x=x, y=y, r=7.0))
    return SvgMap.of(projection, marks, basemap)


def can_undo(db: Session, case_id: int, visitor: Visitor) -> bool:
    """Whether the case's latest change is a decision of the visitor's that undo reverses."""
    try:
        undoable(db, case_id, row_id(visitor.user))
    except Refusal:
        return False
    return True


@router.get("/cases/{case_id}")
def case_page(
    case_id: IdPath,
    request: Request,
    db: SessionDep,
    visitor: PageViewer,
    notice: str = "",
    into: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    """The case page; ``into`` fills in the case to merge it into (else the first one proposed)."""
    return case_page_of(request, db, visitor, case_id, notice if notice in NOTICES else "", into=into)


def case_page_of(
    request: Request,
    db: Session,
    visitor: Visitor,
    case_id: int,
    notice: str = "",
    problem: str = "",
    status_code: int = 200,
    shared: str = "",
    into: int | None = None,
) -> HTMLResponse:
    """The case page with a ``notice`` (a label key) or a ``problem`` (a message) on top, and the
    ``shared`` link just made."""
    case = _case(db, case_id)
    detail = case_detail(db, case_id)
    proposals = merge_proposals(db, [case_id])[case_id]
    page = Page(request, visitor)
    hotspots = db.exec(select(Hotspot).order_by(col(Hotspot.kind), col(Hotspot.batch), col(Hotspot.id))).all()
    settings, assignment = get_settings(request), db.get(CaseAssignment, case_id)
    return render(
        page,
        "case.html",
        status_code,
        case=detail,
        evidence=EVIDENCE,
        targets=[s for s in CaseStatus if s in TRANSITIONS[case.status]],
        can_locate=case.lat is not None and case.status in LOCATING_STATUSES,
        hotspots=hotspots,
        hotspot_names={h.id: h.name for h in hotspots},
        hotspot=next((h for h in hotspots if h.id == case.hotspot_id), None),
        notice=notice,
        problem=problem,
        proposals=proposals,
        merge_into=into if into is not None else next(iter(proposals), None),
        can_undo=can_undo(db, case_id, visitor),
        next_case=next_waiting(db, case),
        map=case_map(db, detail, page.t, page.colour(detail.category), page.basemap),
        shared=shared,
        assignment=assignment_public(db, assignment, get_now(request)) if assignment else None,
        phase=phase_at(campaign_plan(db, settings), case.first_seen, settings.timezone),
    )


@router.get("/cases/{case_id}/evidence-report")
def evidence_report(
    case_id: IdPath, db: SessionDep, settings: SettingsDep, now: NowDep, visitor: PageViewer
) -> HTMLResponse:
    """The case's printable evidence record with raw images (the web view's visitors are reviewers and admins)."""
    try:
        html = render_report(db, settings, case_id, True, now, visitor.user.name)
    except LookupError:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_case") from None
    return HTMLResponse(html, headers=HEADERS)


@router.post("/cases/{case_id}/share")
def share(
    case_id: IdPath, request: Request, db: SessionDep, key: SecretKeyDep, now: NowDep, visitor: Poster
) -> HTMLResponse:
    """The case page with a new share link (``SHARE_DAYS`` days, blurred) to copy."""
    _case(db, case_id)
    token = share_token(key, case_id, now + timedelta(days=SHARE_DAYS))
    return case_page_of(request, db, visitor, case_id, shared=f"{str(request.base_url).rstrip('/')}/shared/{token}")


def back(case_id: int, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}?notice={notice}", status.HTTP_303_SEE_OTHER)


@router.post("/cases/{case_id}/status")
def set_status(
    case_id: IdPath,
    request: Request,
    db: SessionDep,
    now: NowDep,
    writer: WriterDep,
    visitor: Poster,
    target: Annotated[CaseStatus, Form(alias="status")],
    expected_status: Annotated[CaseStatus | None, Form()] = None,
    note: Annotated[Text, Form(max_length=2000)] = "",
) -> Response:
    """Move the case along the state machine, then back to its page with a notice; a case someone
    else moved on since the page showed ``expected_status`` is shown again with who did (409)."""
    try:
        decide(
            db,
            writer,
            case_id,
            Expectation(expected_status=expected_status),
            lambda c: change_status(db, c, target, now, visitor.user.id, note or None),
        )
    except LookupError:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_case") from None
    except TransitionError:
        return back(case_id, "transition")
    except Conflict as exc:
        problem = Page(request, visitor).conflict(exc)
        return case_page_of(request, db, visitor, case_id, problem=problem, status_code=status.HTTP_409_CONFLICT)
    return back(case_id, "status")


@router.post("/cases/{case_id}/hotspot")
def set_hotspot(
    case_id: IdPath,
    db: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    visitor: AdminPoster,
    hotspot_id: Annotated[RowId, Form()],
) -> RedirectResponse:
    """Tie the case to a hotspot; an unlocated one is located at the case (admins only, as in the API)."""
    with writer:
        lock_matching(db)
        case = _case(db, case_id)
        hotspot = db.get(Hotspot, hotspot_id)
        if hotspot is None:
            raise PageError(status.HTTP_404_NOT_FOUND, "no_hotspot")
        locating = hotspot.geometry is None
        try:
            assign_hotspot(db, settings, case, hotspot, now, visitor.user.id)
        except PlacementError:
            return back(case_id, "not_locating" if case.lat is not None else "no_position")
        except ValueError:
            db.rollback()
            return back(case_id, "bad_shape")
        db.commit()
    return back(case_id, "located" if locating else "assigned")
