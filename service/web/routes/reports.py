"""The Friday report in the web view: the page, its CSV and XLSX downloads, its stylesheet, and a unit's
page (its week's figures and its territory's hotspots)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from service.campaign import campaign_plan
from service.deps import IdPath, NowDep, SessionDep, SettingsDep, WeekQuery
from service.integrations.exports import MEDIA
from service.reports.charts import report_charts
from service.reports.files import csv_bytes, xlsx_bytes
from service.reports.html import STYLESHEET, report_fragment
from service.reports.units import RATES, UNIT_FIGURES
from service.reports.weekly import WeeklyReport, last_full_week, weekly_report
from service.settings import Settings
from service.web.deps import PageError, PageViewer, Viewer, WebRoute
from service.web.render import SECURITY_HEADERS, Page, render

router = APIRouter(include_in_schema=False, route_class=WebRoute)


def report_of(db: Session, settings: Settings, now: datetime, week: WeekQuery) -> WeeklyReport:
    """The report of ``week`` (None: the week ending last Friday)."""
    zone = ZoneInfo(settings.timezone)
    return weekly_report(db, week or last_full_week(now, zone), zone, campaign_plan(db, settings))


def download(content: bytes, media_type: str, name: str) -> Response:
    """A file to save, with the security headers."""
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type=media_type, headers=headers)


@router.get("/reports/weekly")
def weekly_page(
    request: Request, db: SessionDep, settings: SettingsDep, now: NowDep, visitor: PageViewer, week: WeekQuery = None
) -> HTMLResponse:
    report = report_of(db, settings, now, week)
    body = report_fragment(report, settings.report_bureau, report_charts(db, report, settings.taxonomy_path))
    week_step = timedelta(days=7)
    return render(
        Page(request, visitor),
        "report.html",
        report=report,
        body=body,
        previous=report.week - week_step,
        following=report.week + week_step,
    )


@router.get("/units/{unit_id}")
def unit_page(
    request: Request,
    unit_id: IdPath,
    db: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    visitor: PageViewer,
    week: WeekQuery = None,
) -> HTMLResponse:
    """A unit's week (the weekly report's figures) and the week of each hotspot of its territory."""
    report = report_of(db, settings, now, week)
    unit = next((u for u in report.units if u.id == unit_id), None)
    if unit is None:
        raise PageError(status.HTTP_404_NOT_FOUND, "no_unit")
    week_step = timedelta(days=7)
    return render(
        Page(request, visitor),
        "unit.html",
        report=report,
        unit=unit,
        figures=list(zip(UNIT_FIGURES, unit.values(), strict=True)),
        rates=RATES,
        hotspots=[h for h in report.hotspots if h.id in unit.hotspot_ids],
        previous=report.week - week_step,
        following=report.week + week_step,
    )


@router.get("/reports/weekly.csv")
def weekly_csv(db: SessionDep, settings: SettingsDep, now: NowDep, visitor: Viewer, week: WeekQuery = None) -> Response:
    report = report_of(db, settings, now, week)
    return download(csv_bytes(report), MEDIA["csv"], f"weekly-{report.week}.csv")


@router.get("/reports/weekly.xlsx")
def weekly_xlsx(
    db: SessionDep, settings: SettingsDep, now: NowDep, visitor: Viewer, week: WeekQuery = None
) -> Response:
    report = report_of(db, settings, now, week)
    return download(xlsx_bytes(report, settings.report_bureau), MEDIA["xlsx"], f"weekly-{report.week}.xlsx")


@router.get("/reports/report.css")
def report_css(visitor: Viewer) -> Response:
    return Response(
        STYLESHEET.read_bytes(),
        media_type="text/css",
        headers={**SECURITY_HEADERS, "Cache-Control": "private, max-age=300"},
    )
