"""Webhooks end to end: the served app posts every event once, signed, to a receiver on loopback;
a receiver that is down for a while loses nothing and gets each case's events in order; the
outbox lives in the database, so a server restarted mid-retry goes on where it stopped."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from service.app import create_app
from service.models.webhooks import Delivery, DeliveryStatus, EventKind, OutboxEvent, PayloadFormat, WebhookCreate
from service.settings import Settings
from service.webhooks import RetryPolicy, due, emit, fan_out, prune, record_result, render, target_url, webhook_views
from service.webhooks import register as register_webhook
from tests.e2e.processes import free_port
from tests.service.builders import Auth, obs, send
from tests.service.live_server import serving

SECRET = "receiver-shared-secret-0123456789"


@dataclass
class Received:
    """One request the receiver took: its headers (lower-case names) and JSON body."""

    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    path: str


@dataclass
class Receiver:
    """An HTTP receiver on a fixed loopback port that can be down (nothing listens) and up again."""

    port: int
    got: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.got.append(Received(headers, json.loads(raw), raw, self.path))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Received]:
        """The requests once ``count`` have come (and a moment more, to catch any extra one)."""
        deadline = time.monotonic() + timeout_s
        while len(self.got) < count:
            assert time.monotonic() < deadline, f"{len(self.got)} of {count} deliveries came"
            time.sleep(0.05)
        time.sleep(0.5)
        return list(self.got)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(free_port())
    yield found
    found.down()


def verified(request: Received, secret: str = SECRET) -> dict[str, Any]:
    """The body of a delivery whose signature checks out and whose timestamp is fresh (no replay)."""
    timestamp = request.headers["x-streetscan-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.raw, hashlib.sha256).hexdigest()
    assert request.headers["x-streetscan-signature"] == f"sha256={expected}"
    assert abs(time.time() - int(timestamp)) < 300
    assert request.headers["x-streetscan-event"] in set(EventKind)
    return request.body


def live_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        hotspot_catalog=None,
        workers=0,
        camera_supervisor=False,
        webhook_poll_s=0.05,
        webhook_backoff_s=0.1,
        webhook_backoff_max_s=0.4,
    )


@contextmanager
def live(database_url: str, data_dir: Path) -> Iterator[httpx.Client]:
    with serving(create_app(live_settings(database_url, data_dir))) as url, httpx.Client(base_url=url) as client:
        yield client


def register(client: httpx.Client, auth: Auth, url: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "city-platform", "url": url, "secret": SECRET, **fields}
    response = client.post("/api/webhooks", json=body, headers=auth["admin"])
    assert response.status_code == 201, response.text
    return response.json()


def decide(client: httpx.Client, auth: Auth, case_id: int, path: str, body: dict[str, Any]) -> int:
    return client.post(f"/api/cases/{case_id}/{path}", json=body, headers=auth["reviewer"]).status_code


def life_of_two_cases(client: httpx.Client, auth: Auth) -> tuple[int, int]:
    """Case a: created, confirmed, dispatched; case b: created. (A refused transition adds nothing.)"""
    a, b = (r["case_id"] for r in send(client, auth, [obs("1"), obs("2", north=300)])["results"])
    assert decide(client, auth, a, "review", {"decision": "confirm"}) == 200
    assert decide(client, auth, b, "status", {"status": "resolved"}) == 409  # new -> resolved is not allowed
    assert decide(client, auth, a, "status", {"status": "dispatched", "note": "城管一中队"}) == 200
    return a, b


EXPECTED = {
    "a": [("case.created", "new"), ("case.confirmed", "confirmed"), ("case.status", "dispatched")],
    "b": [("case.created", "new")],
}


def by_case(bodies: list[dict[str, Any]], a: int, b: int) -> dict[str, list[tuple[str, str]]]:
    return {
        name: [(x["event"], x["status"]) for x in bodies if x["case_id"] == cid] for name, cid in (("a", a), ("b", b))
    }


def test_every_event_once_signed(
    database_url: str, engine: Engine, tmp_path: Path, auth: Auth, receiver: Receiver
) -> None:
    receiver.up()
    with live(database_url, tmp_path) as client:
        register(client, auth, receiver.url)
        register(client, auth, f"{receiver.url}?robot=wecom", name="chat", events=["case.confirmed"], format="wecom")
        a, b = life_of_two_cases(client, auth)
        got = receiver.wait_for(5)
        hooks = {h["name"]: h for h in client.get("/api/webhooks", headers=auth["admin"]).json()}
        assert client.get("/api/webhooks", headers=auth["reviewer"]).status_code == 403
    assert len(got) == 5
    plain = [verified(r) for r in got if r.path == "/hook"]
    assert by_case(plain, a, b) == EXPECTED
    assert len({r.headers["x-streetscan-delivery"] for r in got}) == 5 and len({x["id"] for x in plain}) == 4
    created, _, dispatched = [x for x in plain if x["case_id"] == a]
    assert created["lat"] is not None and (dispatched["note"], dispatched["from_status"]) == ("城管一中队", "confirmed")
    (chat,) = [r for r in got if r.path != "/hook"]
    assert verified(chat)["msgtype"] == "markdown"
    assert f"案件 #{a} 流动摊贩/占道经营" in chat.body["markdown"]["content"]
    assert hooks["city-platform"]["last_status"] == 204 and hooks["city-platform"]["pending"] == 0
    assert hooks["chat"]["events"] == ["case.confirmed"] and "secret" not in hooks["chat"]


def test_receiver_down_then_up(
    database_url: str, engine: Engine, tmp_path: Path, auth: Auth, receiver: Receiver
) -> None:
    other = Receiver(free_port())  # another endpoint, up all along: the down one holds nothing of its up
    other.up()
    try:
        with live(database_url, tmp_path) as client:
            register(client, auth, receiver.url)
            register(client, auth, other.url, name="other")
            a, b = life_of_two_cases(client, auth)
            assert by_case([verified(r) for r in other.wait_for(4)], a, b) == EXPECTED
            time.sleep(1.0)  # several failed attempts while nothing listens
            hook = {h["name"]: h for h in client.get("/api/webhooks", headers=auth["admin"]).json()}["city-platform"]
            assert hook["last_status"] is None and "ConnectError" in hook["last_error"] and hook["pending"] == 4
            assert receiver.got == []
            receiver.up()
            got = receiver.wait_for(4)
            hook = {h["name"]: h for h in client.get("/api/webhooks", headers=auth["admin"]).json()}["city-platform"]
    finally:
        other.down()
    assert by_case([verified(r) for r in got], a, b) == EXPECTED  # each once, each case in order
    assert hook["pending"] == 0 and hook["last_status"] == 204 and hook["last_error"] is None
    assert len(other.got) == 4


def test_restart_mid_retry_loses_nothing(
    database_url: str, engine: Engine, tmp_path: Path, auth: Auth, receiver: Receiver
) -> None:
    with live(database_url, tmp_path) as client:
        register(client, auth, receiver.url)
        a, b = life_of_two_cases(client, auth)
        time.sleep(1.0)
        (hook,) = client.get("/api/webhooks", headers=auth["admin"]).json()
        assert hook["pending"] == 4 and hook["last_error"]
    receiver.up()  # the server is stopped: nothing comes
    time.sleep(0.5)
    assert receiver.got == []
    with live(database_url, tmp_path):  # a new server on the same database
        got = receiver.wait_for(4)
    assert by_case([verified(r) for r in got], a, b) == EXPECTED


def test_outbox_is_part_of_the_transaction(engine: Engine, auth: Auth) -> None:
    at = datetime(2025, 5, 12, 1, 0, tzinfo=UTC)
    with Session(engine) as session:
        emit(session, EventKind.batch_done, at, {"batch_id": 1})
        session.rollback()
        emit(session, EventKind.batch_done, at, {"batch_id": 2})
        session.commit()
        kept = session.exec(select(OutboxEvent.payload)).all()
    assert kept == [{"batch_id": 2}]


def test_chat_robot_formats() -> None:
    at = datetime(2025, 5, 12, 1, 0, tzinfo=UTC)
    payload = {"case_id": 7, "category": "goods_spill", "status": "confirmed", "lat": 35.5, "lon": 112.8, "note": None}
    event = OutboxEvent(id=3, kind=EventKind.case_confirmed, case_id=7, at=at, payload=payload)
    zone = ZoneInfo("Asia/Shanghai")
    plain = json.loads(render(PayloadFormat.json, event, {}, zone))
    assert plain == {"id": 3, "event": "case.confirmed", "at": "2025-05-12T01:00:00+00:00", **payload}
    ding = json.loads(render(PayloadFormat.dingtalk, event, {"goods_spill": "店外经营"}, zone))
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"] == "案件已确认"
    assert "> 案件 #7 店外经营" in ding["markdown"]["text"] and "2025-05-12 09:00:00" in ding["markdown"]["text"]
    url = target_url(PayloadFormat.dingtalk, "https://robot.example/send?access_token=t", "SEC1", at)
    query = parse_qs(urlsplit(url).query)
    millis = query["timestamp"][0]
    expected = hmac.new(b"SEC1", f"{millis}\nSEC1".encode(), hashlib.sha256).digest()
    assert query["access_token"] == ["t"] and base64.b64decode(query["sign"][0]) == expected
    assert target_url(PayloadFormat.wecom, "https://robot.example/x", "s", at) == "https://robot.example/x"


def test_retries_back_off_then_give_up_after_the_retry_period(engine: Engine) -> None:
    t0 = datetime(2025, 5, 12, 1, 0, tzinfo=UTC)
    policy = RetryPolicy(base_s=60, cap_s=600, retry_for_s=1800)
    with Session(engine) as session:
        register_webhook(session, WebhookCreate(name="p", url="http://127.0.0.1:9/", events=[]), t0)
        emit(session, EventKind.case_created, t0, {"case_id": 1}, case_id=1)
        emit(session, EventKind.case_confirmed, t0, {"case_id": 1}, case_id=1)
        session.commit()
        fan_out(session)
        session.commit()
        now, waits = t0, []
        while True:
            ready = due(session, now)
            assert [r.event.kind for r in ready] == [EventKind.case_created, EventKind.case_confirmed]  # in order
            record_result(session, ready[0].delivery_id, 503, None, now, policy)  # the sender stops there
            session.commit()
            first = session.get_one(Delivery, ready[0].delivery_id)
            if first.status == DeliveryStatus.failed:
                break
            assert due(session, now) == []  # the confirmation waits behind the created event
            waits.append((first.next_attempt_at - now).total_seconds())
            now = first.next_attempt_at
        assert waits == [60, 120, 240, 480, 600]  # doubling up to the cap; the next would pass 30 minutes
        (view,) = webhook_views(session)
        assert (view.failed, view.pending, view.last_status, view.last_error) == (1, 1, 503, "HTTP 503")
        (next_one,) = due(session, now)  # given up: it no longer holds the case's next event
        assert next_one.event.kind == EventKind.case_confirmed


def test_prune_forgets_only_what_is_done_with(engine: Engine) -> None:
    t0 = datetime(2025, 5, 12, 1, 0, tzinfo=UTC)
    with Session(engine) as session:
        register_webhook(session, WebhookCreate(name="p", url="http://127.0.0.1:9/", events=[]), t0)
        for case_id in (1, 2, 3):
            emit(session, EventKind.case_created, t0, {"case_id": case_id}, case_id=case_id)
        emit(session, EventKind.case_created, t0 + timedelta(days=2), {"case_id": 4}, case_id=4)
        session.commit()
        fan_out(session)
        session.commit()
        first, second, *_ = due(session, t0)
        policy = RetryPolicy(60, 60, 60)
        record_result(session, first.delivery_id, 204, None, t0, policy)  # delivered
        record_result(session, second.delivery_id, 500, None, t0 + timedelta(seconds=30), policy)  # given up
        session.commit()
        prune(session, t0 + timedelta(days=1))
        session.commit()
        left = session.exec(select(OutboxEvent.case_id).order_by(col(OutboxEvent.id))).all()
        deliveries = session.exec(select(Delivery.case_id).order_by(col(Delivery.id))).all()
    assert left == [3, 4] and deliveries == [3, 4]  # case 3's is still pending; case 4's is recent


def test_endpoints_take_camera_and_overdue_events_by_their_filter(engine: Engine) -> None:
    t0 = datetime(2025, 5, 12, 1, 0, tzinfo=UTC)
    with Session(engine) as session:
        wanted = [EventKind.camera_down, EventKind.camera_up, EventKind.case_overdue]
        register_webhook(session, WebhookCreate(name="ops", url="http://127.0.0.1:9/", events=wanted), t0)
        batches = WebhookCreate(name="batches", url="http://127.0.0.1:9/b", events=[EventKind.batch_done])
        register_webhook(session, batches, t0)
        camera = {"camera_id": 4, "camera": "东门", "lat": 35.5, "lon": 112.8, "down_since": t0.isoformat()}
        emit(session, EventKind.camera_down, t0, {**camera, "error": "connection refused"})
        emit(session, EventKind.case_created, t0, {"case_id": 1}, case_id=1)
        overdue = {"case_id": 1, "category": "goods_spill", "status": "dispatched", "lat": 35.5, "lon": 112.8}
        due_at = (t0 - timedelta(hours=1)).isoformat()
        emit(
            session, EventKind.case_overdue, t0, {**overdue, "note": None, "unit": "第一执法大队", "due_at": due_at}, 1
        )
        emit(session, EventKind.camera_up, t0, {**camera, "error": None})
        emit(session, EventKind.batch_done, t0, {"batch_id": 9})
        session.commit()
        fan_out(session)
        session.commit()
        sent = {(o.webhook_id, o.event.kind) for o in due(session, t0)}
        events = {o.event.kind: o.event for o in due(session, t0)}
    assert {kind for _, kind in sent} == {*wanted, EventKind.batch_done} and len(sent) == 4
    zone = ZoneInfo("Asia/Shanghai")
    down = json.loads(render(PayloadFormat.wecom, events[EventKind.camera_down], {}, zone))["markdown"]["content"]
    assert down.startswith("### 摄像头断流") and "> camera：东门" in down and "connection refused" in down
    late = render(PayloadFormat.dingtalk, events[EventKind.case_overdue], {"goods_spill": "店外经营"}, zone)
    text = json.loads(late)["markdown"]["text"]
    assert "### 案件超期未处置" in text and "> 单位：第一执法大队" in text and "> 期限：2025-05-12 08:00" in text
