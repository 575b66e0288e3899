"""The sign register pages: the searchable table, and an entry with its sightings by date and the
reviewer's edits (approve with a permit, mark a violation or removed, merge into another entry, split
sightings off), through the functions the API uses."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from service.deps import IdPath, NowDep, SessionDep, SettingsDep, WriterDep, sign_crop
from service.inputs import MAX_OFFSET, RowId, Text
from service.models.base import row_id
from service.models.signs import SightingPublic, Sign, SignStatus, SignUpdate
from service.signs import SignEditError, SignFilter, find_signs, merge, sign_detail, split, update
from service.web.deps import PageError, PageViewer, Poster, Viewer, WebRoute
from service.web.i18n import NOTICES
from service.web.render import Page, render
from service.writer import lock_matching

router = APIRouter(include_in_schema=False, route_class=WebRoute)
PAGE_SIZE = 100
SearchText = Annotated[str, Query(max_length=200)]


@dataclass(frozen=True)
class Pager:
    """Where one page of a list lies: entries ``first``..``last`` (1-based; 0..0 when empty) of ``total``,
    and the links to the pages before and after it (None at either end)."""

    first: int
    last: int
    total: int
    previous_url: str | None
    next_url: str | None


def pager(path: str, query: dict[str, str], offset: int, limit: int, shown: int, total: int) -> Pager:
    """The pager of a page of ``shown`` entries from ``offset`` (``limit`` a page) of ``total``; its links keep
    ``query`` (the filters; empty values left out) and the page size when it is not the default."""

    def link(start: int) -> str:
        values = {**query, "limit": str(limit) if limit != PAGE_SIZE else "", "offset": str(start) if start else ""}
        kept = urlencode({k: v for k, v in values.items() if v})
        return f"{path}?{kept}" if kept else path

    before = link(max(offset - limit, 0)) if offset > 0 else None
    after = link(offset + limit) if offset + limit < total else None
    return Pager(offset + 1 if shown else 0, offset + shown, total, before, after)


@router.get("/signs")
def signs_page(
    request: Request,
    db: SessionDep,
    visitor: PageViewer,
    q: SearchText = "",
    kind: SearchText = "",
    status_: Annotated[str, Query(alias="status", max_length=16)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> HTMLResponse:
    """The register, filtered by text, kind, status and first-seen date (local ``YYYY-MM-DD``), ``limit``
    entries from ``offset`` with links to the pages before and after."""
    page = Page(request, visitor)
    chosen_status = SignStatus(status_) if status_ in SignStatus.__members__ else None
    try:
        day = date.fromisoformat(since) if since else None
    except ValueError:
        day = None
    start = datetime.combine(day, time(), page.zone) if day else None
    kinds = sorted(db.exec(select(Sign.kind).distinct()).all())
    chosen_kind = kind if kind in kinds else None
    found = find_signs(db, SignFilter(q.strip() or None, chosen_kind, chosen_status, None, start), limit, offset)
    filters: dict[str, Any] = {  # the template's fields, and the query the page links keep
        "q": q,
        "kind": chosen_kind or "",
        "status": chosen_status.value if chosen_status else "",
        "since": day.isoformat() if day else "",
    }
    return render(
        page,
        "signs.html",
        signs=found,
        kinds=kinds,
        statuses=list(SignStatus),
        pages=pager("/signs", filters, offset, limit, len(found.items), found.total),
        **filters,
    )


@router.get("/signs/{sign_id}/crop", response_class=Response)
def crop(sign_id: IdPath, db: SessionDep, settings: SettingsDep, visitor: Viewer) -> Response:
    return sign_crop(db, settings, sign_id)


def by_date(observations: list[SightingPublic], page: Page) -> list[tuple[str, list[SightingPublic]]]:
    """Sightings grouped by local date, oldest first."""
    days: dict[str, list[SightingPublic]] = defaultdict(list)
    for o in observations:
        days[page.local(o.seen_at, "%Y-%m-%d")].append(o)
    return sorted(days.items())


@router.get("/signs/{sign_id}")
def sign_page(sign_id: IdPath, request: Request, db: SessionDep, visitor: PageViewer, notice: str = "") -> HTMLResponse:
    try:
        detail = sign_detail(db, sign_id)
    except LookupError:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_sign") from None
    page = Page(request, visitor)
    return render(
        page,
        "sign.html",
        sign=detail,
        days=by_date(detail.observations, page),
        notice=notice if notice in NOTICES else "",
    )


def _entry(db: Session, sign_id: int) -> Sign:
    sign = db.get(Sign, sign_id)
    if sign is None:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_sign")
    return sign


def _back(sign_id: int, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/signs/{sign_id}?notice={notice}", status.HTTP_303_SEE_OTHER)


@router.post("/signs/{sign_id}/status")
def set_status(
    sign_id: IdPath,
    db: SessionDep,
    now: NowDep,
    writer: WriterDep,
    visitor: Poster,
    target: Annotated[SignStatus, Form(alias="status")],
    permit_number: Annotated[Text, Form(max_length=64)] = "",
    permit_expiry: Annotated[date | None, Form()] = None,
    note: Annotated[Text, Form(max_length=1000)] = "",
) -> RedirectResponse:
    """Approve (with a permit number and expiry), mark a violation or removed; a note is kept when given."""
    change = SignUpdate(status=target)
    if permit_number:
        change.permit_number = permit_number
    if permit_expiry:
        change.permit_expiry = permit_expiry
    if note:
        change.note = note
    with writer:
        sign = _entry(db, sign_id)
        try:
            update(sign, change, now)
        except SignEditError:
            return _back(sign_id, "sign_refused")
        db.add(sign)
        db.commit()
    return _back(sign_id, "sign_saved")


@router.post("/signs/{sign_id}/merge")
def merge_into(
    sign_id: IdPath,
    db: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    visitor: Poster,
    into: Annotated[RowId, Form()],
) -> RedirectResponse:
    """Move this entry's sightings into entry ``into``; to that entry's page."""
    with writer:
        lock_matching(db)
        sign, target = _entry(db, sign_id), _entry(db, into)
        try:
            merge(db, settings, sign, target, now)
        except SignEditError:
            return _back(sign_id, "sign_refused")
        db.commit()
    return _back(into, "sign_merged")


@router.post("/signs/{sign_id}/split")
def split_off(
    sign_id: IdPath,
    db: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    visitor: Poster,
    observation_ids: Annotated[list[RowId], Form(max_length=1000)] = [],  # noqa: B006 - a form default
) -> RedirectResponse:
    """Move the ticked sightings to a new entry; to the new entry's page."""
    if not observation_ids or len(set(observation_ids)) != len(observation_ids):
        return _back(sign_id, "sign_refused")
    with writer:
        lock_matching(db)
        sign = _entry(db, sign_id)
        try:
            other = split(db, settings, sign, observation_ids, now)
        except SignEditError:
            return _back(sign_id, "sign_refused")
        db.commit()
    return _back(row_id(other), "sign_split")
