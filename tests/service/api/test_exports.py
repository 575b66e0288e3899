"""Case exports: the CSV, XLSX and GeoJSON files, opened as a spreadsheet program or a GIS would,
hold exactly the cases and figures the cases API shows for the same filters."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from service.integrations.exports import COLUMNS
from tests.service.builders import Auth, obs, send

NATIONAL = {"street_vendor": "0501", "goods_spill": "0504", "lightbox_ad": "0203"}
HEADERS = ["案件编号", "类别代码", "类别名称", "国标事件代码", "国标事件名称", "本地平台代码", "状态", "纬度", "经度"]


@pytest.fixture
def cases(client: TestClient, auth: Auth) -> list[int]:
    """A vendor seen twice (then confirmed), goods, an ad on the next day, and goods without a position."""
    items = [
        obs("1"),
        obs("2", north=3, observed_at="2025-05-12T01:05:00Z"),
        obs("3", north=100, category="goods_spill"),
        obs("4", north=200, category="lightbox_ad", observed_at="2025-05-13T01:00:00Z"),
        obs("5", north=None, category="goods_spill"),
    ]
    found = list(dict.fromkeys(r["case_id"] for r in send(client, auth, items)["results"]))
    response = client.post(f"/api/cases/{found[0]}/review", json={"decision": "confirm"}, headers=auth["reviewer"])
    assert response.status_code == 200
    return found


def api_cases(client: TestClient, auth: Auth, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/cases", params={"limit": 500, **params}, headers=auth["reviewer"])
    assert response.status_code == 200
    return response.json()["items"]


def export(client: TestClient, auth: Auth, fmt: str, **params: Any) -> bytes:
    response = client.get(f"/api/exports/cases.{fmt}", params=params, headers=auth["reviewer"])
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="cases.{fmt}"'
    return response.content


def check_table(rows: list[list[Any]], expected: list[dict[str, Any]]) -> None:
    """Header and rows of an exported table against the API's cases, figure by figure."""
    header, *body = rows
    assert header == [h for _, h in COLUMNS] and header[: len(HEADERS)] == HEADERS
    assert len(body) == len(expected)
    column = {field: i for i, (field, _) in enumerate(COLUMNS)}
    for row, case in zip(body, expected, strict=True):
        assert int(row[column["id"]]) == case["id"]
        assert row[column["category"]] == case["category"]
        for field in ("observation_count", "recurrence_count"):
            assert int(row[column[field]]) == case[field]
        for field in ("lat", "lon"):
            value = row[column[field]]
            expected_value = None if case[field] is None else pytest.approx(case[field], abs=1e-9)  # XLSX: 15 digits
            assert (None if value in (None, "") else float(value)) == expected_value
    (vendor,) = [row for row in body if row[column["category"]] == "street_vendor"]
    assert (vendor[column["category_name"]], str(vendor[column["national_code"]])) == ("流动摊贩/占道经营", "0501")
    assert vendor[column["status"]] == "已确认"
    assert (
        vendor[column["first_seen"]] == "2025-05-12 09:00:00" and vendor[column["last_seen"]] == "2025-05-12 09:05:00"
    )


def csv_rows(data: bytes) -> list[list[Any]]:
    assert data.startswith(b"\xef\xbb\xbf")  # a byte-order mark: spreadsheet programs read it as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True)["案件"]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_tables_match_the_api(client: TestClient, auth: Auth, cases: list[int]) -> None:
    everything = api_cases(client, auth)
    assert len(everything) == 4
    check_table(csv_rows(export(client, auth, "csv")), everything)
    check_table(xlsx_rows(export(client, auth, "xlsx")), everything)


@pytest.mark.parametrize("reader", [csv_rows, xlsx_rows])
def test_filters_apply(client: TestClient, auth: Auth, cases: list[int], reader: Any) -> None:
    fmt = "csv" if reader is csv_rows else "xlsx"
    filters: list[dict[str, Any]] = [
        {"category": "goods_spill"},
        {"status": "confirmed"},
        {"since": "2025-05-13T00:00:00Z"},
        {"category": "outdoor_ad"},
    ]
    for params in filters:
        expected = [c["id"] for c in api_cases(client, auth, **params)]
        _, *body = reader(export(client, auth, fmt, **params))
        assert [int(row[0]) for row in body] == expected, params
    response = client.get("/api/exports/cases.csv", params={"status": "lost"}, headers=auth["reviewer"])
    assert response.status_code == 422
    assert client.get("/api/exports/cases.csv").status_code == 401
    assert client.get("/api/exports/cases.pdf", headers=auth["reviewer"]).status_code == 404


def test_geojson_matches_the_api(client: TestClient, auth: Auth, cases: list[int]) -> None:
    located = [c for c in api_cases(client, auth) if c["located"]]
    collection = json.loads(export(client, auth, "geojson"))
    assert collection["type"] == "FeatureCollection"
    assert [f["id"] for f in collection["features"]] == [c["id"] for c in located]  # the positionless one left out
    for feature, case in zip(collection["features"], located, strict=True):
        assert feature["geometry"] == {"type": "Point", "coordinates": [case["lon"], case["lat"]]}
        assert {k: feature["properties"][k] for k in case} == case
        assert feature["properties"]["national_code"] == NATIONAL[case["category"]]


def test_a_merged_case_is_exported_with_its_status(client: TestClient, auth: Auth, cases: list[int]) -> None:
    vendor, goods, _, other_goods = cases
    merged = client.post(f"/api/cases/{other_goods}/merge", json={"into": goods}, headers=auth["reviewer"])
    assert merged.status_code == 200, merged.text
    _, *body = csv_rows(export(client, auth, "csv"))
    column = {field: i for i, (field, _) in enumerate(COLUMNS)}
    statuses = {int(row[column["id"]]): row[column["status"]] for row in body}
    assert statuses[other_goods] == "已合并" and statuses[vendor] == "已确认" and statuses[goods] == "待审核"
