"""Admin page of the webhook endpoints: where events go and how their deliveries went."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.deps import SessionDep
from service.models.webhooks import EventKind
from service.web.deps import AdminPage, WebRoute
from service.web.render import Page, render
from service.webhooks import webhook_views

router = APIRouter(include_in_schema=False, route_class=WebRoute)


@router.get("/admin/webhooks")
def webhooks_page(request: Request, db: SessionDep, visitor: AdminPage) -> HTMLResponse:
    """Every endpoint with its events, format, last attempt and status, and waiting or given-up
    deliveries; and every kind of event an endpoint may take."""
    return render(
        Page(request, visitor), "admin_webhooks.html", webhooks=webhook_views(db), event_kinds=list(EventKind)
    )
