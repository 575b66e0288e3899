"""The field pages in Chromium at phone size: a field officer logs in, finds the case dispatched to
their brigade, and records a disposal with an after-photo. Screenshots land in
``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from playwright.sync_api import Browser, ViewportSize, expect

from tests.e2e import test_web_browser as web
from tests.e2e.processes import streetscan
from tests.e2e.test_web_browser import PASSWORD, Server, log_in, shoot

server = web.server
browser = web.browser
"""The other browser tests' fixtures: a server of its own for this module, and Chromium."""

PHONE: ViewportSize = {"width": 390, "height": 844}


def add_user(server: Server, name: str, role: str) -> str:
    """Add a user to the server's database with ``streetscan user add``; their API token."""
    env = {**os.environ, "STREETSCAN_DATA_DIR": str(server.data_dir), "STREETSCAN_DATABASE_URL": ""}
    token = streetscan(env, "user", "add", name, "--role", role, "--password", PASSWORD).split()[-1]
    server.tokens[role] = token
    return token


def test_field_officer_records_a_disposal_on_a_phone(browser: Browser, server: Server, tmp_path: Path) -> None:
    add_user(server, "field_officer-e2e", "field_officer")
    add_user(server, "dispatcher-e2e", "dispatcher")
    brigade = next(u for u in server.api("reviewer", "GET", "/api/units") if u["key"] == "brigade-3")
    me = server.api("field_officer", "GET", "/api/users/me")
    server.api("admin", "POST", f"/api/units/{brigade['id']}/members", json={"user_id": me["id"]})
    case_id = server.api("reviewer", "GET", "/api/cases", params={"category": "goods_spill"})["items"][0]["id"]
    server.api("reviewer", "POST", f"/api/cases/{case_id}/review", json={"decision": "confirm"})
    server.api("dispatcher", "POST", f"/api/cases/{case_id}/dispatch", json={"unit_id": brigade["id"]})

    page = log_in(browser, server, "field_officer", "/tasks", PHONE)
    expect(page.locator(f'ul.tasks li[data-case="{case_id}"]')).to_contain_text("第三执法大队")
    shoot(page, "phone-tasks")
    page.click(f'ul.tasks li[data-case="{case_id}"] a')
    page.select_option("select[name=kind]", "corrected")
    page.fill("textarea[name=note]", "商户已将货物收回店内")
    photo = tmp_path / "after.jpg"
    cv2.imwrite(str(photo), np.full((480, 640, 3), (90, 160, 90), np.uint8))
    page.set_input_files("input[name=photo]", str(photo))
    shoot(page, "phone-disposal")
    page.click("form.disposal button[type=submit]")
    expect(page.locator("p.notice")).to_have_text("处置已记录")
    case = server.api("reviewer", "GET", f"/api/cases/{case_id}")
    assert case["status"] == "resolved"
    assert (case["events"][-1]["user"], case["events"][-1]["detail"]["kind"]) == ("field_officer-e2e", "corrected")
