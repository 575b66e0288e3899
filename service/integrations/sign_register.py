"""The sign register and the bureau's spreadsheets: permits imported from CSV/XLSX and matched to entries
by the text read on the sign and its position (``streetscan signs import-permits``), and the register
exported as CSV, XLSX or GeoJSON (``streetscan signs export``).

A permit file has a header row; its columns, by English or Chinese name (others are ignored):
``permit_number``/审批编号 (required), ``shop_name``/店名 (required: the name on the sign), ``expiry``/有效期至
(YYYY-MM-DD), ``address``/地址 (kept as the entry's note), ``lat``/纬度 and ``lon``/经度 (WGS-84).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
from sqlmodel import Session, col, select

from service.models.base import row_id
from service.models.hotspots import Hotspot
from service.models.signs import Facade, Sign, SignStatus
from vision import contained_similarity, haversine_m, text_similarity

PERMIT_TEXT_SAME = 0.6
"""Similarity (``text_similarity``, or ``contained_similarity`` for a name read in part) at or above which
a sign's text is the permit's shop name."""
PERMIT_RADIUS_M = 30.0
"""How far (metres) from a permit's position a sign may stand (an address geocoded to the door, a sign
above the shop front and GPS error)."""
COLUMNS = {
    "permit_number": ("permit_number", "审批编号", "许可证号"),
    "shop_name": ("shop_name", "店名", "招牌名称"),
    "expiry": ("expiry", "有效期至", "到期日期"),
    "address": ("address", "地址"),
    "lat": ("lat", "纬度"),
    "lon": ("lon", "经度"),
}
EXPORT_FIELDS = (
    "id",
    "kind",
    "text",
    "status",
    "permit_number",
    "permit_expiry",
    "lat",
    "lon",
    "position_sigma_m",
    "facade",
    "hotspot",
    "first_seen",
    "last_seen",
    "sighting_count",
    "new",
    "note",
)


class PermitFileError(ValueError):
    """A permit file that cannot be read; names the file and the row."""


@dataclass(frozen=True)
class Permit:
    """One approval: its number, the shop name on the sign, expiry, address and position (degrees)."""

    number: str
    shop_name: str
    expiry: date | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Candidate:
    """What matching needs to know of an entry."""

    id: int
    text: str | None
    lat: float | None
    lon: float | None


# --- pure decisions ---------------------------------------------------------------------------


def name_score(shop_name: str, text: str | None) -> float:
    """How well a sign's text reads as the shop name, 0..1 (the better of whole and partial similarity)."""
    return max(text_similarity(shop_name, text) or 0.0, contained_similarity(shop_name, text) or 0.0)


def match_permit(permit: Permit, entries: Sequence[Candidate]) -> int | None:
    """The entry a permit is for: its text reads as the shop name (``PERMIT_TEXT_SAME``) and, when the
    permit has a position, it stands within ``PERMIT_RADIUS_M`` of it; the best name, then the nearest.
    Without a position the name must single out one entry (two equally good ones: no match)."""
    ranked = []
    for entry in entries:
        score = name_score(permit.shop_name, entry.text)
        if score < PERMIT_TEXT_SAME:
            continue
        distance = 0.0
        if permit.lat is not None and permit.lon is not None:
            if entry.lat is None or entry.lon is None:
                continue
            distance = float(haversine_m(permit.lat, permit.lon, entry.lat, entry.lon))
            if distance > PERMIT_RADIUS_M:
                continue
        ranked.append((-score, distance, entry.id))
    ranked.sort()
    if not ranked:
        return None
    positioned = permit.lat is not None and permit.lon is not None
    if not positioned and len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
        return None
    return ranked[0][2]


# --- reading permits --------------------------------------------------------------------------


def read_rows(path: Path) -> list[list[Any]]:
    """The cells of a CSV (UTF-8, with or without BOM) or XLSX file's first sheet, header row first."""
    if path.suffix.lower() == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [list(row) for row in csv.reader(handle)]
    raise PermitFileError(f"{path}: not a .csv or .xlsx file")


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _expiry(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(_cell(value)) if _cell(value) else None


def _degrees(value: Any, low: float, high: float) -> float | None:
    if _cell(value) == "":
        return None
    number = float(_cell(value))
    if not (low <= number <= high) or math.isnan(number):
        raise ValueError(f"{number} is not within {low}..{high}")
    return number


def parse_permits(rows: list[list[Any]], where: str) -> list[Permit]:
    """Permits from a header row and data rows; PermitFileError naming ``where`` and the row."""
    if not rows:
        raise PermitFileError(f"{where}: empty file")
    header = [_cell(h).lower() for h in rows[0]]
    index = {}
    for field, names in COLUMNS.items():
        found = [i for i, h in enumerate(header) if h in names]
        if found:
            index[field] = found[0]
    missing = [f for f in ("permit_number", "shop_name") if f not in index]
    if missing:
        raise PermitFileError(f"{where}: no column {', '.join(missing)} (see the README for the column names)")
    permits = []
    for number, row in enumerate(rows[1:], start=2):
        cells = {field: row[i] if i < len(row) else None for field, i in index.items()}
        if not any(_cell(v) for v in cells.values()):
            continue
        try:
            lat, lon = _degrees(cells.get("lat"), -90, 90), _degrees(cells.get("lon"), -180, 180)
            if (lat is None) != (lon is None):
                raise ValueError("lat and lon go together")
            permit = Permit(
                number=_cell(cells["permit_number"])[:64],
                shop_name=_cell(cells["shop_name"]),
                expiry=_expiry(cells.get("expiry")),
                address=_cell(cells.get("address"))[:1000] or None,
                lat=lat,
                lon=lon,
            )
        except ValueError as exc:
            raise PermitFileError(f"{where}: row {number}: {exc}") from None
        if not permit.number or not permit.shop_name:
            raise PermitFileError(f"{where}: row {number}: needs a permit number and a shop name")
        permits.append(permit)
    return permits


@dataclass(frozen=True)
class ImportSummary:
    """Which permits matched which entries (permit number -> sign id) and which matched none."""

    matched: dict[str, int]
    unmatched: list[str]

    def text(self) -> str:
        lines = [f"{len(self.matched)} permits matched, {len(self.unmatched)} unmatched"]
        lines += [f"  {number} -> sign {sign_id}" for number, sign_id in self.matched.items()]
        lines += [f"  {number}: no sign found" for number in self.unmatched]
        return "\n".join(lines)


def import_permits(session: Session, permits: Iterable[Permit], at: datetime) -> ImportSummary:
    """Match each permit to an entry (``match_permit``) and mark it approved with the permit's number,
    expiry and address (as its note); commits. An entry marked a violation or removed is matched but
    keeps its status."""
    entries = list(session.exec(select(Sign).where(col(Sign.text).is_not(None))))
    candidates = [Candidate(row_id(s), s.text, s.lat, s.lon) for s in entries]
    by_id = {row_id(s): s for s in entries}
    matched: dict[str, int] = {}
    unmatched = []
    for permit in permits:
        found = match_permit(permit, candidates)
        if found is None:
            unmatched.append(permit.number)
            continue
        sign = by_id[found]
        if sign.status == SignStatus.unverified:
            sign.status = SignStatus.approved
        sign.permit_number, sign.permit_expiry = permit.number, permit.expiry
        sign.note = permit.address or sign.note
        sign.updated_at = at
        session.add(sign)
        matched[permit.number] = found
    session.commit()
    return ImportSummary(matched, unmatched)


# --- export -----------------------------------------------------------------------------------


def register_rows(session: Session) -> list[dict[str, Any]]:
    """Every entry as a flat record (``EXPORT_FIELDS``), in id order; times ISO-8601 UTC."""
    stmt = select(Sign, Hotspot.name).outerjoin(Hotspot, col(Sign.hotspot_id) == Hotspot.id).order_by(col(Sign.id))
    rows = []
    for sign, hotspot in session.exec(stmt):
        record = sign.model_dump(include=set(EXPORT_FIELDS))
        record.update(
            hotspot=hotspot,
            status=SignStatus(sign.status).value,
            facade=Facade(sign.facade).value if sign.facade else None,
            first_seen=sign.first_seen.isoformat(),
            last_seen=sign.last_seen.isoformat(),
            permit_expiry=sign.permit_expiry.isoformat() if sign.permit_expiry else None,
        )
        rows.append({field: record.get(field) for field in EXPORT_FIELDS})
    return rows


def _point(row: dict[str, Any]) -> dict[str, Any] | None:
    return {"type": "Point", "coordinates": [row["lon"], row["lat"]]} if row["lat"] is not None else None


def export_register(session: Session, path: Path) -> int:
    """Write the register to ``path`` as CSV, XLSX or GeoJSON by its suffix; how many entries."""
    rows = register_rows(session)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None  # a new workbook has one sheet
        sheet.title = "signs"
        sheet.append(list(EXPORT_FIELDS))
        for row in rows:
            sheet.append([row[field] for field in EXPORT_FIELDS])
        book.save(path)
    elif suffix in (".geojson", ".json"):
        features = [{"type": "Feature", "id": row["id"], "geometry": _point(row), "properties": row} for row in rows]
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
    else:
        raise ValueError(f"{path}: export as .csv, .xlsx or .geojson")
    return len(rows)
