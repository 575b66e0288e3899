"""Webhooks (admins): register an endpoint, list them with how their deliveries go, delete one."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from service.api.deps import AdminUser, ApiRoute
from service.api.errors import errors
from service.deps import IdPath, NowDep, SessionDep, WriterDep
from service.models.webhooks import Webhook, WebhookCreate, WebhookCreated, WebhookPublic
from service.webhooks import register, webhook_view, webhook_views

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=ApiRoute)


@router.get("", response_model=list[WebhookPublic])
def list_webhooks(session: SessionDep, user: AdminUser) -> list[WebhookPublic]:
    """Every endpoint with its last attempt (time, HTTP status, error), last success, and how many
    of its deliveries are pending or were given up."""
    return webhook_views(session)


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED, responses=errors(409))
def add_webhook(
    body: WebhookCreate, session: SessionDep, now: NowDep, writer: WriterDep, user: AdminUser
) -> WebhookCreated:
    """Register an endpoint: the events it gets (empty: all), its format, its signing secret (made
    when not given, and shown only in this answer); 409 when the name is taken. It gets the events
    from now on."""
    try:
        with writer:
            webhook = register(session, body, now)
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return WebhookCreated(**webhook_view(webhook, pending=0, failed=0).model_dump(), secret=webhook.secret)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def delete_webhook(webhook_id: IdPath, session: SessionDep, writer: WriterDep, user: AdminUser) -> Response:
    """Remove an endpoint and its deliveries, sent or not."""
    with writer:
        webhook = session.get(Webhook, webhook_id)
        if webhook is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such webhook")
        session.delete(webhook)
        session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
