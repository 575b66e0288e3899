"""The hotspot map editor (Leaflet and its drawing plugin, served from our own static files) in
Chromium on a phone-size screen: an admin draws 泽州路 as a line and a road market as a polygon with
the plugin's toolbar on the plain map of a fresh install (the shipped catalog has them unlocated),
drags and removes vertices of the saved shapes, saves, and new sightings near them are tied to them.
Screenshots land in ``test-artifacts/screenshots/``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e import test_web_browser as web
from tests.e2e.test_web_browser import Server, log_in, near, shoot

server = web.server
browser = web.browser
"""The other browser tests' fixtures: a server of its own for this module, and Chromium."""

AWAY_M = 3000.0
"""The drawings lie this far north of the other browser tests' scene, so they change none of its cases."""
PHONE: ViewportSize = {"width": 390, "height": 844}
VERTICES = ".leaflet-marker-icon.marker-icon:not(.marker-icon-middle)"
"""The plugin's handles on the vertices of the shape being edited."""


def hotspot(server: Server, name: str) -> dict[str, Any]:
    features = httpx.get(server.url + "/api/hotspots", timeout=30).json()["features"]
    return dict(next(f for f in features if f["properties"]["name"] == name))


def pixel(page: Page, north_m: float, east_m: float) -> tuple[float, float]:
    """Where on the page the place ``north_m``/``east_m`` metres from the drawings' origin lies, as
    the editor's Leaflet map projects it."""
    lat, lon = near(AWAY_M + north_m, east_m)
    x, y = page.evaluate(
        """([lat, lon]) => {
            const box = document.querySelector(".editor-map");
            const at = box.leafletMap.latLngToContainerPoint([lat, lon]);
            const frame = box.getBoundingClientRect();
            return [frame.left + at.x, frame.top + at.y];
        }""",
        [lat, lon],
    )
    return float(x), float(y)


def open_editor(browser: Browser, server: Server, name: str) -> Page:
    """Log in as the admin on a phone and open the editor of hotspot ``name`` centred on the drawings;
    the page logs no error (a script or style the CSP blocked, a missing file)."""
    lat, lon = near(AWAY_M, 0)
    path = f"/hotspots/{hotspot(server, name)['properties']['hotspot_id']}/edit"
    page = log_in(browser, server, "admin", path, viewport=PHONE)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}{path}?lat={lat}&lon={lon}")
    expect(page.locator(".leaflet-control-scale-line")).to_contain_text(" m")
    assert errors == []
    assert_nav_fits_a_phone(page)
    return page


def assert_nav_fits_a_phone(page: Page) -> None:
    """The admin's dozen menu entries stay one line each (not squeezed to a character a line) and the
    top bar keeps most of the screen for the page."""
    heights = page.eval_on_selector_all(".main-nav a", "links => links.map(a => a.getBoundingClientRect().height)")
    line = page.eval_on_selector(".main-nav a", "a => parseFloat(getComputedStyle(a).lineHeight) || 20")
    assert len(heights) >= 10 and max(heights) < 1.6 * line, heights
    assert page.eval_on_selector("header.top", "h => h.getBoundingClientRect().height") < 0.25 * PHONE["height"]


def draw(page: Page, tool: str, corners: Sequence[tuple[float, float]], finish: tuple[float, float]) -> None:
    """Pick ``tool`` in the plugin's toolbar, click ``corners``, click ``finish`` (the last vertex
    ends a line, the first one closes a polygon)."""
    page.get_by_title(tool).click()
    for north, east in [*corners, finish]:
        page.mouse.click(*pixel(page, north, east))


def save(page: Page) -> None:
    page.click("button.save")
    expect(page.locator("p.notice")).to_have_text("热点位置已保存")


def test_admin_draws_a_street_and_a_market_and_sightings_are_tied_to_them(browser: Browser, server: Server) -> None:
    street = open_editor(browser, server, "泽州路")
    expect(street.locator("button.save")).to_be_disabled()
    draw(street, "线（严管街）", [(0, -300), (0, 200)], finish=(0, 200))
    expect(street.locator("button.save")).to_be_enabled()
    shoot(street, "editor-street-phone")
    save(street)
    # the saved line comes back to edit on: drag its east end 100 m further east
    expect(street.locator(VERTICES)).to_have_count(2)
    street.mouse.move(*pixel(street, 0, 200))
    street.mouse.down()
    street.mouse.move(*pixel(street, 0, 300), steps=8)
    street.mouse.up()
    save(street)
    line = hotspot(server, "泽州路")["geometry"]
    assert line["type"] == "LineString" and len(line["coordinates"]) == 2
    assert near(AWAY_M, 280)[1] < line["coordinates"][1][0] < near(AWAY_M, 320)[1]  # a pixel is some metres

    market = open_editor(browser, server, "英雄公园周边")
    corners = [(80, 50), (80, 200), (200, 200), (200, 50), (140, 0)]
    draw(market, "面（市场、校园周边）", corners, finish=corners[0])
    save(market)
    # a vertex too many: right-click it away
    expect(market.locator(VERTICES)).to_have_count(5)
    market.mouse.click(*pixel(market, 140, 0), button="right")
    expect(market.locator(VERTICES)).to_have_count(4)
    market.get_by_title("编辑顶点").click()  # the plugin's edit mode leaves the street around alone
    expect(market.locator(VERTICES)).to_have_count(4)
    shoot(market, "editor-market-phone")
    save(market)
    ring = hotspot(server, "英雄公园周边")["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]

    items = []
    for track, (north, east) in {"near-street": (8, 100), "in-market": (140, 120)}.items():
        lat, lon = near(AWAY_M + north, east)
        items.append(
            {
                "track_id": track,
                "category": "street_vendor",
                "label": "vendor_stall",
                "confidence": 0.9,
                "t_first": 1.0,
                "t_last": 2.0,
                "t_best": 1.5,
                "observed_at": "2025-05-12T02:00:00Z",
                "bbox": [10, 10, 90, 90],
                "lat": lat,
                "lon": lon,
                "crop": None,
            }
        )
    results = server.api("uploader", "POST", "/api/observations", json={"source": "editor", "observations": items})
    names = [server.api("reviewer", "GET", f"/api/cases/{r['case_id']}")["hotspot_name"] for r in results["results"]]
    assert names == ["泽州路", "英雄公园周边"]
