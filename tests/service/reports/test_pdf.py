"""The weekly report printed to PDF by Chromium (``streetscan report --pdf``): the PDF draws its text with a
CJK font only, and shown in Chromium's PDF viewer it holds the Chinese title and table header as the HTML
page draws them (matched image against image)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine

from service.cli import main
from tests.e2e.test_web_browser import CHROMIUM, CHROMIUM_ARGS
from tests.service.month import WEEK, simulate_month

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"no Chromium at {CHROMIUM}")
FONT = re.compile(rb"/FontName /[A-Z]{6}\+([\w-]+)")
MATCH = 0.9
PRINTED_WIDTH = 1032
"""CSS pixels across an A4 landscape page inside its 12 mm margins (273 mm at 96 per inch)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def grey(png: bytes) -> np.ndarray:
    """A PNG screenshot as a grey image."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image


def ink(image: np.ndarray) -> np.ndarray:
    """The part of a light image its dark pixels (the text) span, with a 2-pixel margin."""
    ys, xs = np.nonzero(image < 128)
    return image[max(ys.min() - 2, 0) : ys.max() + 3, max(xs.min() - 2, 0) : xs.max() + 3]


def best_match(needle: np.ndarray, haystack: np.ndarray) -> float:
    """The best normalised correlation of ``needle`` in ``haystack`` at scales from 0.98 to 1.02 (both
    slightly blurred: the viewer and the page smooth glyph edges differently)."""
    haystack = cv2.GaussianBlur(haystack, (3, 3), 0)
    best = -1.0
    for scale in (0.98, 0.99, 1.0, 1.01, 1.02):
        resized = cv2.GaussianBlur(
            cv2.resize(needle, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), (3, 3), 0
        )
        if resized.shape[0] <= haystack.shape[0] and resized.shape[1] <= haystack.shape[1]:
            best = max(best, float(cv2.matchTemplate(haystack, resized, cv2.TM_CCOEFF_NORMED).max()))
    return best


def test_the_pdf_shows_the_chinese_title_and_headers(
    engine: Engine, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("STREETSCAN_DATABASE_URL", database_url)
    monkeypatch.setenv("STREETSCAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STREETSCAN_CHROMIUM_PATH", CHROMIUM)
    simulate_month(engine)
    assert main(["report", "--week", WEEK, "--out", str(tmp_path), "--pdf"]) == 0
    html, pdf = tmp_path / f"weekly-{WEEK}.html", tmp_path / f"weekly-{WEEK}.pdf"
    fonts = set(FONT.findall(pdf.read_bytes()))
    assert fonts and all(b"CJK" in f for f in fonts), fonts  # every glyph drawn from a CJK font

    page = browser.new_page(viewport={"width": PRINTED_WIDTH, "height": 900})  # the tables wrap as printed
    page.goto(html.as_uri())
    title = ink(grey(page.locator("h1.report-title").screenshot()))
    header = ink(grey(page.locator("#totals thead th", has_text="巡查次数").screenshot()))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(pdf.as_uri() + "#zoom=100")  # one CSS pixel of the printed page to one screen pixel
    shown = np.zeros((1, 1), np.uint8)
    for _ in range(20):  # the viewer draws the page a moment after it opens
        page.wait_for_timeout(500)
        shown = grey(page.screenshot())
        if best_match(title, shown) > MATCH:
            break
    cv2.imwrite(str(tmp_path / "pdf.png"), shown)
    assert best_match(title, shown) > MATCH
    assert best_match(header, shown) > MATCH
    page.close()
