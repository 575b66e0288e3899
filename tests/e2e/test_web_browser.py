"""The reviewer web view in a real browser: ``streetscan serve`` on a loopback port with a fresh
SQLite database, users made with ``streetscan user add``, observations sent through the HTTP API,
and Debian's Chromium driven by Playwright. Screenshots land in ``test-artifacts/screenshots/``.

``STREETSCAN_CHROMIUM`` names another Chromium executable.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from tests.e2e.processes import free_port, healthy, spawn, stop, streetscan
from tests.polling import wait_until
from vision.appearance import SIGNATURE_LENGTH, encode_signature

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("STREETSCAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
TABLET: ViewportSize = {"width": 820, "height": 1180}
ORIGIN = (35.4905, 112.8510)  # central Jincheng
M_PER_DEG = 111_195.0
UNLOCATED = "文昌街望川楼路段"  # a first-batch road market of the shipped catalog, without a position


def near(north_m: float, east_m: float) -> tuple[float, float]:
    lat, lon = ORIGIN
    return lat + north_m / M_PER_DEG, lon + east_m / (M_PER_DEG * math.cos(math.radians(lat)))


@dataclass
class Server:
    url: str
    data_dir: Path
    tokens: dict[str, str]

    def api(
        self, role: str, method: str, path: str, expect: int = 200, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """Call the HTTP API as the user of ``role``; insists on the ``expect`` status."""
        headers = {**(headers or {}), "Authorization": f"Bearer {self.tokens[role]}"}
        response = httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        assert response.status_code == expect, response.text
        return response.json()


def _crop(server: Server, colour: tuple[int, int, int], text: str) -> str:
    """A small stand-in evidence crop (a coloured tile with its name) sent to the evidence store; its key."""
    image = np.full((220, 160, 3), colour, np.uint8)
    cv2.rectangle(image, (20, 40), (140, 200), (255, 255, 255), 3)
    cv2.putText(image, text, (12, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    headers = {"Content-Type": "image/jpeg"}
    return server.api("uploader", "POST", "/api/evidence", expect=201, content=jpeg, headers=headers)["key"]


def _observation(
    track: str, category: str, conf: float, north: float, east: float, at: str, crop: str
) -> dict[str, Any]:
    lat, lon = near(north, east)
    return {
        "track_id": track,
        "category": category,
        "label": category,
        "confidence": conf,
        "t_first": 1.0,
        "t_last": 3.0,
        "t_best": 2.0,
        "observed_at": at,
        "bbox": [40, 60, 200, 300],
        "lat": lat,
        "lon": lon,
        "crop": crop,
    }


SCENE = [  # track, category, confidence, metres north, metres east, time (UTC)
    ("v1", "street_vendor", 0.91, 0, 0, "2025-05-12T01:10:00Z"),
    ("v1b", "street_vendor", 0.72, 3, 2, "2025-05-12T09:40:00Z"),
    ("g1", "goods_spill", 0.64, 60, -30, "2025-05-12T02:00:00Z"),
    ("l1", "lightbox_ad", 0.55, -80, 40, "2025-05-12T03:00:00Z"),
    ("o1", "outdoor_ad", 0.83, 140, 90, "2025-05-12T04:00:00Z"),
    ("v2", "street_vendor", 0.47, 210, -120, "2025-05-12T05:00:00Z"),
    ("g2", "goods_spill", 0.77, -200, -60, "2025-05-12T06:00:00Z"),
    ("v3", "street_vendor", 0.88, 320, 15, "2025-05-12T07:00:00Z"),
    ("l2", "lightbox_ad", 0.69, -330, 200, "2025-05-12T08:00:00Z"),
    ("v4", "street_vendor", 0.58, 700, 700, "2025-05-12T08:30:00Z"),
]
COLOURS = {
    "street_vendor": (40, 90, 230),
    "goods_spill": (200, 110, 30),
    "lightbox_ad": (170, 50, 150),
    "outdoor_ad": (60, 150, 50),
}
LOCATED = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "e2e-strict",
            "properties": {"name": "泽州路（测试段）", "kind": "strict_street"},
            "geometry": {
                "type": "LineString",
                "coordinates": [list(near(-30, -400))[::-1], list(near(-30, 400))[::-1]],
            },
        },
        {
            "type": "Feature",
            "id": "e2e-market",
            "properties": {"name": "测试马路市场", "kind": "road_market", "batch": 2},
            "geometry": {"type": "Point", "coordinates": list(near(200, -100))[::-1]},
        },
    ],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server on a free loopback port, its users, located hotspots and a day of observations."""
    data_dir = tmp_path_factory.mktemp("web-e2e")
    env = {**os.environ, "STREETSCAN_DATA_DIR": str(data_dir), "STREETSCAN_DATABASE_URL": ""}
    tokens = {}
    for role in ("admin", "reviewer", "uploader"):
        tokens[role] = streetscan(env, "user", "add", f"{role}-e2e", "--role", role, "--password", PASSWORD).split()[-1]
    port = free_port()
    log = data_dir / "server.log"
    process = spawn(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)], log, env
    )
    srv = Server(f"http://127.0.0.1:{port}", data_dir, tokens)
    try:
        wait_until(lambda: process.poll() is not None or healthy(srv.url), 60, "server up", log)
        assert process.poll() is None, log.read_text()[-2000:]
        srv.api("admin", "POST", "/api/hotspots/import", json=LOCATED)
        items = [_observation(*row, crop=_crop(srv, COLOURS[row[1]], row[0])) for row in SCENE]
        result = srv.api("uploader", "POST", "/api/observations", json={"source": "patrol-0512", "observations": items})
        assert result["accepted"] == len(SCENE)
        yield srv
    finally:
        stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it or set STREETSCAN_CHROMIUM")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def log_in(browser: Browser, server: Server, role: str, path: str = "/review", viewport: ViewportSize = LAPTOP) -> Page:
    """A fresh browser context: ask for ``path``, get the login form, log in, land on ``path``."""
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    page.set_default_timeout(10_000)
    page.goto(server.url + path)
    expect(page).to_have_url(f"{server.url}/login?next={path.replace('/', '%2F')}")
    page.fill("input[name=username]", f"{role}-e2e")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(server.url + path)
    return page


def shoot(page: Page, name: str) -> None:
    """Save a screenshot, and check the page needs no sideways scrolling at this size."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{name}: wider than the window"


def current_id(page: Page) -> int:
    return int(page.locator(".card.current").get_attribute("data-id") or "no id")


def case(server: Server, case_id: int) -> dict[str, Any]:
    return server.api("reviewer", "GET", f"/api/cases/{case_id}")


def card_gone(page: Page, case_id: int) -> None:
    expect(page.locator(f'.card[data-id="{case_id}"]')).to_have_count(0)


def test_review_with_the_keyboard_and_in_bulk(browser: Browser, server: Server) -> None:
    waiting = server.api("reviewer", "GET", "/api/cases", params={"status": "new"})["total"]
    assert waiting >= 6
    page = log_in(browser, server, "reviewer")
    expect(page.locator(".card")).to_have_count(waiting)
    expect(page.locator(".card img.crop").first).to_have_js_property("naturalWidth", 160)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".card .cat").first).to_have_text("流动摊贩/占道经营")
    shoot(page, "queue")

    first = current_id(page)
    page.keyboard.press("j")
    second = current_id(page)
    assert second != first
    page.keyboard.press("k")
    assert current_id(page) == first

    page.keyboard.press("y")
    card_gone(page, first)
    confirmed = case(server, first)
    assert confirmed["status"] == "confirmed"
    assert (confirmed["events"][-1]["action"], confirmed["events"][-1]["user"]) == ("review", "reviewer-e2e")
    assert current_id(page) == second  # the next card comes up

    page.keyboard.press("n")
    card_gone(page, second)
    assert case(server, second)["status"] == "rejected"

    third = current_id(page)
    page.keyboard.press("5")  # the fifth category has its key too
    expect(page.locator(".card.current .cat")).to_have_text("售卖车辆乱停放")
    page.keyboard.press("2")
    expect(page.locator(".card.current .cat")).to_have_text("店外经营")
    relabelled = case(server, third)
    assert (relabelled["category"], relabelled["status"]) == ("goods_spill", "new")

    page.keyboard.press("x")
    page.keyboard.press("j")
    fourth = current_id(page)
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("2")
    page.click("#bulk-reject")
    card_gone(page, third)
    card_gone(page, fourth)
    assert case(server, third)["status"] == case(server, fourth)["status"] == "rejected"
    expect(page.locator("#waiting")).to_have_text(str(waiting - 4))

    opened = current_id(page)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/cases/{opened}")
    expect(page.locator("h1")).to_contain_text(f"案件 #{opened}")

    tablet = log_in(browser, server, "reviewer", viewport=TABLET)
    shoot(tablet, "queue-tablet")


def test_assign_case_to_unlocated_hotspot_locates_it(browser: Browser, server: Server) -> None:
    features = server.api("admin", "GET", "/api/hotspots")["features"]
    target = next(f for f in features if f["properties"]["name"] == UNLOCATED)
    assert target["geometry"] is None
    vendor = server.api("reviewer", "GET", "/api/cases", params={"category": "street_vendor"})["items"]
    seen_twice = max(vendor, key=lambda c: c["observation_count"])
    case_id = seen_twice["id"]
    if seen_twice["status"] == "new":
        server.api("reviewer", "POST", f"/api/cases/{case_id}/review", json={"decision": "confirm"})

    page = log_in(browser, server, "admin", f"/cases/{case_id}")
    expect(page.locator(".timeline li")).to_have_count(2)
    page.select_option("select[name=hotspot_id]", str(target["properties"]["hotspot_id"]))
    page.click(".assign button[type=submit]")
    expect(page.locator(".notice")).to_have_text("热点已按本案件定位")
    expect(page.locator("#case-hotspot")).to_contain_text(UNLOCATED)
    expect(page.locator(".trail li").last).to_contain_text(UNLOCATED)
    shoot(page, "case")

    located = next(f for f in server.api("admin", "GET", "/api/hotspots")["features"] if f["id"] == target["id"])
    detail = case(server, case_id)
    assert located["geometry"] == {"type": "Point", "coordinates": [detail["lon"], detail["lat"]]}
    assert detail["hotspot_id"] == target["properties"]["hotspot_id"] and detail["hotspot_distance_m"] == 0

    page.goto(server.url + "/hotspots")
    row = page.locator(f'tr[data-key="{target["id"]}"]')
    expect(row.locator("td.located")).to_have_count(1)
    expect(page.locator("svg.map path.hs-strict_street")).to_have_count(1)
    shoot(page, "hotspots")
    page.select_option("select[name=batch]", "1")
    page.click(".filters button[type=submit]")
    expect(page.locator("tbody tr")).to_have_count(8)

    page.click("text=EN")
    expect(page.locator("h1")).to_contain_text("Hotspots")
    shoot(page, "hotspots-en")

    tablet = log_in(browser, server, "admin", f"/cases/{case_id}", viewport=TABLET)
    shoot(tablet, "case-tablet")
    tablet.goto(server.url + "/hotspots")
    shoot(tablet, "hotspots-tablet")


def test_a_case_decided_meanwhile_is_refused_with_who_decided_it(browser: Browser, server: Server) -> None:
    page = log_in(browser, server, "reviewer")
    taken = current_id(page)
    server.api("admin", "POST", f"/api/cases/{taken}/review", json={"decision": "confirm"})  # another reviewer, first
    page.keyboard.press("n")
    toast = page.locator("#toast")
    expect(toast).to_contain_text("此案件已被 admin-e2e 于")
    expect(toast).to_contain_text("处理为 已确认")
    expect(page.locator(f'.card.failed[data-id="{taken}"]')).to_have_count(1)
    assert case(server, taken)["status"] == "confirmed"


def _sign(track: str, north: float, east: float, text: str, look: int, at: str, crop: str) -> dict[str, Any]:
    """A shop-sign observation with a text and one of four distinct appearance signatures."""
    signature = np.zeros(SIGNATURE_LENGTH, np.float32)
    signature[look::4] = 1.0
    return {
        **_observation(track, "outdoor_ad", 0.8, north, east, at, crop),
        "label": "shop_sign",
        "text": text,
        "text_confidence": 0.9,
        "signature": encode_signature(signature),
    }


def test_sign_register_search_open_approve_merge_and_split(browser: Browser, server: Server) -> None:
    crop = _crop(server, (30, 30, 160), "SIGN")
    day1 = [
        _sign("s1", 100, 0, "BISTRO", 0, "2025-05-12T02:00:00Z", crop),
        _sign("s2", 100, 8, "ПАРФЮМ", 1, "2025-05-12T02:00:00Z", crop),
    ]
    day2 = [
        _sign("s1", 103, 1, "BISTRO", 0, "2025-05-13T02:00:00Z", crop),
        _sign("s9", 102, 2, "QQQQQ", 2, "2025-05-13T02:00:00Z", crop),
    ]
    for source, items in (("signs-0512", day1), ("signs-0513", day2)):
        server.api("uploader", "POST", "/api/observations", json={"source": source, "observations": items})
    bistro = server.api("reviewer", "GET", "/api/signs", params={"q": "BISTRO"})["items"][0]
    misread = server.api("reviewer", "GET", "/api/signs", params={"q": "QQQQQ"})["items"][0]

    page = log_in(browser, server, "reviewer", "/signs")
    expect(page.locator("h1")).to_contain_text("户外广告台账")
    page.fill("input[name=q]", "bistro")
    page.click(".filters button[type=submit]")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.click("td.sign-text a")
    expect(page).to_have_url(f"{server.url}/signs/{bistro['id']}")
    expect(page.locator(".strip li")).to_have_count(2)  # both days
    expect(page.locator(".timeline h3")).to_have_count(2)

    page.fill("input[name=permit_number]", "JC-2025-001")
    page.fill("input[name=permit_expiry]", "2026-05-01")
    page.click("#approve-form button[value=approved]")
    expect(page.locator("#sign-status")).to_have_text("已审批")
    expect(page.locator("#sign-permit")).to_contain_text("JC-2025-001")

    page.goto(f"{server.url}/signs/{misread['id']}")
    page.fill("input[name=into]", str(bistro["id"]))
    page.click("#merge-form button[type=submit]")
    expect(page).to_have_url(f"{server.url}/signs/{bistro['id']}?notice=sign_merged")
    expect(page.locator("#sign-count")).to_have_text("3")
    page.locator("li[data-observation] >> text=QQQQQ").click()
    page.click("#split-form button[type=submit]")
    expect(page.locator(".notice")).to_have_text("已拆分为新条目")
    expect(page.locator("#sign-count")).to_have_text("1")
    assert server.api("reviewer", "GET", f"/api/signs/{bistro['id']}")["sighting_count"] == 2
    page.screenshot(path=str(SHOTS / "signs-entry.png"))
