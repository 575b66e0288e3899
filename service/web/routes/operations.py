"""Operations pages: the dispatched cases with their deadlines (overdue first to the eye), and the
admins' units page (add a unit, enable or disable one, its head and members)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.deps import IdPath, NowDep, SessionDep, WriterDep
from service.inputs import MAX_ID
from service.models.base import validation_message
from service.models.hotspots import Hotspot
from service.models.operations import Unit, UnitCreate, UnitKind
from service.models.users import User
from service.operations import dispatched_cases
from service.web.deps import AdminPage, AdminPoster, PageError, PageViewer, Visitor, WebRoute
from service.web.render import Page, render
from service.web.routes.admin import user_or_404

router = APIRouter(include_in_schema=False, route_class=WebRoute)


def _units(db: Session) -> list[Unit]:
    return list(db.exec(select(Unit).order_by(col(Unit.id))).all())


@router.get("/operations")
def operations_page(
    request: Request,
    db: SessionDep,
    now: NowDep,
    visitor: PageViewer,
    unit: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    overdue: bool = False,
) -> HTMLResponse:
    """The cases waiting for their unit, earliest deadline first; overdue ones marked."""
    rows = dispatched_cases(db, now, overdue, unit)
    return render(Page(request, visitor), "operations.html", rows=rows, units=_units(db), unit=unit, overdue=overdue)


def _units_page(
    request: Request, db: Session, visitor: Visitor, status_code: int = 200, error: str = "", notice: str = ""
) -> HTMLResponse:
    users = list(db.exec(select(User).order_by(col(User.name))).all())
    return render(
        Page(request, visitor),
        "admin_units.html",
        status_code,
        units=_units(db),
        users=users,
        names={u.id: u.name for u in users},
        places={h.key: h.name for h in db.exec(select(Hotspot)).all()},
        kinds=list(UnitKind),
        error=error,
        notice=notice,
    )


def _unit(db: Session, unit_id: int) -> Unit:
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_unit")
    return unit


@router.get("/admin/units")
def units_page(request: Request, db: SessionDep, visitor: AdminPage) -> HTMLResponse:
    return _units_page(request, db, visitor)


@router.post("/admin/units")
def add_unit(
    request: Request,
    db: SessionDep,
    writer: WriterDep,
    visitor: AdminPoster,
    key: Annotated[str, Form(max_length=256)],
    name: Annotated[str, Form(max_length=1024)],
    kind: Annotated[str, Form(max_length=32)],
) -> HTMLResponse:
    """Add a unit (its territory and categories through the API)."""
    try:
        unit = Unit.model_validate(UnitCreate.model_validate({"key": key, "name": name, "kind": kind}).model_dump())
    except ValidationError as exc:
        return _units_page(request, db, visitor, status.HTTP_422_UNPROCESSABLE_CONTENT, error=validation_message(exc))
    with writer:
        db.add(unit)
        try:
            db.commit()
        except IntegrityError:
            db.rollback()
            return _units_page(request, db, visitor, status.HTTP_409_CONFLICT, error=f"unit {key!r} exists already")
    return _units_page(request, db, visitor, notice="notice_unit_saved")


@router.post("/admin/units/{unit_id}/members")
def add_member(
    request: Request,
    unit_id: IdPath,
    db: SessionDep,
    writer: WriterDep,
    visitor: AdminPoster,
    user_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    head: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """Put a user in the unit (out of any other); ``head``: and make them its head."""
    with writer:
        unit = _unit(db, unit_id)
        user = user_or_404(db, user_id)
        user.unit_id = unit_id
        if head:
            unit.head_user_id = user_id
        db.add_all([unit, user])
        db.commit()
    return _units_page(request, db, visitor, notice="notice_unit_saved")


@router.post("/admin/units/{unit_id}/{switch}")
def switch_unit(
    request: Request, unit_id: IdPath, switch: str, db: SessionDep, writer: WriterDep, visitor: AdminPoster
) -> HTMLResponse:
    """``disable`` (the unit takes no new case) or ``enable`` a unit (after ``…/members``: routes match in order)."""
    if switch not in ("disable", "enable"):
        raise PageError(status.HTTP_404_NOT_FOUND, "no_action")
    with writer:
        unit = _unit(db, unit_id)
        unit.disabled = switch == "disable"
        db.add(unit)
        db.commit()
    return _units_page(request, db, visitor, notice="notice_unit_saved")
