"""The hotspot map editor in Chromium: an admin draws 泽州路 as a line and a road market as a polygon
on the plain map of a fresh install (the shipped catalog has them unlocated), saves, and new
sightings near them are tied to them. Screenshots land in ``test-artifacts/screenshots/``."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e import test_web_browser as web
from tests.e2e.test_web_browser import Server, log_in, near, shoot

server = web.server
browser = web.browser
"""The other browser tests' fixtures: a server of its own for this module, and Chromium."""

AWAY_M = 3000.0
"""The drawings lie this far north of the other browser tests' scene, so they change none of its cases."""


def hotspot_id(server: Server, name: str) -> int:
    features = httpx.get(server.url + "/api/hotspots", timeout=30).json()["features"]
    return int(next(f["properties"]["hotspot_id"] for f in features if f["properties"]["name"] == name))


def click_at(page: Page, north_m: float, east_m: float) -> None:
    """Click the editor's map where the place ``north_m``/``east_m`` metres from the origin is drawn."""
    lat, lon = near(north_m, east_m)
    x, y = page.evaluate(
        """([lat, lon]) => {
            const d = document.getElementById("editor").dataset;
            const layer = document.querySelector("svg.editor-layer");
            const at = new DOMPoint(Number(d.ox) + (lon - Number(d.minLon)) * Number(d.fx),
                                    Number(d.oy) + (Number(d.maxLat) - lat) * Number(d.fy));
            const screen = at.matrixTransform(layer.getScreenCTM());
            return [screen.x, screen.y];
        }""",
        [lat, lon],
    )
    page.mouse.click(x, y)


def draw(browser: Browser, server: Server, name: str, shape: str, corners: list[tuple[float, float]]) -> Page:
    """Log in as the admin, open the editor of hotspot ``name`` centred north of the scene, draw, save."""
    lat, lon = near(AWAY_M, 0)
    path = f"/hotspots/{hotspot_id(server, name)}/edit"
    page = log_in(browser, server, "admin", path)
    page.goto(f"{server.url}{path}?lat={lat}&lon={lon}")
    page.check(f"input[name=shape][value={shape}]")
    for north, east in corners:
        click_at(page, AWAY_M + north, east)
    page.click("button.save")
    expect(page.locator("p.notice")).to_have_text("热点位置已保存")
    return page


def test_admin_draws_a_street_and_a_market_and_sightings_are_tied_to_them(browser: Browser, server: Server) -> None:
    street = draw(browser, server, "泽州路", "LineString", [(0, -300), (0, 300)])
    shoot(street, "editor-street")
    expect(street.locator("svg.editor-layer g.vertices circle")).to_have_count(2)  # the saved line, to edit on
    expect(street.locator("button.save")).to_be_enabled()
    market = draw(browser, server, "英雄公园周边", "Polygon", [(80, 50), (80, 200), (200, 200), (200, 50)])
    shoot(market, "editor-market")
    expect(market.locator("svg.editor-layer path.current")).to_have_count(1)

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
