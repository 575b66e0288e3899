"""Campaign operations on cases (立案 → 派遣 → 处置 → 核查 → 结案): dispatch (one, or a queue in bulk),
disposal with an after-photo, verification, the assignment; escalation of overdue cases; phases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from sqlmodel import Session

from service.api.deps import AdminUser, ApiRoute, CurrentUser, DispatcherUser, FieldUser, VerifierUser
from service.api.errors import errors
from service.api.routes.cases import decided
from service.campaign import save_calendar, stored_calendar
from service.deps import IdPath, NowDep, SessionDep, SettingsDep, WriterDep
from service.evidence import EvidenceError, evidence_store, store_bytes
from service.inputs import Text
from service.models.base import row_id
from service.models.cases import Case, Expectation
from service.models.operations import (
    AssignmentPublic,
    BulkDispatchRequest,
    BulkDispatchResult,
    CaseAssignment,
    DispatchRequest,
    DisposalKind,
    PatrolProposal,
    PhasePublic,
    PhasesPublic,
    Unit,
    VerifyRequest,
)
from service.operations import (
    BadRequest,
    Calendar,
    NotYourCase,
    OperationsError,
    assignment_public,
    dispatch,
    dispose,
    escalate_overdue,
    load_plan,
    local_date,
    patrol_proposals,
    verify,
)
from service.settings import Settings
from service.writer import Writer

router = APIRouter(tags=["operations"], route_class=ApiRoute)
MAX_PHOTO_FIELD = 80


def operated(session: Session, writer: Writer, case_id: int, seen: Expectation, apply: Callable[[Case], None]) -> Case:
    """``decided`` with the operations' refusals as HTTP errors: 403 (another unit's case), 422 (bad
    input), 409 (the case's state)."""
    try:
        return decided(session, writer, case_id, seen, apply)
    except NotYourCase as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except BadRequest as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except OperationsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def _unit(session: Session, unit_id: int | None) -> Unit | None:
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    if unit_id is not None and unit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such unit")
    return unit


def _assignment(session: Session, case_id: int, now: NowDep) -> AssignmentPublic:
    return assignment_public(session, session.get_one(CaseAssignment, case_id), now)


@router.post("/cases/dispatch", response_model=list[BulkDispatchResult], responses=errors(404))
def dispatch_many(
    body: BulkDispatchRequest,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    user: DispatcherUser,
) -> list[BulkDispatchResult]:
    """Dispatch each case (to ``unit_id``, else its default unit) with its SLA deadline; one result
    per case, in order, with the reason where one was not dispatched (the others are)."""
    unit = _unit(session, body.unit_id)
    sla = load_plan(settings.operations_file).sla
    results = []
    for case_id in body.case_ids:
        try:
            operated(session, writer, case_id, Expectation(), lambda c: dispatch(session, sla, c, unit, now, user.id))
            results.append(
                BulkDispatchResult(case_id=case_id, unit_id=_assignment(session, case_id, now).unit_id, error=None)
            )
        except HTTPException as exc:
            results.append(BulkDispatchResult(case_id=case_id, unit_id=None, error=str(exc.detail)))
    return results


@router.post("/cases/{case_id}/dispatch", response_model=AssignmentPublic, responses=errors(404, 409))
def dispatch_case(
    case_id: IdPath,
    body: DispatchRequest,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    user: DispatcherUser,
) -> AssignmentPublic:
    """Send a confirmed or reopened case to a unit (default: the unit its category goes to, else the
    brigade whose territory holds it) due by ``due`` (default: the SLA table's); a dispatched case
    is transferred. 422 for a disabled unit, a past deadline or no unit to send it to."""
    unit = _unit(session, body.unit_id)
    sla = load_plan(settings.operations_file).sla
    operated(
        session, writer, case_id, body, lambda c: dispatch(session, sla, c, unit, now, user.id, body.due, body.note)
    )
    return _assignment(session, case_id, now)


@router.get("/cases/{case_id}/assignment", response_model=AssignmentPublic, responses=errors(404))
def get_assignment(case_id: IdPath, session: SessionDep, now: NowDep, user: CurrentUser) -> AssignmentPublic:
    """The unit the case is dispatched to, its deadlines and whether it is overdue."""
    if session.get(CaseAssignment, case_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the case was never dispatched")
    return _assignment(session, case_id, now)


def _photo(settings: Settings, photo: UploadFile | None) -> str | None:
    """Store an uploaded after-photo in the evidence store; its key (413 too large, 422 not an image)."""
    if photo is None:
        return None
    data = photo.file.read(settings.max_evidence_bytes + 1)
    if len(data) > settings.max_evidence_bytes:
        too_large = f"photo too large: the limit is {settings.max_evidence_mb:g} MiB"
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, too_large)
    try:
        return store_bytes(evidence_store(settings), data)
    except EvidenceError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"photo: {exc}") from None


@router.post("/cases/{case_id}/disposal", response_model=AssignmentPublic, responses=errors(404, 409))
def record_disposal(
    case_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    user: FieldUser,
    kind: Annotated[DisposalKind, Form()],
    note: Annotated[Text | None, Form(max_length=2000)] = None,
    fine_yuan: Annotated[float | None, Form(ge=0, le=1_000_000)] = None,
    photo: Annotated[UploadFile | None, File(description="an after-photo, JPEG or PNG")] = None,
) -> AssignmentPublic:
    """What the case's unit did (multipart form): ``kind`` (劝离 persuaded, 整改 corrected, 暂扣 seized,
    罚款 fined with ``fine_yuan``, 拆除 removed, 移交 referred), a ``note``, an optional after-``photo``.
    A dispatched case becomes resolved. 403 for a user of another unit."""
    key = _photo(settings, photo)
    evidence = evidence_store(settings)
    operated(
        session,
        writer,
        case_id,
        Expectation(),
        lambda c: dispose(session, evidence, c, user, kind, now, fine_yuan, note, key),
    )
    return _assignment(session, case_id, now)


@router.get("/cases/{case_id}/verify/proposals", response_model=list[PatrolProposal], responses=errors(404))
def verify_proposals(
    case_id: IdPath, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> list[PatrolProposal]:
    """The patrol passes that may verify a resolved case ("verified by patrol of <date>"): each
    covered its spot after the disposal and after the case was last sighted, in time order."""
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case")
    found = patrol_proposals(session, case, settings.radius_for(case.category))
    return [PatrolProposal(patrol_pass_id=row_id(row), source=row.source, seen_at=at) for row, at in found]


@router.post("/cases/{case_id}/verify", response_model=AssignmentPublic, responses=errors(404, 409))
def verify_case(
    case_id: IdPath,
    body: VerifyRequest,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    user: VerifierUser,
) -> AssignmentPublic:
    """Check the disposal of a resolved case (核查) by an after-``photo`` (an evidence key), a later
    ``patrol_pass_id`` that covered the spot and no longer saw it, an inspection or a supervisor's
    override (both with a ``note``). Passed: the case may close (``POST …/status`` closed); failed:
    it is reopened, to be dispatched again."""
    evidence = evidence_store(settings)

    def apply(case: Case) -> None:
        verify(session, evidence, case, body, now, user.id, settings.radius_for(case.category))

    operated(session, writer, case_id, body, apply)
    return _assignment(session, case_id, now)


@router.post("/operations/escalate", response_model=list[int])
def escalate(session: SessionDep, now: NowDep, writer: WriterDep, user: DispatcherUser) -> list[int]:
    """Escalate now every dispatched case past its second deadline to the head of its unit (the
    service does so every ``escalation_check_s`` too); the ids of the cases escalated."""
    with writer:
        escalated = escalate_overdue(session, now)
        session.commit()
    return escalated


@router.get("/phases", response_model=PhasesPublic)
def phases(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: CurrentUser,
    on: Annotated[date | None, Query()] = None,
) -> PhasesPublic:
    """The campaign's phases, the one the local date ``on`` (default: today) falls in, and the start
    of each road-market batch (its markets are in focus from it)."""
    calendar = stored_calendar(session)
    return _phases(calendar, on or local_date(now, settings.timezone))


def _phases(calendar: Calendar, day: date) -> PhasesPublic:
    found = calendar.phase_on(day)
    items = [PhasePublic.model_validate(p, from_attributes=True) for p in calendar.phases]
    return PhasesPublic(items=items, on=day, phase=found.number if found else None, batches=calendar.batches)


@router.put("/phases", response_model=PhasesPublic)
def put_phases(
    body: Calendar, session: SessionDep, settings: SettingsDep, now: NowDep, writer: WriterDep, user: AdminUser
) -> PhasesPublic:
    """Replace the campaign calendar (admin): the phases, numbered and dated in order without overlaps,
    and the batch starts; every road market of a batch takes its start as its ``start_date``. 422 for
    a phase ending before it starts, overlapping or out-of-order phases, a batch given twice or not 1
    or 2; nothing changes then."""
    with writer:
        save_calendar(session, body)
        session.commit()
    return _phases(body, local_date(now, settings.timezone))
