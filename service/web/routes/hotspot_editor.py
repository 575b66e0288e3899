"""The hotspot map editor (admins): place or redraw one hotspot as a point, a line (a strict street)
or a polygon (a market, a school zone) on a Leaflet map (vendored, with the Geoman drawing plugin) of
the hotspots and open cases around it, over the basemap when one is configured; the drawing is saved
through the placement the locate API uses (cases around get their hotspot again)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from service.cases import place_hotspot, set_hotspot_hours
from service.deps import IdPath, NowDep, SessionDep, SettingsDep, WriterDep
from service.geometry import bounds
from service.models.hotspots import HOURS_KINDS, Hotspot, HotspotKind
from service.web.deps import AdminPage, AdminPoster, PageError, Visitor, WebRoute
from service.web.i18n import NOTICES
from service.web.maps import Projection, context_features
from service.web.queries import open_positions
from service.web.render import Page, render
from service.writer import lock_matching

router = APIRouter(include_in_schema=False, route_class=WebRoute)
MAP_SIZE = (960, 600)
CITY_CENTRE = (35.4905, 112.8510)
"""Where the editor looks when nothing is located yet: central Jincheng."""
VIEW_RADIUS_M = 600.0
CONTEXT_FACTOR = 5.0
"""The map carries hotspots, cases and roads this many times the first view's span, to pan over."""
MAX_GEOMETRY_CHARS = 200_000
HOURS_SEPARATORS = re.compile(r"[;,；，\s]+")
"""Between the "HH:MM-HH:MM" ranges typed into the hours field."""
BUTTON_TITLES = {
    "drawMarkerButton": "shape_point",
    "drawLineButton": "shape_line",
    "drawPolyButton": "shape_polygon",
    "editButton": "edit_vertices",
    "deleteButton": "remove_shape",
}
"""The drawing plugin's toolbar buttons and the labels that name them."""


def hotspot_or_404(db: Session, hotspot_id: int) -> Hotspot:
    hotspot = db.get(Hotspot, hotspot_id)
    if hotspot is None:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_hotspot")
    return hotspot


def editor_view(db: Session, hotspot: Hotspot, centre: tuple[float, float] | None) -> Projection:
    """The editor's frame: around ``centre`` when given, else the hotspot's place with some room, else
    every located hotspot, else the city centre."""
    if centre is not None:
        return Projection.around(*centre, VIEW_RADIUS_M, *MAP_SIZE)
    if hotspot.geometry is not None:
        min_lat, min_lon, max_lat, max_lon = bounds(hotspot.geometry)
        return Projection.around((min_lat + max_lat) / 2, (min_lon + max_lon) / 2, VIEW_RADIUS_M, *MAP_SIZE)
    located = db.exec(select(Hotspot).where(col(Hotspot.geometry).is_not(None))).all()
    corners = [corner for h in located if h.geometry for corner in _corners(h.geometry)]
    return Projection.fit(corners, *MAP_SIZE) or Projection.around(*CITY_CENTRE, VIEW_RADIUS_M, *MAP_SIZE)


def _corners(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    min_lat, min_lon, max_lat, max_lon = bounds(geometry)
    return [(min_lat, min_lon), (max_lat, max_lon)]


def _editor(
    request: Request,
    db: Session,
    visitor: Visitor,
    hotspot: Hotspot,
    centre: tuple[float, float] | None = None,
    error: str = "",
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    page = Page(request, visitor)
    projection = editor_view(db, hotspot, centre)
    area = projection.widened(CONTEXT_FACTOR)
    located = db.exec(select(Hotspot).where(col(Hotspot.geometry).is_not(None))).all()
    others = [h for h in located if h.id != hotspot.id and h.geometry and area.sees(bounds(h.geometry))]
    cases = [c for c in open_positions(db, None, None) if area.sees((c[0], c[1], c[0], c[1]))]
    context = context_features(others, cases, page.t.kind, page.colour, lambda c, n: f"{page.t.category(c)} ×{n}")
    return render(
        page,
        "hotspot_edit.html",
        status_code,
        hotspot=hotspot,
        has_hours=HotspotKind(hotspot.kind) in HOURS_KINDS,
        view=[[projection.min_lat, projection.min_lon], [projection.max_lat, projection.max_lon]],
        context=context,
        roads=page.basemap.roads_seen(area),
        titles={key: page.t(label) for key, label in BUTTON_TITLES.items()},
        error=error,
        notice=notice,
    )


@router.get("/hotspots/{hotspot_id}/edit")
def edit_page(
    hotspot_id: IdPath,
    request: Request,
    db: SessionDep,
    visitor: AdminPage,
    lat: Annotated[float | None, Query(ge=-85, le=85)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    notice: str = "",
) -> HTMLResponse:
    """The editor for one hotspot; ``lat``/``lon`` centre the map elsewhere."""
    centre = (lat, lon) if lat is not None and lon is not None else None
    shown = notice if notice in NOTICES else ""
    return _editor(
        request, db, visitor, hotspot_or_404(db, hotspot_id), centre, notice=f"notice_{shown}" if shown else ""
    )


@router.post("/hotspots/{hotspot_id}/geometry")
def save_geometry(
    hotspot_id: IdPath,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    visitor: AdminPoster,
    geometry: Annotated[str, Form(max_length=MAX_GEOMETRY_CHARS)],
    buffer_m: Annotated[float | None, Form(ge=0, le=5000)] = None,
) -> Response:
    """Place the hotspot at the drawn GeoJSON geometry; one that does not suit its kind or crosses
    itself is shown again with the reason (422), and nothing changes."""
    hotspot = hotspot_or_404(db, hotspot_id)
    try:
        drawn = json.loads(geometry)
        with writer:
            lock_matching(db)
            place_hotspot(db, settings, hotspot, drawn, now, visitor.user.id, buffer_m)
            db.commit()
    except ValueError as exc:  # json.JSONDecodeError is one too
        db.rollback()
        hotspot = hotspot_or_404(db, hotspot_id)
        return _editor(request, db, visitor, hotspot, error=str(exc), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return RedirectResponse(f"/hotspots/{hotspot_id}/edit?notice=hotspot_placed", status.HTTP_303_SEE_OTHER)


@router.post("/hotspots/{hotspot_id}/hours")
def save_hours(
    hotspot_id: IdPath,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    visitor: AdminPoster,
    active_hours: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Set a school zone's or vending zone's active hours, "HH:MM-HH:MM" ranges separated by ``;``,
    ``,`` or spaces (none: all day); a bad range or another kind is shown again with the reason (422)."""
    hotspot = hotspot_or_404(db, hotspot_id)
    hours = [item for item in HOURS_SEPARATORS.split(active_hours) if item]
    try:
        with writer:
            lock_matching(db)
            set_hotspot_hours(db, settings, hotspot, hours or None, now, visitor.user.id)
            db.commit()
    except ValueError as exc:
        db.rollback()
        hotspot = hotspot_or_404(db, hotspot_id)
        return _editor(request, db, visitor, hotspot, error=str(exc), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return RedirectResponse(f"/hotspots/{hotspot_id}/edit?notice=hours_saved", status.HTTP_303_SEE_OTHER)
