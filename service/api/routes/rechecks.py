"""回头看: the re-inspections of resolved cases' spots, due, overdue or passed."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import ApiRoute, CurrentUser
from service.deps import NowDep, SessionDep, SettingsDep
from service.inputs import UtcTime
from service.rechecks import CheckState, RechecksPublic, rechecks

router = APIRouter(prefix="/rechecks", tags=["rechecks"], route_class=ApiRoute)
DEFAULT_SINCE = timedelta(days=90)


@router.get("", response_model=RechecksPublic)
def list_rechecks(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: CurrentUser,
    state: CheckState | None = None,
    since: Annotated[UtcTime | None, Query(description="cases resolved since (default: 90 days ago)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> RechecksPublic:
    """The re-inspections of the cases resolved since ``since``, what needs doing first (overdue, due,
    relapsed, scheduled, clean), each with its evidence: the pass that covered the spot, or the sighting
    of its relapse."""
    return rechecks(session, settings, now, since or now - DEFAULT_SINCE, state, limit)
