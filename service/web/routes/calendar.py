"""The campaign calendar page (admins): the phases with their dates and each road-market batch's
start, saved whole as ``PUT /api/phases`` saves it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from service.campaign import save_calendar, stored_calendar
from service.deps import SessionDep, WriterDep
from service.messages import Refusal
from service.operations import Calendar
from service.web.deps import AdminPage, AdminPoster, Visitor, WebRoute
from service.web.i18n import NOTICES
from service.web.render import Page, render

router = APIRouter(include_in_schema=False, route_class=WebRoute)
BATCHES = (1, 2)
FormList = Annotated[list[str] | None, Form()]


def _page(
    request: Request, db: Session, visitor: Visitor, error: Refusal | None = None, notice: str = "", code: int = 200
) -> HTMLResponse:
    page = Page(request, visitor)
    calendar = stored_calendar(db)
    starts = {b.number: b.start for b in calendar.batches}
    return render(
        page,
        "admin_calendar.html",
        code,
        phases=calendar.phases,
        batches=[(n, starts.get(n)) for n in BATCHES],
        error=page.t.refusal(error) if error else "",
        notice=notice,
    )


@router.get("/admin/calendar")
def calendar_page(request: Request, db: SessionDep, visitor: AdminPage, notice: str = "") -> HTMLResponse:
    return _page(request, db, visitor, notice=f"notice_{notice}" if notice in NOTICES else "")


@router.post("/admin/calendar")
def save_calendar_form(
    request: Request,
    db: SessionDep,
    writer: WriterDep,
    visitor: AdminPoster,
    name: FormList = None,
    name_en: FormList = None,
    start: FormList = None,
    end: FormList = None,
    batch_start: FormList = None,
) -> Response:
    """Phase rows in order (numbered 1, 2, …; a row without a name or dates is a spare one and left
    out) and one start per batch (empty: none). A bad calendar is shown again with why (422)."""
    rows = zip(name or [], name_en or [], start or [], end or [], strict=False)
    phases = [
        {"name": n, "name_en": e, "start": s, "end": f} for n, e, s, f in rows if n.strip() or s.strip() or f.strip()
    ]
    batches = [{"number": n, "start": s} for n, s in zip(BATCHES, batch_start or [], strict=False) if s.strip()]
    try:
        calendar = Calendar.model_validate(
            {"phases": [{"number": i, **p} for i, p in enumerate(phases, start=1)], "batches": batches}
        )
    except ValidationError:
        return _page(request, db, visitor, Refusal("bad_calendar"), code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    with writer:
        save_calendar(db, calendar)
        db.commit()
    return RedirectResponse("/admin/calendar?notice=calendar_saved", status.HTTP_303_SEE_OTHER)
