"""The review queue: cards of cases waiting for a decision, more cards on demand, and decisions
(one case or a selection) through the same review function the API uses."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from pydantic import Field
from sqlmodel import Session, select

from service.api.deps import CategoriesDep, NowDep, SessionDep, WriteLock
from service.cases import TransitionError, UnknownCategoryError, review
from service.models import Case, ReviewRequest
from service.web.deps import PageViewer, Poster, Viewer
from service.web.queries import Order, queue_count, queue_page
from service.web.render import Page, render

router = APIRouter(include_in_schema=False)
MAX_SELECTION = 200

OrderQuery = Annotated[Order, Query()]
CategoryQuery = Annotated[str | None, Query(max_length=64)]


class BulkReview(ReviewRequest):
    """A decision for the cases ``ids`` (one or a selection)."""

    ids: list[int] = Field(min_length=1, max_length=MAX_SELECTION)


@router.get("/review")
def queue(
    request: Request, db: SessionDep, visitor: PageViewer, order: OrderQuery = "newest", category: CategoryQuery = None
) -> HTMLResponse:
    page = queue_page(db, order, category or None)
    return render(Page(request, visitor), "review.html", queue=page, order=order, category=category or "")


@router.get("/review/cards")
def more_cards(
    request: Request,
    db: SessionDep,
    visitor: Viewer,
    after: Annotated[str, Query(max_length=100)],
    order: OrderQuery = "newest",
    category: CategoryQuery = None,
) -> HTMLResponse:
    """The next page of cards after ``after`` (an HTML fragment); the next cursor is in ``data-next``."""
    try:
        page = queue_page(db, order, category or None, after)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "bad cursor") from None
    return render(Page(request, visitor), "_cards.html", queue=page, order=order, category=category or "")


@router.post("/review/decide")
def decide(
    body: BulkReview, db: SessionDep, categories: CategoriesDep, now: NowDep, lock: WriteLock, visitor: Poster
) -> dict[str, Any]:
    """Apply one decision to each case; a case it cannot apply to is reported, the others are saved."""
    with lock:
        cases = {c.id: c for c in db.exec(select(Case).where(Case.id.in_(body.ids)))}
        decide_one = partial(_decide, db, body, categories, now, visitor.user.id)
        results = [decide_one(case_id, cases.get(case_id)) for case_id in body.ids]
        db.commit()
    return {"results": results, "waiting": queue_count(db)}


def _decide(
    db: Session,
    body: BulkReview,
    categories: frozenset[str],
    now: datetime,
    user_id: int,
    case_id: int,
    case: Case | None,
) -> dict[str, Any]:
    """One case's share of a decision: its new status and category, or why it was refused."""
    if case is None:
        return {"id": case_id, "error": "no such case", "status": None, "category": None}
    error = None
    try:
        review(db, case, body.decision, body.category, categories, now, user_id, body.note)
        db.add(case)
    except (TransitionError, UnknownCategoryError) as exc:
        error = str(exc)
    return {"id": case_id, "error": error, "status": case.status, "category": case.category}
