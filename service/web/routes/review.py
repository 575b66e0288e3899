"""The review queue: cards of cases waiting for a decision, more cards on demand, decisions (one case
or a selection) through the same decision function the API uses, undo of one, and the visitor's
decisions of the day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from pydantic import Field
from sqlmodel import col, select

from service.cases import CaseFilter, TransitionError, UnknownCategoryError, review
from service.casework import Casework, my_decisions
from service.decisions import Conflict, decide
from service.deps import CategoriesDep, NowDep, SessionDep, SettingsDep, WriterDep
from service.inputs import RowId, Text
from service.messages import Refusal
from service.models.base import row_id
from service.models.cases import CaseStatus, Decision, Expectation, UndoRequest
from service.models.hotspots import Hotspot
from service.web.deps import PageViewer, Poster, Viewer, WebRoute
from service.web.queries import Order, queue_count, queue_page, recent_sources
from service.web.render import Page, render

router = APIRouter(include_in_schema=False, route_class=WebRoute)
MAX_SELECTION = 200

OrderQuery = Annotated[Order, Query()]


@dataclass(frozen=True)
class QueueView:
    """The queue's filters as the URL gives them (empty: any) and as a case filter; ``query`` is the URL
    query that keeps them (for more cards, decisions and links)."""

    category: str = ""
    hotspot: str = ""
    source: str = ""
    status: str = ""
    day_from: str = ""
    day_to: str = ""
    found: CaseFilter = field(default_factory=CaseFilter)

    @property
    def query(self) -> str:
        values = {
            "category": self.category,
            "hotspot": self.hotspot,
            "source": self.source,
            "status": self.status,
            "from": self.day_from,
            "to": self.day_to,
        }
        return urlencode({k: v for k, v in values.items() if v})


def queue_view(
    request: Request,
    category: Annotated[Text, Query(max_length=64)] = "",
    hotspot: Annotated[str, Query(max_length=12)] = "",
    source: Annotated[Text, Query(max_length=200)] = "",
    status_: Annotated[str, Query(alias="status", max_length=16)] = "",
    day_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    day_to: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> QueueView:
    """The queue filters of the URL: ``category``, ``hotspot`` (an id), ``source``, ``status`` (default:
    waiting for review), ``from``/``to`` (local dates, inclusive); 422 for a malformed one."""
    zone = ZoneInfo(request.app.state.settings.timezone)
    try:
        hotspot_id = int(hotspot) if hotspot else None
        chosen = CaseStatus(status_) if status_ else None
        since = datetime.combine(date.fromisoformat(day_from), time(), zone) if day_from else None
        until = datetime.combine(date.fromisoformat(day_to), time.max, zone) if day_to else None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"bad filter: {exc}") from None
    found = CaseFilter(category or None, chosen, hotspot_id, since, until, source or None)
    return QueueView(category, hotspot, source, status_, day_from, day_to, found)


Filters = Annotated[QueueView, Depends(queue_view)]


class BulkReview(Decision):
    """A decision for the cases ``ids`` (one or a selection); ``expected_status`` gives, per case
    id, the status its card showed: a case that has moved on since is refused, not overwritten."""

    ids: list[RowId] = Field(min_length=1, max_length=MAX_SELECTION)
    expected_status: dict[RowId, CaseStatus] = Field(default_factory=dict, max_length=MAX_SELECTION)


@router.get("/review")
def queue(
    request: Request, db: SessionDep, visitor: PageViewer, filters: Filters, order: OrderQuery = "newest"
) -> HTMLResponse:
    page = queue_page(db, order, filters.found)
    located = db.exec(select(Hotspot).where(col(Hotspot.geometry).is_not(None)).order_by(col(Hotspot.name))).all()
    return render(
        Page(request, visitor),
        "review.html",
        queue=page,
        order=order,
        filters=filters,
        category=filters.category,
        hotspots=located,
        sources=recent_sources(db),
        statuses=list(CaseStatus),
    )


@router.get("/review/cards")
def more_cards(
    request: Request,
    db: SessionDep,
    visitor: Viewer,
    after: Annotated[str, Query(max_length=100)],
    filters: Filters,
    order: OrderQuery = "newest",
) -> HTMLResponse:
    """The next page of cards after ``after`` (an HTML fragment); the next cursor is in ``data-next``."""
    try:
        page = queue_page(db, order, filters.found, after)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "bad cursor") from None
    return render(Page(request, visitor), "_cards.html", queue=page, order=order, filters=filters)


@router.post("/review/decide")
def decide_cases(
    request: Request,
    body: BulkReview,
    db: SessionDep,
    categories: CategoriesDep,
    now: NowDep,
    writer: WriterDep,
    visitor: Poster,
    filters: Filters,
) -> dict[str, Any]:
    """Apply one decision to each case, each on its own; a case it cannot apply to is reported (in
    the visitor's language for a case someone else decided meanwhile), the others are saved.
    ``waiting``: the queue's count after, with the page's filters (the URL query)."""
    page = Page(request, visitor)
    results = []
    for case_id in body.ids:
        seen = Expectation(expected_status=body.expected_status.get(case_id))
        result: dict[str, Any] = {"id": case_id, "error": None, "status": None, "category": None}
        try:
            case = decide(
                db,
                writer,
                case_id,
                seen,
                lambda c: review(db, c, body.decision, body.category, categories, now, visitor.user.id, body.note),
            )
            result.update(status=case.status, category=case.category, version=case.version)
        except LookupError:
            result["error"] = page.t.refusal(Refusal("no_case"))
        except Conflict as exc:
            result.update(error=page.conflict(exc), status=exc.status)
        except (TransitionError, UnknownCategoryError) as exc:
            result["error"] = page.t.refusal(exc)
        results.append(result)
    return {"results": results, "waiting": queue_count(db, filters.found)}


class UndoBody(UndoRequest):
    """An undo from the queue: case ``id`` and the version the decision left it at."""

    id: RowId


@router.post("/review/undo")
def undo_decision(
    request: Request,
    body: UndoBody,
    db: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    visitor: Poster,
    filters: Filters,
) -> dict[str, Any]:
    """Undo the visitor's latest decision on one case (the ``Z`` key): its status and version after,
    or why not (in the visitor's language)."""
    page = Page(request, visitor)
    result: dict[str, Any] = {"id": body.id, "error": None, "status": None, "version": None}
    try:
        case = Casework(db, writer, settings, now, row_id(visitor.user)).undo(body.id, body.version)
        result.update(status=case.status, category=case.category, version=case.version)
    except LookupError:
        result["error"] = page.t.refusal(Refusal("no_case"))
    except Conflict as exc:
        result["error"] = page.conflict(exc)
    except Refusal as exc:
        result["error"] = page.t.refusal(exc)
    return {**result, "waiting": queue_count(db, filters.found)}


@router.get("/review/mine")
def my_day(request: Request, db: SessionDep, visitor: PageViewer) -> HTMLResponse:
    """The visitor's decisions since local midnight, newest first, each with a link to its case."""
    page = Page(request, visitor)
    midnight = page.now.astimezone(page.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return render(page, "mine.html", decisions=my_decisions(db, row_id(visitor.user), midnight))
