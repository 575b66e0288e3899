"""The hotspot catalog: located or not, open cases per category, last sighting; a map of all
hotspots and open cases; filters by batch, kind and category."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from service.deps import SessionDep
from service.geometry import bounds
from service.models.base import row_id
from service.models.hotspots import HotspotKind
from service.web.deps import PageViewer, WebRoute
from service.web.maps import Projection, SvgMap, case_marks, hotspot_marks
from service.web.queries import HotspotRow, hotspot_rows, open_counts_by_category, open_positions
from service.web.render import Page, render

router = APIRouter(include_in_schema=False, route_class=WebRoute)
MAP_SIZE = (1280, 460)
BATCHES = ("1", "2")

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
    return SvgMap.of(projection, marks)


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
