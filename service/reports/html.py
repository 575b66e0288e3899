"""The weekly report as HTML: one fragment (``report_fragment``), shown inside the web view and, wrapped
in a standalone document with its stylesheet inlined (``report_document``), written to a file and printed."""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2
from markupsafe import Markup

from service.labels import UNIT_KIND
from service.reports.text import CHART_TEXT, report_title, sections, shown, summary
from service.reports.units import UNIT_FIGURES, UNIT_NOTE, UnitWeek
from service.reports.weekly import FIGURES, PATROL, WeeklyReport

REPORT_DIR = Path(__file__).resolve().parent
STYLESHEET = REPORT_DIR / "report.css"
ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(REPORT_DIR / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


def data_uri(image: bytes) -> str:
    """A PNG image as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(image).decode("ascii")


def unit_values(unit: UnitWeek) -> list[tuple[str, int | float | None]]:
    """(figure name, value) of a unit's week, in ``UNIT_FIGURES`` order."""
    return list(zip(UNIT_FIGURES, unit.values(), strict=True))


def report_fragment(report: WeeklyReport, bureau: str, charts: dict[str, bytes]) -> Markup:
    """The report's content (title, summary, tables, the charts by name: see ``service.reports.charts``) as
    safe HTML."""
    html = ENV.get_template("weekly.html").render(
        r=report,
        title=report_title(bureau),
        summary=summary(report),
        sections=sections(report),
        figures=[zh for zh, _ in FIGURES.values()],
        patrol={state: zh for state, (zh, _) in PATROL.items()},
        unit_figures=[zh for zh, _ in UNIT_FIGURES.values()],
        unit_kind=UNIT_KIND,
        unit_values=unit_values,
        unit_note=UNIT_NOTE[0],
        shown=shown,
        charts=[(CHART_TEXT[name][0], data_uri(image)) for name, image in charts.items()],
    )
    return Markup(html)


def report_document(report: WeeklyReport, bureau: str, charts: dict[str, bytes]) -> str:
    """A standalone HTML document of the report, its stylesheet inlined (for files and printing)."""
    return ENV.get_template("document.html").render(
        title=report_title(bureau),
        css=Markup(STYLESHEET.read_text(encoding="utf-8")),
        body=report_fragment(report, bureau, charts),
    )
