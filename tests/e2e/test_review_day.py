"""A reviewer's working day in a real browser, all by keyboard: decide and undo, filtered counts after a
decision, the queue's place kept after opening a case and going back, Esc out of a dropdown, the evidence
viewer stepping through a case's sightings, splitting one sighting off and merging two cases, bulk
selection, a stale decision from a second browser, and the phone layout. ``streetscan serve`` on a
loopback port with a fresh SQLite database; screenshots at 1366x768 and 390x844 land in
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.processes import free_port, healthy, spawn, stop, streetscan
from tests.e2e.test_web_browser import LAPTOP, PASSWORD, SHOTS, Server, browser, near  # noqa: F401 - fixture
from tests.polling import wait_until

PHONE: ViewportSize = {"width": 390, "height": 844}
SOURCE = "patrol-0601"
SCENE = [  # track, category, metres north, metres east, time (UTC), crop size (w, h)
    ("a1", "street_vendor", 0, 0, "2025-06-01T01:00:00Z", (160, 220)),
    ("a2", "street_vendor", 3, 2, "2025-06-01T01:20:00Z", (160, 220)),
    ("b1", "street_vendor", 200, 0, "2025-06-01T02:00:00Z", (150, 200)),
    ("b2", "street_vendor", 230, 0, "2025-06-01T02:10:00Z", (150, 200)),
    ("l1", "lightbox_ad", -300, 100, "2025-06-01T03:00:00Z", (120, 90)),
    ("l2", "lightbox_ad", -600, 100, "2025-06-01T03:10:00Z", (120, 90)),
    ("l3", "lightbox_ad", -900, 100, "2025-06-01T03:20:00Z", (120, 90)),
    ("w1", "outdoor_ad", 500, -400, "2025-06-01T04:00:00Z", (208, 40)),
    ("g1", "goods_spill", 800, 300, "2025-06-01T05:00:00Z", (140, 140)),
]
BOX = [200, 120, 360, 300]


def _image(server: Server, size: tuple[int, int], shade: int) -> str:
    """A stand-in image of ``size`` (width, height) sent to the evidence store; its key."""
    width, height = size
    image = np.full((height, width, 3), (shade, 120, 255 - shade), np.uint8)
    cv2.rectangle(image, (2, 2), (width - 3, height - 3), (255, 255, 255), 2)
    data = cv2.imencode(".jpg", image)[1].tobytes()
    return server.api(
        "uploader", "POST", "/api/evidence", expect=201, content=data, headers={"Content-Type": "image/jpeg"}
    )["key"]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with users and one patrol's observations, each with a crop and a 640x360 keyframe."""
    data_dir = tmp_path_factory.mktemp("review-day")
    env = {**os.environ, "STREETSCAN_DATA_DIR": str(data_dir), "STREETSCAN_DATABASE_URL": ""}
    tokens = {
        role: streetscan(env, "user", "add", f"{role}-e2e", "--role", role, "--password", PASSWORD).split()[-1]
        for role in ("admin", "reviewer", "uploader")
    }
    port = free_port()
    log = data_dir / "server.log"
    process = spawn(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)], log, env
    )
    srv = Server(f"http://127.0.0.1:{port}", data_dir, tokens)
    try:
        wait_until(lambda: process.poll() is not None or healthy(srv.url), 60, "server up", log)
        assert process.poll() is None, log.read_text()[-2000:]
        items = []
        for i, (track, category, north, east, at, crop) in enumerate(SCENE):
            lat, lon = near(north, east)
            items.append(
                {
                    "track_id": track,
                    "category": category,
                    "label": category,
                    "confidence": 0.5 + i / 40,
                    "t_first": 1.0,
                    "t_last": 3.0,
                    "t_best": 2.0,
                    "observed_at": at,
                    "bbox": BOX,
                    "lat": lat,
                    "lon": lon,
                    "crop": _image(srv, crop, 20 * i),
                    "keyframe": _image(srv, (640, 360), 20 * i + 10),
                }
            )
        result = srv.api("uploader", "POST", "/api/observations", json={"source": SOURCE, "observations": items})
        assert result["accepted"] == len(SCENE)
        yield srv
    finally:
        stop(process)


def cases(server: Server) -> dict[str, dict[str, Any]]:
    """track id of each case's first sighting -> the case (with its sightings)."""
    found = {}
    for item in server.api("reviewer", "GET", "/api/cases", params={"limit": 100})["items"]:
        detail = server.api("reviewer", "GET", f"/api/cases/{item['id']}")
        if detail["observations"]:
            found[detail["observations"][0]["track_id"]] = detail
    return found


def log_in(browser: Browser, server: Server, path: str, viewport: ViewportSize = LAPTOP) -> Page:  # noqa: F811
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    page.set_default_timeout(10_000)
    page.goto(server.url + "/login")
    page.fill("input[name=username]", "reviewer-e2e")
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(server.url + "/review")
    page.goto(server.url + path)
    return page


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{name}: wider than the window"


def current_id(page: Page) -> int:
    return int(page.locator(".card.current").get_attribute("data-id") or "no id")


def status_of(server: Server, case_id: int) -> str:
    return str(server.api("reviewer", "GET", f"/api/cases/{case_id}")["status"])


def test_decide_undo_and_filtered_counts(browser: Browser, day: Server) -> None:  # noqa: F811
    page = log_in(browser, day, "/review?category=lightbox_ad")
    expect(page.locator(".card")).to_have_count(3)
    expect(page.locator("#waiting")).to_have_text("3")
    first = current_id(page)
    page.keyboard.press("y")
    expect(page.locator(f'.card[data-id="{first}"]')).to_have_count(0)
    expect(page.locator("#waiting")).to_have_text("2")  # the filtered queue, not all cases
    assert status_of(day, first) == "confirmed"
    expect(page.locator("#toast-undo")).to_be_visible()
    page.keyboard.press("z")
    expect(page.locator(f'.card[data-id="{first}"]')).to_have_count(1)
    expect(page.locator("#waiting")).to_have_text("3")
    assert status_of(day, first) == "new"
    assert current_id(page) == first

    page.keyboard.press("Shift+A")
    expect(page.locator("#selected-count")).to_have_text("3")
    page.keyboard.press("x")  # the current one out of the selection again
    expect(page.locator("#selected-count")).to_have_text("2")

    page.goto(day.url + "/review/mine")
    expect(page.locator("table.mine tbody tr")).to_have_count(2)
    expect(page.locator("table.mine tbody tr").first).to_contain_text("撤销")


def test_place_kept_after_back_and_esc_out_of_a_dropdown(browser: Browser, day: Server) -> None:  # noqa: F811
    page = log_in(browser, day, "/review")
    page.keyboard.press("j")
    page.keyboard.press("j")
    third = current_id(page)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{day.url}/cases/{third}")
    page.go_back()
    expect(page.locator(".card.current")).to_have_attribute("data-id", str(third))

    page.focus("select[name=order]")
    page.keyboard.press("j")  # a dropdown keeps its keys...
    assert current_id(page) == third
    page.keyboard.press("Escape")  # ...until Esc brings the focus back to the queue
    page.keyboard.press("j")
    assert current_id(page) != third


def test_zoom_split_and_merge_by_keyboard(browser: Browser, day: Server) -> None:  # noqa: F811
    by_track = cases(day)
    a, b1, b2 = by_track["a1"]["id"], by_track["b1"]["id"], by_track["b2"]["id"]
    page = log_in(browser, day, f"/cases/{a}")
    expect(page.locator(".sighting-row")).to_have_count(2)
    keyframe = page.locator(".sighting-row img.keyframe").first
    expect(keyframe).to_have_js_property("naturalWidth", 640)
    crop = page.locator(".sighting-row img.crop").first
    expect(crop).to_have_js_property("naturalWidth", 160)
    assert (crop.bounding_box() or {"height": 0})["height"] >= 239  # 220 px long side shown at 240
    shoot(page, "day-case")

    page.keyboard.press(" ")
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(page.locator("#viewer-count")).to_have_text("1 / 2")
    expect(page.locator("#viewer-image")).to_have_js_property("naturalWidth", 640)
    page.keyboard.press("ArrowRight")
    expect(page.locator("#viewer-count")).to_have_text("2 / 2")
    assert "流动摊贩" in (page.locator("#viewer-image").get_attribute("alt") or "")
    shoot(page, "day-viewer")
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()

    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("s")
    expect(page.locator(".notice")).to_contain_text("已拆分")
    new = int(urlparse(page.url).path.rsplit("/", 1)[1])
    assert new != a
    assert day.api("reviewer", "GET", f"/api/cases/{a}")["observation_count"] == 1
    assert [o["track_id"] for o in day.api("reviewer", "GET", f"/api/cases/{new}")["observations"]] == ["a2"]

    page.goto(f"{day.url}/cases/{b1}")
    page.keyboard.press("m")
    page.keyboard.type(str(b2))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{day.url}/cases/{b2}?notice=merged")
    assert status_of(day, b1) == "merged"
    assert day.api("reviewer", "GET", f"/api/cases/{b2}")["observation_count"] == 2

    page.keyboard.press("y")
    expect(page.locator(".case-head .status")).to_have_text("已确认")
    page.keyboard.press("z")
    expect(page.locator(".notice")).to_contain_text("已撤销你的上一步操作")
    assert status_of(day, b2) == "new"


def test_wide_crops_keep_keyframes_and_the_phone_reaches_the_actions(browser: Browser, day: Server) -> None:  # noqa: F811
    sign = cases(day)["w1"]["id"]
    page = log_in(browser, day, f"/cases/{sign}")
    crop = page.locator(".sighting-row img.crop")
    expect(crop).to_have_js_property("naturalWidth", 208)
    assert (crop.bounding_box() or {"width": 0})["width"] >= 239
    assert (page.locator(".sighting-row img.keyframe").bounding_box() or {"width": 0})["width"] >= 300

    queue = log_in(browser, day, "/review", PHONE)
    shoot(queue, "day-queue-phone")
    queue.keyboard.press(" ")
    expect(queue.locator("#viewer")).to_be_visible()
    shoot(queue, "day-viewer-phone")
    phone = log_in(browser, day, f"/cases/{sign}", PHONE)
    actions = phone.locator(".status-actions button[name=status]").first
    top = phone.evaluate("el => el.getBoundingClientRect().top + window.scrollY", actions.element_handle())
    assert top < 900, f"the case actions start {top} px down the page"
    shoot(phone, "day-case-phone")
    laptop_queue = log_in(browser, day, "/review")
    shoot(laptop_queue, "day-queue")


def test_a_stale_decision_from_a_second_browser_is_refused_in_chinese(browser: Browser, day: Server) -> None:  # noqa: F811
    target = cases(day)["g1"]["id"]
    first = log_in(browser, day, f"/cases/{target}")
    second = log_in(browser, day, f"/cases/{target}")
    second.keyboard.press("n")
    expect(second.locator(".case-head .status")).to_have_text("已驳回")
    first.keyboard.press("y")
    expect(first.locator(".conflict")).to_contain_text("此案件已被 reviewer-e2e 于")
    expect(first.locator(".conflict")).to_contain_text("处理为 已驳回")
    assert status_of(day, target) == "rejected"
