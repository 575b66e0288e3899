"""The webhook sender: one thread that turns outbox events into deliveries and posts them (see
``service.webhooks``). Everything it knows is in the database, so a restarted server goes on where
the last one stopped. One sender per database (the ``streetscan serve`` that runs it)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from service.categories import category_policies
from service.models.base import utcnow
from service.settings import Settings
from service.webhooks import (
    Outgoing,
    RetryPolicy,
    due,
    fan_out,
    prune,
    record_result,
    render,
    request_headers,
    target_url,
)
from service.writer import Writer

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=1)
"""How often the sender forgets ended deliveries older than ``webhook_keep_days``."""


class WebhookSender:
    """``start`` runs ``send_due`` every ``webhook_poll_s`` seconds on a thread until ``stop``."""

    def __init__(self, engine: Engine, settings: Settings, writer: Writer, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.settings = settings
        self.writer = writer
        self.clock = clock
        self.policy = RetryPolicy(settings.webhook_backoff_s, settings.webhook_backoff_max_s, settings.webhook_retry_s)
        self.names = {cid: p.zh for cid, p in category_policies(settings.taxonomy_path).items()}
        self.zone = ZoneInfo(settings.timezone)
        self.client = httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)
        self._pruned_at: datetime | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.settings.webhook_timeout_s + 5)
        self.client.close()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.webhook_poll_s):
            try:
                self.send_due()
            except Exception:  # a database hiccup must not end the sender: log it, try again next time
                log.exception("webhook sender pass failed")

    def send_due(self) -> int:
        """One pass: forget old deliveries (hourly), fan out new events, then attempt the due
        deliveries in order, skipping the rest of an endpoint after a failure (it is likely down;
        the next pass tries again). Returns how many were delivered."""
        now = self.clock()
        with self.writer, Session(self.engine) as session:
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                prune(session, now - timedelta(days=self.settings.webhook_keep_days))
                self._pruned_at = now
            fan_out(session)
            session.commit()
        with Session(self.engine) as session:
            outgoing = due(session, self.clock())
        failed: set[int] = set()
        delivered = 0
        for item in outgoing:
            if item.webhook_id in failed or self._stop.is_set():
                continue
            status, error = self._post(item)
            with self.writer, Session(self.engine) as session:
                ok = record_result(session, item.delivery_id, status, error, self.clock(), self.policy)
                session.commit()
            delivered += ok
            if not ok:
                failed.add(item.webhook_id)
        return delivered

    def _post(self, item: Outgoing) -> tuple[int | None, str | None]:
        """POST one delivery: (HTTP status, None) or (None, why no answer came)."""
        now = self.clock()
        body = render(item.format, item.event, self.names, self.zone)
        headers = request_headers(item.delivery_id, item.event, item.secret, body, now)
        try:
            url = target_url(item.format, item.url, item.secret, now)
            response = self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None if response.is_success else f"HTTP {response.status_code}"
