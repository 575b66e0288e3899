"""回头看 in the web view: the re-inspections of resolved cases' spots, filtered by state."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from service.deps import NowDep, SessionDep, SettingsDep
from service.rechecks import CheckState, rechecks
from service.web.deps import PageViewer, WebRoute
from service.web.render import Page, render

router = APIRouter(include_in_schema=False, route_class=WebRoute)
SINCE = timedelta(days=90)
LIMIT = 500


@router.get("/rechecks")
def rechecks_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    visitor: PageViewer,
    state: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    chosen = CheckState(state) if state in CheckState.__members__ else None
    found = rechecks(db, settings, now, now - SINCE, chosen, LIMIT)
    return render(
        Page(request, visitor), "rechecks.html", found=found, states=list(CheckState), state=state if chosen else ""
    )
