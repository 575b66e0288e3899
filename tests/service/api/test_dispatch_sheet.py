"""A unit's dispatch sheet (派单表): the XLSX and CSV files, opened as a spreadsheet program would, hold
exactly the cases the cases API shows dispatched to the unit, with their deadlines, places, a working
link to each case's photo, and an empty disposal column."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from fastapi.testclient import TestClient

from service.integrations.dispatch_sheet import SHEET_COLUMNS
from tests.service.api.test_operations import STREET, confirmed_case, units
from tests.service.builders import Auth, jpeg, post, store_image

ZONE = ZoneInfo("Asia/Shanghai")
HEADERS = ["序号", "案件编号", "类别", "国标事件代码", "地点", "纬度", "经度", "派单时间", "处置期限", "状态"]
COLUMN = {field: i for i, (field, _) in enumerate(SHEET_COLUMNS)}


@pytest.fixture
def dispatched(client: TestClient, auth: Auth, clock: Any) -> dict[str, int]:
    """On brigade-1's sheet: a vendor on 泽州路 with a photo, due by the SLA, and goods due in an hour
    (overdue once the clock moves on two hours); on brigade-2's: another vendor."""
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [STREET]})
    brigades = units(client, auth)
    first, second = brigades["brigade-1"]["id"], brigades["brigade-2"]["id"]
    vendor = confirmed_case(client, auth, crop=store_image(client, auth, jpeg(90)))
    goods = confirmed_case(client, auth, "2", north=400, category="goods_spill")
    elsewhere = confirmed_case(client, auth, "3", north=800)
    post(client, auth["dispatcher"], f"/api/cases/{vendor}/dispatch", {"unit_id": first})
    soon = (clock.now + timedelta(hours=1)).isoformat()
    post(client, auth["dispatcher"], f"/api/cases/{goods}/dispatch", {"unit_id": first, "due": soon})
    post(client, auth["dispatcher"], f"/api/cases/{elsewhere}/dispatch", {"unit_id": second})
    clock.advance(hours=2)
    return {"unit": first, "vendor": vendor, "goods": goods, "elsewhere": elsewhere}


def sheet(client: TestClient, auth: Auth, unit: int, fmt: str) -> bytes:
    response = client.get(f"/api/exports/units/{unit}/dispatch-sheet.{fmt}", headers=auth["field_officer"])
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="dispatch-sheet-{unit}.{fmt}"'
    return response.content


def xlsx_rows(data: bytes) -> tuple[str, list[list[Any]]]:
    """The line over the table, and the table."""
    rows: list[list[Any]] = [
        list(r) for r in openpyxl.load_workbook(io.BytesIO(data), read_only=True)["派单表"].iter_rows(values_only=True)
    ]
    return str(rows[0][0]), rows[1:]


def csv_rows(data: bytes) -> list[list[Any]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")


def check_sheet(client: TestClient, auth: Auth, rows: list[list[Any]], unit: int) -> list[list[Any]]:
    """Header and rows against the API, figure by figure; the rows."""
    header, *body = rows
    assert header[: len(HEADERS)] == HEADERS and header[-2:] == ["现场照片", "处置情况（队员填写）"]
    api = client.get("/api/cases", params={"unit_id": unit, "status": "dispatched"}, headers=auth["reviewer"]).json()
    cases = {c["id"]: c for c in api["items"]}
    assert sorted(int(row[COLUMN["case_id"]]) for row in body) == sorted(cases)
    dues = []
    for number, row in enumerate(body, start=1):
        case = cases[int(row[COLUMN["case_id"]])]
        assignment = client.get(f"/api/cases/{case['id']}/assignment", headers=auth["reviewer"]).json()
        assert int(row[COLUMN["row"]]) == number and assignment["unit_id"] == unit
        assert row[COLUMN["dispatched_at"]] == local(assignment["dispatched_at"])
        assert row[COLUMN["due_at"]] == local(assignment["due_at"])
        assert row[COLUMN["status"]] == ("已超期" if assignment["overdue"] else "已派单")
        for field in ("lat", "lon"):
            assert float(row[COLUMN[field]]) == pytest.approx(case[field], abs=1e-9)
        assert row[COLUMN["disposal"]] in (None, "")
        dues.append(assignment["due_at"])
    assert dues == sorted(dues)  # earliest deadline first
    return body


def test_the_sheet_matches_the_api(client: TestClient, auth: Auth, dispatched: dict[str, int]) -> None:
    unit = dispatched["unit"]
    title, table = xlsx_rows(sheet(client, auth, unit, "xlsx"))
    assert title == "第一执法大队 派单表（2025-05-12 11:00:00）"
    goods, vendor = check_sheet(client, auth, table, unit)
    assert [goods[COLUMN["case_id"]], vendor[COLUMN["case_id"]]] == [dispatched["goods"], dispatched["vendor"]]
    assert (goods[COLUMN["status"]], vendor[COLUMN["status"]]) == ("已超期", "已派单")
    assert (vendor[COLUMN["category_name"]], vendor[COLUMN["national_code"]]) == ("流动摊贩/占道经营", "0501")
    assert vendor[COLUMN["place"]] == "泽州路" and goods[COLUMN["place"]] is None
    assert goods[COLUMN["photo"]] is None
    photo = urlsplit(vendor[COLUMN["photo"]])
    image = client.get(f"{photo.path}?{photo.query}")  # no login: the signed link is the permission
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"

    assert csv_rows(sheet(client, auth, unit, "csv")) == [[("" if v is None else str(v)) for v in row] for row in table]
    _, other = xlsx_rows(sheet(client, auth, units(client, auth)["brigade-2"]["id"], "xlsx"))
    assert [row[COLUMN["case_id"]] for row in other[1:]] == [dispatched["elsewhere"]]


def test_a_disposed_case_leaves_the_sheet(client: TestClient, auth: Auth, dispatched: dict[str, int]) -> None:
    response = client.post(
        f"/api/cases/{dispatched['goods']}/disposal", data={"kind": "persuaded"}, headers=auth["dispatcher"]
    )
    assert response.status_code == 200, response.text
    _, table = xlsx_rows(sheet(client, auth, dispatched["unit"], "xlsx"))
    assert [row[COLUMN["case_id"]] for row in check_sheet(client, auth, table, dispatched["unit"])] == [
        dispatched["vendor"]
    ]


def test_unknown_unit_or_format_and_no_token(client: TestClient, auth: Auth) -> None:
    assert client.get("/api/exports/units/999999/dispatch-sheet.xlsx", headers=auth["reviewer"]).status_code == 404
    unit = units(client, auth)["brigade-1"]["id"]
    assert client.get(f"/api/exports/units/{unit}/dispatch-sheet.pdf", headers=auth["reviewer"]).status_code == 404
    assert client.get(f"/api/exports/units/{unit}/dispatch-sheet.csv").status_code == 401
    _, table = xlsx_rows(sheet(client, auth, unit, "xlsx"))
    assert table == [[h for _, h in SHEET_COLUMNS]]  # nothing dispatched: the header alone
