"""Case exports for other systems and spreadsheets: CSV and XLSX tables with Chinese headers, and
GeoJSON. Each row is one case as the cases API shows it, with its category's names and codes; times
are local (the service's time zone) in the tables and ISO-8601 UTC in GeoJSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from service.integrations.codes import CategoryCodes
from service.labels import STATUS
from service.models.cases import CasePublic
from vision import CategoryPolicy

MAX_ROWS = 50_000
"""The most cases one export holds: narrow the filter for more."""
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}
"""The media type of each export format."""

COLUMNS = [
    ("id", "案件编号"),
    ("category", "类别代码"),
    ("category_name", "类别名称"),
    ("national_code", "国标事件代码"),
    ("national_name", "国标事件名称"),
    ("local_code", "本地平台代码"),
    ("status", "状态"),
    ("lat", "纬度"),
    ("lon", "经度"),
    ("hotspot_name", "热点"),
    ("first_seen", "首次发现时间"),
    ("last_seen", "最近发现时间"),
    ("observation_count", "发现次数"),
    ("recurrence_count", "复发次数"),
    ("resolved_at", "办结时间"),
]
"""(field, Chinese header) of each table column, in order."""


def local_text(at: datetime | None, zone: ZoneInfo) -> str | None:
    """An aware time as the tables show it: local, to the second, without the offset (None stays None)."""
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if at else None


def table_rows(
    cases: list[CasePublic],
    policies: Mapping[str, CategoryPolicy],
    codes: Mapping[str, CategoryCodes],
    zone: ZoneInfo,
) -> list[list[Any]]:
    """One row per case, the values of COLUMNS in order (times local, without the offset; None: empty)."""
    rows = []
    for case in cases:
        policy, found = policies.get(case.category), codes.get(case.category)
        values = {
            **case.model_dump(),
            "category_name": policy.zh if policy else case.category,
            "national_code": found.national.code if found else None,
            "national_name": found.national.name if found else None,
            "local_code": found.local.code if found else None,
            "status": STATUS[case.status][0],
            "first_seen": local_text(case.first_seen, zone),
            "last_seen": local_text(case.last_seen, zone),
            "resolved_at": local_text(case.resolved_at, zone),
        }
        rows.append([values[field] for field, _ in COLUMNS])
    return rows


def headers(columns: list[tuple[str, str]]) -> list[str]:
    """The Chinese headers of (field, header) columns."""
    return [header for _, header in columns]


def to_csv(rows: list[list[Any]], columns: list[tuple[str, str]] = COLUMNS) -> bytes:
    """A table of ``columns`` as UTF-8 CSV with a byte-order mark (so spreadsheet programs read the
    Chinese right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers(columns))
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(
    rows: list[list[Any]], columns: list[tuple[str, str]] = COLUMNS, title: str = "案件", above: Sequence[str] = ()
) -> bytes:
    """A table of ``columns`` as an XLSX workbook of one sheet named ``title``, the lines ``above`` (bold)
    over its header row (bold, frozen with them)."""
    book = Workbook()
    sheet = book.worksheets[0]
    sheet.title = title
    for line in above:
        sheet.append([line])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    sheet.append(headers(columns))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = f"A{sheet.max_row + 1}"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_geojson(cases: list[CasePublic], codes: Mapping[str, CategoryCodes]) -> dict[str, Any]:
    """The located cases as a FeatureCollection of points, each with the case's API fields and its
    category's national and local codes as properties (cases without a position are left out)."""
    features = []
    for case in cases:
        if case.lat is None or case.lon is None:
            continue
        found = codes.get(case.category)
        properties = {
            **case.model_dump(mode="json"),
            "national_code": found.national.code if found else None,
            "local_code": found.local.code if found else None,
        }
        geometry = {"type": "Point", "coordinates": [case.lon, case.lat]}
        features.append({"type": "Feature", "id": case.id, "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "features": features}
