"""The weekly report as HTML: one fragment (``report_fragment``), shown inside the web view and, wrapped
in a standalone document with its stylesheet inlined (``report_document``), written to a file and printed."""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from service.reports.text import report_title, sections, summary
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


def report_fragment(report: WeeklyReport, bureau: str) -> Markup:
    """The report's content (title, summary, tables) as safe HTML."""
    html = ENV.get_template("weekly.html").render(
        r=report,
        title=report_title(bureau),
        summary=summary(report),
        sections=sections(report),
        figures=[zh for zh, _ in FIGURES.values()],
        patrol=PATROL,
    )
    return Markup(html)


def report_document(report: WeeklyReport, bureau: str) -> str:
    """A standalone HTML document of the report, its stylesheet inlined (for files and printing)."""
    return ENV.get_template("document.html").render(
        title=report_title(bureau),
        css=Markup(STYLESHEET.read_text(encoding="utf-8")),
        body=report_fragment(report, bureau),
    )
