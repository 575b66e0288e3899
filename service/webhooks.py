"""Webhooks: events go into the outbox in the transaction of the change they report (``emit``); a
sender (``service.workers.webhooks``) makes one delivery per event and registered endpoint
(``fan_out``), posts them in order per case (``due``), signed, and retries a failed one with
exponential backoff for a day (``record_result``).

A delivery is the event's body (``render``: JSON, or a WeCom/DingTalk robot's markdown message)
POSTed with ``X-Streetscan-Event``, ``X-Streetscan-Delivery`` (its id: a receiver that sees one
twice drops it), ``X-Streetscan-Timestamp`` (Unix seconds) and ``X-Streetscan-Signature``:
``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>`` under the endpoint's secret; a
receiver checks it and refuses an old timestamp (a replay). DingTalk endpoints get their robot's
own signature in the URL too (``timestamp``, ``sign``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, delete, func, select

from service.labels import EVENT
from service.models.base import row_id
from service.models.cases import Case, CaseAction, CaseStatus
from service.models.webhooks import (
    Delivery,
    DeliveryStatus,
    EventKind,
    OutboxEvent,
    PayloadFormat,
    Webhook,
    WebhookCreate,
    WebhookPublic,
)

SIGNATURE_HEADER = "X-Streetscan-Signature"
TIMESTAMP_HEADER = "X-Streetscan-Timestamp"
EVENT_HEADER = "X-Streetscan-Event"
DELIVERY_HEADER = "X-Streetscan-Delivery"
BATCH = 500
"""Deliveries read per endpoint and pass of the sender."""

TITLES = {kind: zh for kind, (zh, _) in EVENT.items()}
"""The chat robots' message title of each event kind."""


# --- writing events -------------------------------------------------------------------------


def emit(session: Session, kind: EventKind, at: datetime, payload: dict[str, Any], case_id: int | None = None) -> None:
    """Put one event into the outbox, in the session's transaction (it is kept only if that commits)."""
    session.add(OutboxEvent(kind=kind, case_id=case_id, at=at, payload=payload))


def case_event_kind(action: CaseAction, to_status: CaseStatus | None) -> EventKind | None:
    """The event an audit-trail entry of a case reports, if any."""
    if action == CaseAction.created:
        return EventKind.case_created
    if action == CaseAction.recurrence:
        return EventKind.case_recurrence
    if to_status == CaseStatus.confirmed:
        return EventKind.case_confirmed
    return EventKind.case_status if to_status is not None else None


def emit_case_event(
    session: Session,
    case: Case,
    action: CaseAction,
    at: datetime,
    from_status: CaseStatus | None,
    to_status: CaseStatus | None,
    note: str | None,
) -> None:
    """The event of one audit-trail entry of ``case`` (none for entries that change no status)."""
    kind = case_event_kind(action, to_status)
    if kind is None:
        return
    emit(session, kind, at, case_payload(case, from_status, to_status or case.status, note), row_id(case))


def case_payload(
    case: Case, from_status: CaseStatus | None, status: CaseStatus, note: str | None = None
) -> dict[str, Any]:
    """What every case event tells: the case, its category, status (and the one before), position, note."""
    return {
        "case_id": row_id(case),
        "category": case.category,
        "from_status": from_status.value if from_status else None,
        "status": status.value,
        "lat": case.lat,
        "lon": case.lon,
        "note": note,
    }


# --- endpoints ------------------------------------------------------------------------------


def register(session: Session, wanted: WebhookCreate, now: datetime) -> Webhook:
    """Add an endpoint (ValueError when the name is taken); its secret is ``wanted.secret`` or a new one."""
    if session.exec(select(Webhook).where(Webhook.name == wanted.name)).first() is not None:
        raise ValueError(f"a webhook named {wanted.name!r} exists")
    webhook = Webhook(
        **wanted.model_dump(exclude={"secret"}),
        secret=wanted.secret or secrets.token_urlsafe(32),
        created_at=now,
    )
    session.add(webhook)
    session.commit()
    session.refresh(webhook)
    return webhook


def webhook_views(session: Session) -> list[WebhookPublic]:
    """Every endpoint by name, with its last attempt and its pending and failed deliveries."""
    counts = session.exec(
        select(Delivery.webhook_id, Delivery.status, func.count())
        .where(col(Delivery.status) != DeliveryStatus.delivered)
        .group_by(col(Delivery.webhook_id), col(Delivery.status))
    ).all()
    found = {(webhook_id, status): n for webhook_id, status, n in counts}
    return [
        webhook_view(
            w, found.get((row_id(w), DeliveryStatus.pending), 0), found.get((row_id(w), DeliveryStatus.failed), 0)
        )
        for w in session.exec(select(Webhook).order_by(col(Webhook.name)))
    ]


def webhook_view(webhook: Webhook, pending: int, failed: int) -> WebhookPublic:
    """The public view of an endpoint with its ``pending`` and ``failed`` delivery counts."""
    fields = webhook.model_dump(exclude={"secret", "events"})
    return WebhookPublic(**fields, events=[EventKind(e) for e in webhook.events], pending=pending, failed=failed)


# --- delivering -----------------------------------------------------------------------------


def fan_out(session: Session) -> int:
    """Make the deliveries of the events not fanned out yet, one per endpoint whose filter takes
    the event; returns how many events there were. The caller commits."""
    events = session.exec(
        select(OutboxEvent).where(col(OutboxEvent.fanned_out).is_(False)).order_by(col(OutboxEvent.id)).limit(BATCH)
    ).all()
    webhooks = session.exec(select(Webhook)).all()
    for event in events:
        for webhook in webhooks:
            if not webhook.events or event.kind in webhook.events:
                session.add(
                    Delivery(
                        webhook_id=row_id(webhook),
                        event_id=row_id(event),
                        case_id=event.case_id,
                        next_attempt_at=event.at,
                    )
                )
        event.fanned_out = True
        session.add(event)
    return len(events)


@dataclass(frozen=True)
class Outgoing:
    """A delivery to make now to endpoint ``webhook_id``."""

    delivery_id: int
    webhook_id: int
    url: str
    secret: str
    format: PayloadFormat
    event: OutboxEvent


def due(session: Session, now: datetime) -> list[Outgoing]:
    """The pending deliveries to attempt now, endpoint by endpoint (at most BATCH each), each
    endpoint's in event order: those whose time has come and that no earlier pending delivery of
    the same endpoint and case still waits before. The sender skips the rest of an endpoint once
    one of its deliveries fails, so a case's events never overtake each other."""
    waiting_rows = session.exec(
        select(Delivery.webhook_id, Delivery.case_id, func.min(Delivery.event_id))
        .where(
            Delivery.status == DeliveryStatus.pending,
            col(Delivery.next_attempt_at) > now,
            col(Delivery.case_id).is_not(None),
        )
        .group_by(col(Delivery.webhook_id), col(Delivery.case_id))
    ).all()
    first_waiting = {(webhook_id, case_id): event_id for webhook_id, case_id, event_id in waiting_rows}
    found = []
    for webhook in session.exec(select(Webhook).order_by(col(Webhook.id))).all():
        rows = session.exec(
            select(Delivery, OutboxEvent)
            .join(OutboxEvent, col(Delivery.event_id) == OutboxEvent.id)
            .where(
                Delivery.webhook_id == webhook.id,
                Delivery.status == DeliveryStatus.pending,
                col(Delivery.next_attempt_at) <= now,
            )
            .order_by(col(Delivery.event_id))
            .limit(BATCH)
        ).all()
        for delivery, event in rows:
            before = first_waiting.get((delivery.webhook_id, delivery.case_id))
            if before is None or before > delivery.event_id:
                found.append(
                    Outgoing(row_id(delivery), row_id(webhook), webhook.url, webhook.secret, webhook.format, event)
                )
    return found


def backoff(attempts: int, base_s: float, cap_s: float) -> timedelta:
    """Wait before attempt ``attempts + 1``: ``base_s`` doubled per failed attempt, at most ``cap_s``."""
    return timedelta(seconds=min(base_s * 2 ** max(attempts - 1, 0), cap_s))


@dataclass(frozen=True)
class RetryPolicy:
    """Seconds: the first wait, the longest wait, and how long after its event a delivery is tried."""

    base_s: float
    cap_s: float
    retry_for_s: float


def record_result(
    session: Session, delivery_id: int, status: int | None, error: str | None, now: datetime, policy: RetryPolicy
) -> bool:
    """Record an attempt (``status``: the HTTP status, None without an answer): a 2xx delivers it,
    anything else schedules the next attempt, or gives up once the retry period after the event
    has passed. Also the endpoint's last status. Returns whether it was delivered (False, recording
    nothing, when the endpoint was deleted meanwhile). The caller commits."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return False
    event = session.get_one(OutboxEvent, delivery.event_id)
    webhook = session.get_one(Webhook, delivery.webhook_id)
    ok = status is not None and 200 <= status < 300
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = status, None if ok else (error or f"HTTP {status}")[:500]
    webhook.last_attempt_at, webhook.last_status, webhook.last_error = now, status, delivery.last_error
    if ok:
        delivery.status, delivery.delivered_at, webhook.last_success_at = DeliveryStatus.delivered, now, now
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts, policy.base_s, policy.cap_s)
        if delivery.next_attempt_at > event.at + timedelta(seconds=policy.retry_for_s):
            delivery.status = DeliveryStatus.failed
    session.add_all([delivery, webhook])
    return ok


def prune(session: Session, before: datetime) -> None:
    """Forget what is done with: the ended (delivered or given-up) deliveries of events made before
    ``before``, then those events once none of their deliveries is pending. The caller commits."""
    old = select(OutboxEvent.id).where(col(OutboxEvent.at) < before, col(OutboxEvent.fanned_out).is_(True))
    session.execute(
        delete(Delivery).where(col(Delivery.status) != DeliveryStatus.pending, col(Delivery.event_id).in_(old))
    )
    waiting = select(Delivery.event_id).where(Delivery.status == DeliveryStatus.pending)
    session.execute(
        delete(OutboxEvent).where(
            col(OutboxEvent.at) < before, col(OutboxEvent.fanned_out).is_(True), col(OutboxEvent.id).not_in(waiting)
        )
    )


# --- the request ----------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Streetscan-Signature`` value of ``body`` sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def event_json(event: OutboxEvent) -> dict[str, Any]:
    """The JSON form of an event: its id, kind, time (ISO-8601 UTC), case and payload."""
    return {"id": event.id, "event": event.kind.value, "at": event.at.isoformat(), **event.payload}


def markdown(event: OutboxEvent, names: Mapping[str, str], zone: ZoneInfo) -> tuple[str, str]:
    """(title, markdown text) of an event for a chat robot: what happened, to which case, where, when."""
    title = TITLES[event.kind]
    data = event.payload
    lines = [f"### {title}"]
    if event.case_id is not None:
        category = names.get(data["category"], data["category"])
        lines.append(f"> 案件 #{event.case_id} {category}")
        lines.append(f"> 状态：{data['status']}")
        if data.get("lat") is not None:
            lines.append(f"> 位置：{data['lat']:.6f}, {data['lon']:.6f}")
        if data.get("unit"):
            lines.append(f"> 单位：{data['unit']}")
        if data.get("due_at"):
            lines.append(f"> 期限：{datetime.fromisoformat(data['due_at']).astimezone(zone):%Y-%m-%d %H:%M}")
        if data.get("note"):
            lines.append(f"> 备注：{data['note']}")
    else:
        lines.extend(f"> {key}：{value}" for key, value in data.items())
    lines.append(f"> 时间：{event.at.astimezone(zone):%Y-%m-%d %H:%M:%S}")
    return title, "\n".join(lines)


def render(fmt: PayloadFormat, event: OutboxEvent, names: Mapping[str, str], zone: ZoneInfo) -> bytes:
    """The request body of an event in an endpoint's format (``names``: category id -> name)."""
    if fmt == PayloadFormat.json:
        body: dict[str, Any] = event_json(event)
    else:
        title, text = markdown(event, names, zone)
        content = {"content": text} if fmt == PayloadFormat.wecom else {"title": title, "text": text}
        body = {"msgtype": "markdown", "markdown": content}
    return json.dumps(body, ensure_ascii=False).encode()


def target_url(fmt: PayloadFormat, url: str, secret: str, now: datetime) -> str:
    """Where to post: the endpoint's URL, with a DingTalk robot's ``timestamp`` (ms) and ``sign``."""
    if fmt != PayloadFormat.dingtalk:
        return url
    millis = int(now.timestamp() * 1000)
    digest = hmac.new(secret.encode(), f"{millis}\n{secret}".encode(), hashlib.sha256).digest()
    sign_value = quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={millis}&sign={sign_value}"


def request_headers(delivery_id: int, event: OutboxEvent, secret: str, body: bytes, now: datetime) -> dict[str, str]:
    """The headers of one delivery: content type, event kind, delivery id, timestamp and signature."""
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/json; charset=utf-8",
        EVENT_HEADER: event.kind.value,
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
