"""The weekly report's outputs agree: the API's JSON, the page, the XLSX and CSV downloads and the files
``streetscan report`` writes, on the simulated month and on an empty week."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from service.cli import main
from tests.service.builders import Auth
from tests.service.month import WEEK, simulate_month
from tests.service.web_client import USERS, logged_in

FIGURES = ["passes", "cameras", "sightings", "new", "recurrences", "confirmed", "rejected", "dispatched", "resolved"]
FIGURES += [f"disposed_{k}" for k in ("persuaded", "corrected", "seized", "fined", "removed", "referred")]
FIGURES += ["verified", "closed", "overdue", "open_at_end", "median_dispose_h"]
UNIT_FIGURES = ["dispatched", "closed", "close_rate", "disposed", "on_time", "on_time_rate", "overdue"]
UNIT_FIGURES += ["recurrences", "recurrence_rate", "hotspots", "patrolled", "coverage"]
RATES = {"close_rate", "on_time_rate", "recurrence_rate", "coverage"}
TITLE = "晋城市城市管理局市容环境整治周报告"
ROW = re.compile(r'<tr data-key="([^"]+)"><th>[^<]*</th><td class="patrol [a-z_]+">([^<]+)</td>(.*?)</tr>', re.S)
UNIT_ROW = re.compile(r'<tr data-unit="([^"]+)"><th>[^<]*</th><td>[^<]*</td>(.*?)</tr>', re.S)
NUM = re.compile(r'<td class="num">([^<]*)</td>')


def xlsx_rows(data: bytes) -> tuple[list[str], list[list[Any]]]:
    """The first column's lines above the table, and the table's rows from its header on."""
    sheet = load_workbook(io.BytesIO(data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r[0] == "范围")
    return [r[0] for r in rows[:header] if r[0]], rows[header:]


def shown(value: Any, figure: str) -> str:
    """A figure's value in a file as the page prints it: a dash for none, shares as percentages, hours to a
    tenth (a spreadsheet gives back 24.0 as 24)."""
    if value is None:
        return "—"
    if figure in RATES:
        return f"{value:.1%}"
    return f"{value:.1f}" if figure == "median_dispose_h" else str(value)


def by_name(table: list[list[Any]], scope: str) -> dict[str, list[Any]]:
    return {r[1]: r for r in table[1:] if r[0] == scope}


def html_hotspots(html: str) -> dict[str, tuple[str, list[str]]]:
    """Hotspot key -> (patrol state, figures) as the page's tables show them."""
    return {key: (state, NUM.findall(cells)) for key, state, cells in ROW.findall(html)}


def html_units(html: str) -> dict[str, list[str]]:
    """Unit key -> figures as the page's units table shows them."""
    return {key: NUM.findall(cells) for key, cells in UNIT_ROW.findall(html)}


def test_the_page_and_files_show_the_figures_of_the_api(
    client: TestClient, engine: Engine, auth: Auth, web_users: dict[str, str]
) -> None:
    simulate_month(engine)
    body = client.get("/api/reports/weekly", headers=auth["reviewer"]).json()  # clock: Monday 05-12
    assert body["week"] == WEEK and body["empty"] is False and body["phase"]["number"] == 3
    assert [body["totals"][f] for f in FIGURES] == [3, 0, 6, 5, 1, 4, 1, 3, 2, 0, 1, 0, 1, 0, 0, 2, 2, 1, 4, 13.2]
    hotspots = {h["key"]: h for h in body["hotspots"]}

    logged_in(client, USERS["reviewer"])
    page = client.get("/reports/weekly", params={"week": "2025-05-07"})
    assert page.status_code == 200
    assert TITLE in page.text and "第三阶段：巩固阶段成果，保证整治效果" in page.text
    assert "已定位热点 4 处，本周未巡查 1 处（占 25%）" in page.text
    assert page.text.count('<img src="data:image/png;base64,') == 3  # the charts
    page_rows = html_hotspots(page.text)
    assert page_rows == {
        k: (
            {"M1": "发现问题", "M2": "巡查无问题", "M3": "未巡查", "S": "发现问题", "U": "未定位"}[k],
            [shown(h[f], f) for f in FIGURES],
        )
        for k, h in hotspots.items()
    }
    units = {u["key"]: u for u in body["units"]}
    assert html_units(page.text) == {k: [shown(u[f], f) for f in UNIT_FIGURES] for k, u in units.items()}
    assert html_units(page.text)["U1"][-1] == "75.0%"  # three of its four located hotspots patrolled

    xlsx = client.get("/reports/weekly.xlsx", params={"week": WEEK})
    assert xlsx.headers["content-disposition"] == f'attachment; filename="weekly-{WEEK}.xlsx"'
    lines, table = xlsx_rows(xlsx.content)
    assert lines[0] == TITLE and "整治阶段：第三阶段：巩固阶段成果，保证整治效果" in lines
    totals = by_name(table, "合计")
    assert totals["本周"][4:] == [body["totals"][f] for f in FIGURES]
    assert totals["上周"][4:] == [body["previous"][f] for f in FIGURES]
    assert totals["环比变化"][4:] == [body["change"][f] for f in FIGURES]
    names = {h["name"]: h for h in body["hotspots"]}
    for name, row in by_name(table, "热点").items():
        assert row[4:] == [names[name][f] for f in FIGURES]
        as_shown = [shown(v, f) for v, f in zip(row[4:], FIGURES, strict=True)]
        assert (row[3], as_shown) == page_rows[names[name]["key"]]  # the page shows the same
    groups = by_name(table, "分组")
    assert groups["第一批马路市场"][4:] == [body["groups"][0][f] for f in FIGURES]
    sheet = load_workbook(io.BytesIO(xlsx.content))["执法单位"]
    unit_rows = {r[0]: list(r[2:]) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert unit_rows == {u["name"]: [u[f] for f in UNIT_FIGURES] for u in body["units"]}
    assert unit_rows["一大队"] == [2, 2, 1.0, 2, 1, 0.5, 0, 1, 0.2, 4, 3, 0.75]
    assert sheet.cell(2, 3 + UNIT_FIGURES.index("coverage")).number_format == "0.0%"

    csv_rows = list(
        csv.reader(io.StringIO(client.get("/reports/weekly.csv", params={"week": WEEK}).content.decode("utf-8-sig")))
    )
    assert csv_rows[0] == table[0] and csv_rows[1][4:] == [str(v) for v in totals["本周"][4:]]
    unit_header = csv_rows.index([]) + 1
    assert csv_rows[unit_header][:3] == ["单位", "类型", "派单"]
    csv_units = {r[0]: r for r in csv_rows[unit_header + 1 :]}
    two = next(u for u in body["units"] if u["key"] == "U2")
    assert csv_units["二大队"] == ["二大队", "执法大队", *("" if two[f] is None else str(two[f]) for f in UNIT_FIGURES)]


def test_the_api_checks_who_asks_and_which_week(client: TestClient, auth: Auth) -> None:
    assert client.get("/api/reports/weekly").status_code == 401
    for bad in ("1999-12-31", "2025-13-01", "friday"):
        assert client.get("/api/reports/weekly", params={"week": bad}, headers=auth["reviewer"]).status_code == 422
    assert client.get("/reports/weekly.xlsx", params={"week": WEEK}).status_code == 401


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("STREETSCAN_DATABASE_URL", database_url)
    monkeypatch.setenv("STREETSCAN_DATA_DIR", str(tmp_path / "data"))


@pytest.mark.usefixtures("cli_env")
def test_the_command_writes_every_file_of_a_week(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    simulate_month(engine)
    assert main(["report", "--week", WEEK, "--out", str(tmp_path / "out")]) == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    charts = [f"weekly-{WEEK}-{c}.png" for c in ("cases_per_week", "open_by_hotspot", "time_heatmap")]
    assert names == sorted([*charts, *(f"weekly-{WEEK}.{s}" for s in ("csv", "html", "json", "xlsx"))])
    stem = tmp_path / "out" / f"weekly-{WEEK}"
    body = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    _, table = xlsx_rows(stem.with_suffix(".xlsx").read_bytes())
    assert by_name(table, "合计")["本周"][4:] == [body["totals"][f] for f in FIGURES]
    assert body["totals"]["new"] == 5 and body["units"][1]["overdue"] == 1  # 二大队: D
    html = stem.with_suffix(".html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and TITLE in html and ".report-table" in html  # styles inlined
    assert html.count('<img src="data:image/png;base64,') == 3
    assert html_hotspots(html)["M2"] == ("巡查无问题", ["2", *["0"] * 18, "—"])
    assert html_units(html)["U2"][-3:] == ["1", "0", "0.0%"]
    assert "5 new cases, 3 passes" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_env", "engine")
def test_an_empty_week_writes_a_valid_report_that_says_so(tmp_path: Path) -> None:
    assert main(["report", "--week", "2025-05-09", "--out", str(tmp_path / "out")]) == 0
    stem = tmp_path / "out" / "weekly-2025-05-09"
    assert json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))["empty"] is True
    lines, table = xlsx_rows(stem.with_suffix(".xlsx").read_bytes())
    assert "本周无巡查、发现或案件记录。" in lines and by_name(table, "热点") == {}
    assert by_name(table, "合计")["本周"][4:] == [0] * (len(FIGURES) - 1) + [None]
    assert "本周无巡查、发现或案件记录。" in stem.with_suffix(".html").read_text(encoding="utf-8")
    with pytest.raises(SystemExit, match="2"):
        main(["report", "--week", "2025-02-30", "--out", str(tmp_path)])
