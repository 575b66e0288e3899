"""Page rendering: one Jinja2 environment (autoescaped), the labels of the visitor's language,
local times, category colours, versioned static URLs and the security headers of every page."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from service.decisions import Conflict
from service.geometry import along_m
from service.models.hotspots import Hotspot
from service.web.deps import Visitor
from service.web.i18n import Labels, request_lang, taxonomy_categories
from service.web.maps import Basemap

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
PALETTE_SIZE = 8
CSP = (
    "default-src 'self'; img-src 'self' data:{tiles}; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP.format(tiles=""),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


@lru_cache(maxsize=64)
def static_url(name: str) -> str:
    """``/static/NAME?v=HASH``: browsers cache static files until their content changes."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


class Page:
    """What every template sees about the request: labels, visitor, CSRF token and formatting helpers."""

    def __init__(self, request: Request, visitor: Visitor | None = None, csrf: str | None = None) -> None:
        settings = request.app.state.settings
        self.categories = taxonomy_categories(settings.taxonomy_path)
        self.t = Labels(request_lang(request), self.categories)
        self.visitor = visitor
        self.csrf = csrf if csrf is not None else (visitor.session.csrf if visitor else "")
        self.path = request.url.path
        self.here = self.path + (f"?{request.url.query}" if request.url.query else "")
        self.zone = ZoneInfo(settings.timezone)
        self.now = request.app.state.clock()
        self._colour = {c: i % PALETTE_SIZE for i, c in enumerate(self.categories)}
        self.basemap = Basemap(settings.basemap_tiles, request.app.state.roads)
        """What maps are drawn over (neither tiles nor roads: a plain canvas)."""

    @property
    def headers(self) -> dict[str, str]:
        """The security headers, the basemap tile server allowed as an image source when there is one."""
        if self.basemap.tiles is None:
            return SECURITY_HEADERS
        parts = urlsplit(self.basemap.tiles)
        return {**SECURITY_HEADERS, "Content-Security-Policy": CSP.format(tiles=f" {parts.scheme}://{parts.netloc}")}

    def local(self, at: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
        """An aware UTC time as local wall time in the service's time zone."""
        return at.astimezone(self.zone).strftime(fmt) if at else ""

    def conflict(self, conflict: Conflict) -> str:
        """A stale decision as the visitor reads it: 此案件已被 X 于 HH:MM 处理为 已确认 (with the date
        when that was not today)."""
        status = self.t.status(conflict.status)
        if conflict.at is None:
            return self.t("conflict_changed").format(status=status)
        same_day = self.local(conflict.at, "%Y%m%d") == self.local(self.now, "%Y%m%d")
        at = self.local(conflict.at, "%H:%M" if same_day else "%m-%d %H:%M")
        return self.t("conflict").format(by=conflict.by or self.t("system"), at=at, status=status)

    def where(self, lat: float | None, lon: float | None, hotspot: Hotspot | None, distance_m: float | None) -> str:
        """Where a case is, as a reviewer reads it: along its street ("泽州路 · 距西端 340 m"), else how far
        from its hotspot ("东街市场 · 12 m"), else that it has no hotspot nearby or no position."""
        if lat is None or lon is None:
            return self.t("no_position")
        if hotspot is None or hotspot.geometry is None:
            return self.t("no_hotspot")
        if hotspot.geometry["type"] == "LineString":
            metres, end = along_m(lat, lon, hotspot.geometry["coordinates"])
            return f"{hotspot.name} · " + self.t(f"from_{end}").format(m=round(metres))
        return f"{hotspot.name} · {round(distance_m or 0)} m"

    def colour(self, category: str) -> str:
        """The CSS class colouring a category (taxonomy order; unknown ones share the last colour)."""
        return f"cat{self._colour.get(category, PALETTE_SIZE - 1)}"

    @staticmethod
    def static(name: str) -> str:
        return static_url(name)


def render(page: Page, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or fragment) with the security headers."""
    html = ENV.get_template(template).render(page=page, t=page.t, **context)
    return HTMLResponse(html, status_code, headers=page.headers)
