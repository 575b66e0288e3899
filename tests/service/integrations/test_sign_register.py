"""``streetscan signs import-permits`` and ``streetscan signs export``: approvals matched to register
entries by text and position, and the register as CSV, XLSX and GeoJSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from service.cli import main
from service.integrations.sign_register import (
    Candidate,
    Permit,
    PermitFileError,
    match_permit,
    parse_permits,
    read_rows,
)
from service.settings import Settings
from tests.service.api.test_signs import sign
from tests.service.builders import Auth, post, send
from tests.service.places import offset

ENTRIES = [
    Candidate(1, "BISTRO", *offset(0, 0)),
    Candidate(2, "老王烧烤店", *offset(0, 10)),
    Candidate(3, "BISTRO", *offset(0, 200)),  # another branch down the street
    Candidate(4, "KFC肯德基", None, None),
]


@pytest.mark.parametrize(
    ("permit", "expected"),
    [
        (Permit("P1", "Bistro", None, None, *offset(0, 5)), 1),
        (Permit("P2", "BISTRO", None, None, *offset(0, 190)), 3),
        (Permit("P3", "BISTRO"), None),  # two signs read BISTRO and no position: which one?
        (Permit("P4", "老王烧烤"), 2),  # part of the name read
        (Permit("P5", "老王烧烤店", None, None, *offset(0, 100)), None),  # too far from the permit's place
        (Permit("P6", "肯德基 KFC"), None),  # the words in another order are not the same reading
        (Permit("P7", "ＫＦＣ肯德基"), 4),  # full-width letters
        (Permit("P8", "PARFUM"), None),
    ],
)
def test_a_permit_matches_the_sign_that_reads_its_name_near_its_place(permit: Permit, expected: int | None) -> None:
    assert match_permit(permit, ENTRIES) == expected


def test_permit_files_with_chinese_headers(tmp_path: Path) -> None:
    path = tmp_path / "permits.csv"
    path.write_text(
        "审批编号,店名,有效期至,地址,纬度,经度,备注\nJC-1,老王烧烤店,2026-01-31,凤台街12号,35.49,112.85,x\n\n",
        encoding="utf-8-sig",
    )
    [permit] = parse_permits(read_rows(path), "permits.csv")
    assert permit == Permit("JC-1", "老王烧烤店", permit.expiry, "凤台街12号", 35.49, 112.85)
    assert permit.expiry is not None and permit.expiry.isoformat() == "2026-01-31"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "empty file"),
        ([["店名"], ["x"]], "no column permit_number"),
        ([["审批编号", "店名", "有效期至"], ["JC-1", "x", "soon"]], "row 2: Invalid isoformat"),
        ([["审批编号", "店名", "纬度", "经度"], ["JC-1", "x", "95", "112"]], "row 2: 95.0 is not within"),
        ([["审批编号", "店名", "纬度"], ["JC-1", "x", "35"]], "row 2: lat and lon go together"),
        ([["审批编号", "店名"], ["", "x"]], "row 2: needs a permit number"),
    ],
)
def test_bad_permit_files_name_the_row(rows: list[list[Any]], message: str) -> None:
    with pytest.raises(PermitFileError, match=message):
        parse_permits(rows, "permits.csv")


def test_not_a_spreadsheet(tmp_path: Path) -> None:
    with pytest.raises(PermitFileError, match=r"not a \.csv or \.xlsx"):
        read_rows(tmp_path / "permits.txt")


def test_import_permits_and_export_the_register(
    client: TestClient, auth: Auth, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(client, auth, [sign("a", 0, 0, "BISTRO"), sign("b", 10, 1, "老王烧烤店")])
    body = {"source": "side-camera", "observations": [sign("c", 20, 2)], "mount": "left"}
    post(client, auth["uploader"], "/api/observations", body)
    monkeypatch.setenv("STREETSCAN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("STREETSCAN_DATA_DIR", str(settings.data_dir))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["permit_number", "shop_name", "expiry", "lat", "lon"])
    sheet.append(["JC-7", "Bistro", None, *offset(0, 2)])
    sheet.append(["JC-8", "老王烧烤", "2026-03-01", None, None])
    sheet.append(["JC-9", "SHAWARMA", None, None, None])
    book.save(tmp_path / "permits.xlsx")
    assert main(["signs", "import-permits", str(tmp_path / "permits.xlsx")]) == 0

    entries = {e["text"]: e for e in client.get("/api/signs", headers=auth["reviewer"]).json()["items"]}
    assert (entries["BISTRO"]["status"], entries["BISTRO"]["permit_number"]) == ("approved", "JC-7")
    assert (entries["老王烧烤店"]["permit_number"], entries["老王烧烤店"]["permit_expiry"]) == ("JC-8", "2026-03-01")
    assert entries[None]["status"] == "unverified"

    assert main(["signs", "export", str(tmp_path / "register.csv")]) == 0
    with (tmp_path / "register.csv").open(encoding="utf-8-sig") as handle:
        rows = {row["text"]: row for row in csv.DictReader(handle)}
    assert rows["BISTRO"]["permit_number"] == "JC-7" and rows["BISTRO"]["sighting_count"] == "1"
    assert rows["老王烧烤店"]["status"] == "approved" and rows[""]["status"] == "unverified"
    assert (rows[""]["facade"], rows["BISTRO"]["facade"]) == ("left", "")

    assert main(["signs", "export", str(tmp_path / "register.xlsx")]) == 0
    exported = openpyxl.load_workbook(tmp_path / "register.xlsx").worksheets[0]
    header, *cells = list(exported.iter_rows(values_only=True))
    assert header[:3] == ("id", "kind", "text") and len(cells) == 3
    assert {row[header.index("facade")] for row in cells} == {"left", None}

    assert main(["signs", "export", str(tmp_path / "register.geojson")]) == 0
    features = json.loads((tmp_path / "register.geojson").read_text())["features"]
    bistro = next(f for f in features if f["properties"]["text"] == "BISTRO")
    assert bistro["geometry"]["coordinates"] == pytest.approx(list(offset(0, 0))[::-1])
    assert sorted(str(f["properties"]["facade"]) for f in features) == ["None", "None", "left"]
    assert main(["signs", "export", str(tmp_path / "register.txt")]) == 1
    assert main(["signs", "import-permits", str(tmp_path / "missing.csv")]) == 2
