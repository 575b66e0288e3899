"""Field pages, made for a phone: a field officer's (or dispatcher's) list of the cases dispatched to
their unit, and the disposal form of one, with an after-photo taken on the spot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from service.decisions import Conflict, decide
from service.deps import IdPath, NowDep, SecretKeyDep, SessionDep, SettingsDep, WriterDep
from service.evidence import EvidenceError, evidence_store, store_bytes
from service.inputs import MAX_ID, Text
from service.integrations.dispatch_sheet import FORMATS, sheet_file
from service.integrations.exports import MEDIA
from service.integrations.media import media_url
from service.models.cases import Case, Expectation
from service.models.hotspots import Hotspot
from service.models.operations import CaseAssignment, DisposalKind, Unit
from service.models.users import Role
from service.operations import BadRequest, NotYourCase, OperationsError, dispatched_cases, dispose
from service.web.deps import FieldPage, FieldPoster, PageError, Visitor, WebRoute
from service.web.i18n import NOTICES
from service.web.render import Page, render
from service.web.routes.reports import download

router = APIRouter(include_in_schema=False, route_class=WebRoute)


def _unit_filter(visitor: Visitor) -> int | None:
    """The unit whose tasks a visitor sees: their own; dispatchers and admins see every unit's."""
    return None if visitor.user.role in (Role.admin, Role.dispatcher) else visitor.user.unit_id or -1


@router.get("/tasks")
def tasks_page(request: Request, db: SessionDep, now: NowDep, visitor: FieldPage, notice: str = "") -> HTMLResponse:
    """The cases waiting for the visitor's unit, earliest deadline first, with the dispatch sheet of
    each unit they wait for (a field officer's own unit's even when none waits)."""
    rows = dispatched_cases(db, now, unit_id=_unit_filter(visitor))
    own = db.get(Unit, visitor.user.unit_id) if visitor.user.unit_id and _unit_filter(visitor) else None
    sheets = [own] if own else sorted({row.unit.id: row.unit for row in rows}.values(), key=lambda u: u.name)
    shown = f"notice_{notice}" if notice in NOTICES else ""
    return render(Page(request, visitor), "tasks.html", rows=rows, sheets=sheets, notice=shown)


@router.get("/tasks/dispatch-sheet.{fmt}")
def dispatch_sheet(
    fmt: Annotated[str, Path(max_length=16)],
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    secret: SecretKeyDep,
    now: NowDep,
    visitor: FieldPage,
    unit: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> Response:
    """The dispatch sheet (派单表) of ``unit`` as CSV or XLSX (``service.integrations.dispatch_sheet``);
    a field officer gets only their own unit's."""
    found = db.get(Unit, unit)
    if found is None or fmt not in FORMATS:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_unit" if found is None else "no_format")
    mine = _unit_filter(visitor)
    if mine is not None and unit != mine:
        raise PageError(status.HTTP_403_FORBIDDEN, "other_unit")
    photo_url = media_url(str(request.base_url), secret, now, settings.media_url_ttl_s)
    content = sheet_file(db, settings, found, fmt, now, photo_url)
    return download(content, MEDIA[fmt], f"dispatch-sheet-{unit}.{fmt}")


def _task_page(
    request: Request, db: Session, visitor: Visitor, case_id: int, error: str = "", status_code: int = 200
) -> HTMLResponse:
    case = db.get(Case, case_id)
    assignment = db.get(CaseAssignment, case_id)
    if case is None or assignment is None:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_case")
    mine = _unit_filter(visitor)
    if mine is not None and assignment.unit_id != mine:
        raise PageError(status.HTTP_403_FORBIDDEN, "other_unit")
    hotspot = db.get(Hotspot, case.hotspot_id) if case.hotspot_id else None
    return render(
        Page(request, visitor),
        "task.html",
        status_code,
        case=case,
        assignment=assignment,
        hotspot=hotspot,
        kinds=list(DisposalKind),
        error=error,
    )


@router.get("/tasks/{case_id}")
def task_page(case_id: IdPath, request: Request, db: SessionDep, visitor: FieldPage) -> HTMLResponse:
    return _task_page(request, db, visitor, case_id)


@router.post("/tasks/{case_id}/disposal")
def record_disposal(
    case_id: IdPath,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    visitor: FieldPoster,
    kind: Annotated[DisposalKind, Form()],
    note: Annotated[Text, Form(max_length=2000)] = "",
    fine_yuan: Annotated[str, Form(max_length=20)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Record what was done (the same ``dispose`` the API uses), then back to the task list."""
    try:
        fine = float(fine_yuan) if fine_yuan.strip() else None
        data = photo.file.read(settings.max_evidence_bytes + 1) if photo is not None and photo.filename else b""
        if len(data) > settings.max_evidence_bytes:
            raise BadRequest(f"photo too large: the limit is {settings.max_evidence_mb:g} MiB")
        key = store_bytes(evidence_store(settings), data) if data else None
        evidence, user = evidence_store(settings), visitor.user
        decide(
            db,
            writer,
            case_id,
            Expectation(),
            lambda c: dispose(db, evidence, c, user, kind, now, fine, note or None, key),
        )
    except NotYourCase:
        raise PageError(status.HTTP_403_FORBIDDEN, "other_unit") from None
    except LookupError:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_case") from None
    except (OperationsError, Conflict, EvidenceError, ValueError) as exc:
        code = status.HTTP_409_CONFLICT if type(exc) in (OperationsError, Conflict) else 422
        return _task_page(request, db, visitor, case_id, str(exc), code)
    return RedirectResponse("/tasks?notice=disposed", status.HTTP_303_SEE_OTHER)
