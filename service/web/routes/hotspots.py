"""The hotspot catalog: located or not, open cases per category, last sighting; a map of all
hotspots and open cases; filters by batch, kind and category. One hotspot's page: whether it is in
focus, its case trend by week and its 一点一策 plan, which admins edit there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from service.campaign import focus_start, stored_calendar
from service.deps import IdPath, NowDep, SessionDep, WriterDep
from service.geometry import bounds
from service.messages import Refusal
from service.models.base import row_id
from service.models.hotspots import Hotspot, HotspotKind
from service.models.operations import Unit
from service.models.plans import MilestoneState, PlanRequest
from service.operations import local_date
from service.plans import PlanError, Week, case_trend, plan_public, save_plan
from service.web.deps import AdminPoster, PageViewer, Visitor, WebRoute
from service.web.i18n import NOTICES
from service.web.maps import Projection, SvgMap, case_marks, hotspot_marks
from service.web.queries import HotspotRow, hotspot_rows, open_counts_by_category, open_positions
from service.web.render import Page, render
from service.web.routes.hotspot_editor import hotspot_or_404

router = APIRouter(include_in_schema=False, route_class=WebRoute)
MAP_SIZE = (1280, 460)
BATCHES = ("1", "2")
SPARE_MILESTONES = 3
"""Empty milestone rows the plan form offers for new ones."""
MAX_PLAN_CHARS = 30_000

Text = Annotated[str, Query(max_length=64)]


def catalog_map(rows: list[HotspotRow], cases: list[tuple[float, float, str]], page: Page) -> SvgMap | None:
    """Every located hotspot of the table and the open cases, framed together; None when nothing is located."""
    located = [r.hotspot for r in rows if r.hotspot.geometry]
    boxes = [bounds(h.geometry) for h in located if h.geometry]
    corners = [(b[0], b[1]) for b in boxes] + [(b[2], b[3]) for b in boxes]
    projection = Projection.fit(corners + [(lat, lon) for lat, lon, _ in cases], *MAP_SIZE)
    if projection is None:
        return None
    marks = hotspot_marks(projection, located, page.t.kind)
    marks += case_marks(projection, cases, page.colour, lambda c, n: f"{page.t.category(c)} ×{n}")
    return SvgMap.of(projection, marks, page.basemap)


@router.get("/hotspots")
def hotspots_page(
    request: Request, db: SessionDep, visitor: PageViewer, batch: Text = "", kind: Text = "", category: Text = ""
) -> HTMLResponse:
    chosen_batch = int(batch) if batch in BATCHES else None
    chosen_kind = HotspotKind(kind) if kind in HotspotKind.__members__ else None
    page = Page(request, visitor)
    chosen_category = category if category in page.categories else None
    rows = hotspot_rows(db, chosen_batch, chosen_kind, chosen_category)
    filtered = chosen_batch is not None or chosen_kind is not None
    cases = open_positions(db, [row_id(r.hotspot) for r in rows] if filtered else None, chosen_category)
    return render(
        page,
        "hotspots.html",
        rows=rows,
        totals=open_counts_by_category(rows),
        map=catalog_map(rows, cases, page),
        kinds=list(HotspotKind),
        batches=BATCHES,
        batch=batch if chosen_batch else "",
        kind=kind if chosen_kind else "",
        category=chosen_category or "",
        shown_categories=[chosen_category] if chosen_category else list(page.categories),
    )


def _hotspot_page(
    request: Request,
    db: Session,
    visitor: Visitor,
    hotspot: Hotspot,
    error: Refusal | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    page = Page(request, visitor)
    settings = request.app.state.settings
    today = local_date(page.now, settings.timezone)
    focus_from = focus_start(hotspot, stored_calendar(db))
    weeks = case_trend(db, row_id(hotspot), focus_from, today, settings.timezone)
    units = db.exec(select(Unit).where(~col(Unit.disabled)).order_by(col(Unit.id))).all()
    return render(
        page,
        "hotspot.html",
        status_code,
        hotspot=hotspot,
        focus_from=focus_from,
        in_focus=focus_from is None or focus_from <= today,
        weeks=weeks,
        chart=TrendChart.of(weeks),
        plan=plan_public(db, hotspot, today),
        units=units,
        states=list(MilestoneState),
        spare_rows=SPARE_MILESTONES,
        error=page.t.refusal(error) if error else "",
        notice=notice,
    )


@dataclass(frozen=True)
class TrendChart:
    """A small bar chart of a case trend: one bar per week (SVG units), the in-focus part darker."""

    width: int
    height: int
    bars: list[tuple[float, float, float, float, Week]]
    """(x, width, height of all cases, height of those in focus, week), bars standing on ``height``."""

    @classmethod
    def of(cls, weeks: list[Week], width: int = 480, height: int = 96) -> TrendChart:
        top = max((w.cases for w in weeks), default=0) or 1
        step = width / max(len(weeks), 1)
        bars = [
            (i * step + 2, step - 4, w.cases / top * height, w.in_focus / top * height, w) for i, w in enumerate(weeks)
        ]
        return cls(width, height, bars)


@router.get("/hotspots/{hotspot_id}")
def hotspot_page(
    hotspot_id: IdPath, request: Request, db: SessionDep, visitor: PageViewer, notice: str = ""
) -> HTMLResponse:
    """One hotspot: whether it is in focus yet, its case trend by week and its 一点一策 plan (admins edit it)."""
    shown = f"notice_{notice}" if notice in NOTICES else ""
    return _hotspot_page(request, db, visitor, hotspot_or_404(db, hotspot_id), notice=shown)


@router.post("/hotspots/{hotspot_id}/plan")
def save_plan_form(
    hotspot_id: IdPath,
    request: Request,
    db: SessionDep,
    now: NowDep,
    writer: WriterDep,
    visitor: AdminPoster,
    measures: Annotated[str, Form(max_length=MAX_PLAN_CHARS)] = "",
    unit_id: Annotated[str, Form(max_length=12)] = "",
    title: Annotated[list[str] | None, Form()] = None,
    due: Annotated[list[str] | None, Form()] = None,
    state: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Replace the plan from the form: one measure a line, the unit, milestone rows (a row with neither
    a title nor a date is a spare one and left out). A bad plan is shown again with why (422)."""
    hotspot = hotspot_or_404(db, hotspot_id)
    rows = zip(title or [], due or [], state or [], strict=False)
    milestones = [{"title": t, "due": d, "state": s} for t, d, s in rows if t.strip() or d.strip()]
    try:
        body = PlanRequest.model_validate(
            {
                "measures": [line for line in measures.splitlines() if line.strip()],
                "unit_id": int(unit_id) if unit_id.isdigit() else None,
                "milestones": milestones,
            }
        )
        with writer:
            save_plan(db, hotspot, body, now, visitor.user.id)
            db.commit()
    except ValidationError:
        return _hotspot_page(request, db, visitor, hotspot, Refusal("bad_plan"), status_code=422)
    except PlanError as exc:
        return _hotspot_page(request, db, visitor, hotspot, exc, status_code=422)
    return RedirectResponse(f"/hotspots/{hotspot_id}?notice=plan_saved", status.HTTP_303_SEE_OTHER)
