"""The weekly report as files: JSON (the API's body), CSV and XLSX (the places' table: the totals, the week
before, the change, each group and each hotspot; then the units' table: below it in the CSV, on a second
sheet of the XLSX), and the HTML page as a standalone document.

Everything is written from one ``WeeklyReport``, so the files agree with each other and with the page.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from service.reports.html import report_document
from service.reports.text import HEADER, UNIT_HEADER, report_title, summary, table, unit_table
from service.reports.units import RATES, UNIT_FIGURES
from service.reports.weekly import WeeklyReport


def csv_bytes(report: WeeklyReport) -> bytes:
    """The table as CSV, UTF-8 with a byte-order mark (which spreadsheet programs need to read Chinese)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(table(report))
    writer.writerow([])
    writer.writerow(UNIT_HEADER)
    writer.writerows(unit_table(report))
    return text.getvalue().encode("utf-8-sig")


def xlsx_bytes(report: WeeklyReport, bureau: str) -> bytes:
    """An XLSX workbook: the title, the summary lines and the table on one sheet."""
    book = Workbook()
    sheet = book.active
    if sheet is None:
        raise ValueError("a new workbook without a sheet")
    sheet.title = "周报告"
    sheet.append([report_title(bureau)])
    sheet["A1"].font = Font(bold=True, size=14)
    for line in summary(report):
        sheet.append([line])
    sheet.append([])
    sheet.append(HEADER)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in table(report):
        sheet.append(row)
    sheet.column_dimensions["B"].width = 28
    add_unit_sheet(book, report)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def add_unit_sheet(book: Workbook, report: WeeklyReport) -> None:
    """The units' table on a sheet of its own, shares shown as percentages."""
    sheet = book.create_sheet("执法单位")
    sheet.append(UNIT_HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in unit_table(report):
        sheet.append(row)
    first = len(UNIT_HEADER) - len(UNIT_FIGURES) + 1
    for column, name in enumerate(UNIT_FIGURES, start=first):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column) if name in RATES else ():
            cell.number_format = "0.0%"
    sheet.column_dimensions["A"].width = 20


def write_report(report: WeeklyReport, out_dir: Path, bureau: str, charts: dict[str, bytes]) -> list[Path]:
    """``weekly-YYYY-MM-DD`` .json, .csv, .xlsx and .html in ``out_dir`` (made if missing), and each chart
    as ``weekly-YYYY-MM-DD-NAME.png``; the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"weekly-{report.week:%Y-%m-%d}"
    paths = [stem.with_suffix(s) for s in (".json", ".csv", ".xlsx", ".html")]
    paths[0].write_text(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2), encoding="utf-8")
    paths[1].write_bytes(csv_bytes(report))
    paths[2].write_bytes(xlsx_bytes(report, bureau))
    paths[3].write_text(report_document(report, bureau, charts), encoding="utf-8")
    for name, image in charts.items():
        paths.append(out_dir / f"{stem.name}-{name}.png")
        paths[-1].write_bytes(image)
    return paths
