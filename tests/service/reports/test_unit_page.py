"""A unit's page: its week's figures as the weekly report counts them (see ``tests.service.month``) and the
week of each hotspot of its territory, in Chinese and in English."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.service.month import WEEK, simulate_month
from tests.service.web.test_languages import foreign, shown_text
from tests.service.web_client import USERS, logged_in

FIGURE = re.compile(r'<tr data-figure="([a-z_]+)"><th>([^<]+)</th><td class="num">([^<]+)</td></tr>')
HOTSPOT = re.compile(r'<tr data-key="([^"]+)">')


@pytest.mark.parametrize(("lang", "label"), [("zh", "结案率"), ("en", "Closure rate")])
def test_the_unit_page_shows_its_week(
    client: TestClient, engine: Engine, web_users: dict[str, str], lang: str, label: str
) -> None:
    ids = simulate_month(engine)
    logged_in(client, USERS["reviewer"])
    client.cookies.set("lang", lang)
    page = client.get(f"/units/{ids['U1']}", params={"week": WEEK})
    assert page.status_code == 200
    figures = {name: (text, value) for name, text, value in FIGURE.findall(page.text)}
    assert figures["close_rate"] == (label, "100.0%")  # A and G closed, G and H dispatched
    assert {k: v for k, (_, v) in figures.items() if k in ("on_time_rate", "recurrence_rate", "coverage")} == {
        "on_time_rate": "50.0%",
        "recurrence_rate": "20.0%",
        "coverage": "75.0%",
    }
    assert HOTSPOT.findall(page.text) == ["M1", "M2", "M3", "S"]  # its territory, in the report's order
    text = shown_text(page)
    for name in ("一大队", "热点M1", "热点M2", "热点M3", "热点S"):
        text = text.replace(name, " ")
    assert foreign(text, lang) == []

    other = client.get(f"/units/{ids['U2']}", params={"week": WEEK})
    assert {n: v for n, _, v in FIGURE.findall(other.text)}["on_time_rate"] == "—"  # nothing disposed
    assert client.get("/units/999999").status_code == 404
    report = client.get("/reports/weekly", params={"week": WEEK})
    assert f'href="/units/{ids["U1"]}?week={WEEK}"' in report.text
