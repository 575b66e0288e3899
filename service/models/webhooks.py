"""Webhooks: the endpoints admins register, the outbox of events (written in the transaction of the
change it reports), and one delivery per event and endpoint with its attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import AnyHttpUrl, TypeAdapter, field_validator
from sqlmodel import Field, SQLModel

from service.inputs import CleanInput
from service.models.base import EnumText, UTCDateTime, utcnow

_HTTP_URL = TypeAdapter(AnyHttpUrl)


class EventKind(StrEnum):
    case_created = "case.created"
    case_confirmed = "case.confirmed"
    case_status = "case.status"  # any other status change (dispatched, resolved, closed, rejected, reopened)
    case_recurrence = "case.recurrence"  # a resolved case seen again (回头看)
    case_overdue = "case.overdue"  # a dispatched case passed its deadline undisposed of
    camera_down = "camera.down"  # a camera's stream dropped and stayed down
    camera_up = "camera.up"  # a camera reported down sends frames again
    batch_done = "batch.done"  # every video of a patrol upload has ended (done or failed)


class PayloadFormat(StrEnum):
    """``json``: the event as JSON; ``wecom``/``dingtalk``: a markdown message for those chat robots."""

    json = "json"
    wecom = "wecom"
    dingtalk = "dingtalk"


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # given up after the retry period


class WebhookBase(SQLModel):
    """``events``: the kinds sent there (empty: all)."""

    name: str = Field(min_length=1, max_length=64, unique=True, sa_type=sa.String(64))
    url: str = Field(max_length=2000, sa_type=sa.String(2000))
    events: list[EventKind] = Field(default_factory=list, sa_type=sa.JSON)
    format: PayloadFormat = Field(default=PayloadFormat.json, sa_type=EnumText(PayloadFormat))


class WebhookCreate(CleanInput, WebhookBase):
    """``secret``: the key deliveries are signed with (at least 16 characters); None: one is made."""

    secret: str | None = Field(default=None, min_length=16, max_length=200)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        _HTTP_URL.validate_python(value)  # raises naming what is wrong
        return value

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[EventKind]) -> list[EventKind]:
        return list(dict.fromkeys(value))


class Webhook(WebhookBase, table=True):
    """A registered endpoint and how its last delivery attempt went (``last_status``: the HTTP
    status, None when no answer came; ``last_error``: why it failed)."""

    __tablename__ = "webhooks"

    id: int | None = Field(default=None, primary_key=True)
    secret: str = Field(max_length=200, sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500, sa_type=sa.String(500))
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookPublic(WebhookBase):
    """An endpoint with how its deliveries go: ``pending`` and ``failed`` count its deliveries so."""

    id: int
    created_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    last_success_at: datetime | None
    pending: int
    failed: int


class WebhookCreated(WebhookPublic):
    """The answer to registering an endpoint: the only time its ``secret`` is shown."""

    secret: str


class OutboxEvent(SQLModel, table=True):
    """One event to report, written in the transaction of the change. ``case_id`` orders the
    deliveries of one case; ``fanned_out``: deliveries have been made for the endpoints then."""

    __tablename__ = "outbox_events"

    id: int | None = Field(default=None, primary_key=True)
    kind: EventKind = Field(sa_type=EnumText(EventKind, 32))
    case_id: int | None = Field(default=None, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
    fanned_out: bool = Field(default=False, index=True)


class Delivery(SQLModel, table=True):
    """One event for one endpoint: tried at ``next_attempt_at`` until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhooks.id", index=True, ondelete="CASCADE")
    event_id: int = Field(foreign_key="outbox_events.id", index=True, ondelete="CASCADE")
    case_id: int | None = None
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, index=True, sa_type=EnumText(DeliveryStatus))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500, sa_type=sa.String(500))
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
