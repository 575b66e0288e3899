"""Reports: the weekly figures as JSON (the same the page and the files show)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter

from service.api.deps import ApiRoute, CurrentUser
from service.campaign import campaign_plan
from service.deps import NowDep, SessionDep, SettingsDep, WeekQuery
from service.reports.weekly import WeeklyReport, last_full_week, weekly_report

router = APIRouter(prefix="/reports", tags=["reports"], route_class=ApiRoute)


@router.get("/weekly", response_model=WeeklyReport)
def weekly(
    session: SessionDep, settings: SettingsDep, now: NowDep, user: CurrentUser, week: WeekQuery = None
) -> WeeklyReport:
    """The Friday report of a week (Saturday to Friday, local time): per hotspot, road-market batch and the
    strict streets, patrol passes and what they found, case events and cases open at the week's end, with
    the week before and the campaign phase."""
    zone = ZoneInfo(settings.timezone)
    return weekly_report(session, week or last_full_week(now, zone), zone, campaign_plan(session, settings))
