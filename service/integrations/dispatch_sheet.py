"""The dispatch sheet (派单表) of a unit: the cases dispatched to it that wait for its disposal,
earliest deadline first, as a table to print or hand to the officers (CSV and XLSX through
``service.integrations.exports``). Each row: the case, its category and national code, where it is
(hotspot and position), when it was dispatched and is due, whether it is overdue, a link to its
best crop, and an empty disposal column for the officer to fill in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from service.categories import category_policies
from service.integrations.codes import CategoryCodes, category_codes
from service.integrations.exports import MAX_ROWS, local_text, to_csv, to_xlsx
from service.integrations.open311 import best_crops
from service.labels import STATUS
from service.models.base import row_id
from service.models.cases import CaseStatus
from service.models.hotspots import Hotspot
from service.models.operations import Unit
from service.operations import dispatched_cases
from service.settings import Settings
from vision import CategoryPolicy

SHEET_COLUMNS = [
    ("row", "序号"),
    ("case_id", "案件编号"),
    ("category_name", "类别"),
    ("national_code", "国标事件代码"),
    ("place", "地点"),
    ("lat", "纬度"),
    ("lon", "经度"),
    ("dispatched_at", "派单时间"),
    ("due_at", "处置期限"),
    ("status", "状态"),
    ("photo", "现场照片"),
    ("disposal", "处置情况（队员填写）"),
]
"""(field, Chinese header) of each column of the sheet, in order."""
OVERDUE = "已超期"
"""The status of a case past its deadline."""
FORMATS = ("csv", "xlsx")


def sheet_title(unit: Unit, now: datetime, zone: ZoneInfo) -> str:
    """The line over the table: the unit and when the sheet was made (local time)."""
    return f"{unit.name} 派单表（{local_text(now, zone)}）"


def sheet_rows(
    session: Session,
    unit_id: int,
    now: datetime,
    policies: Mapping[str, CategoryPolicy],
    codes: Mapping[str, CategoryCodes],
    zone: ZoneInfo,
    photo_url: Callable[[str], str],
) -> list[list[Any]]:
    """The rows of unit ``unit_id``'s sheet at ``now``, the values of SHEET_COLUMNS in order (times
    local; ``photo_url``: the link of an evidence key; the disposal column empty)."""
    found = dispatched_cases(session, now, unit_id=unit_id, limit=MAX_ROWS)
    ids = [row_id(d.case) for d in found]
    spots = {d.case.hotspot_id for d in found if d.case.hotspot_id is not None}
    places = dict(session.exec(select(Hotspot.id, Hotspot.name).where(col(Hotspot.id).in_(spots))).all())
    crops = best_crops(session, ids)
    rows = []
    for number, d in enumerate(found, start=1):
        case, policy, code = d.case, policies.get(d.case.category), codes.get(d.case.category)
        crop = crops.get(row_id(case))
        values = {
            "row": number,
            "case_id": case.id,
            "category_name": policy.zh if policy else case.category,
            "national_code": code.national.code if code else None,
            "place": places.get(case.hotspot_id) if case.hotspot_id else None,
            "lat": case.lat,
            "lon": case.lon,
            "dispatched_at": local_text(d.assignment.dispatched_at, zone),
            "due_at": local_text(d.assignment.due_at, zone),
            "status": OVERDUE if d.overdue else STATUS[CaseStatus.dispatched][0],
            "photo": photo_url(crop) if crop else None,
            "disposal": None,
        }
        rows.append([values[field] for field, _ in SHEET_COLUMNS])
    return rows


def sheet_file(
    session: Session, settings: Settings, unit: Unit, fmt: str, now: datetime, photo_url: Callable[[str], str]
) -> bytes:
    """The sheet of ``unit`` at ``now`` as a file: ``fmt`` csv, or xlsx (one sheet, 派单表, under a
    line naming the unit and the time)."""
    zone = ZoneInfo(settings.timezone)
    policies, codes = category_policies(settings.taxonomy_path), category_codes(settings.category_codes_path)
    rows = sheet_rows(session, row_id(unit), now, policies, codes, zone, photo_url)
    if fmt == "csv":
        return to_csv(rows, SHEET_COLUMNS)
    return to_xlsx(rows, SHEET_COLUMNS, "派单表", [sheet_title(unit, now, zone)])
