"""The admin page of webhook endpoints: each endpoint with how its last delivery went."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from service.models.webhooks import EventKind, WebhookCreate
from service.settings import Settings
from service.webhooks import RetryPolicy, due, emit, fan_out, record_result, register
from tests.service.web_client import logged_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No sender in the app: the test makes the delivery attempt itself."""
    return settings.model_copy(update={"webhook_sender": False})


def test_admin_sees_each_endpoint_and_its_last_status(
    client: TestClient, engine: Engine, web_users: dict[str, str]
) -> None:
    at = datetime(2025, 5, 12, 1, 0, tzinfo=UTC)
    with Session(engine) as session:
        register(session, WebhookCreate(name="platform", url="http://127.0.0.1:9/hook", events=[]), at)
        register(session, WebhookCreate(name="chat", url="http://127.0.0.1:9/chat", events=[EventKind.batch_done]), at)
        emit(session, EventKind.case_created, at, {"case_id": 1}, case_id=1)
        session.commit()
        fan_out(session)
        session.commit()
        (outgoing,) = due(session, at)  # the chat endpoint does not take case events
        record_result(session, outgoing.delivery_id, None, "ConnectError: refused", at, RetryPolicy(10, 60, 3600))
        session.commit()
    logged_in(client, web_users["reviewer"])
    assert client.get("/admin/webhooks").status_code == 403
    assert "/admin/webhooks" not in client.get("/review").text
    logged_in(client, web_users["admin"])
    page = client.get("/admin/webhooks").text
    platform = page[page.index('data-webhook="platform"') :].split("</tr>")[0]
    assert "ConnectError: refused" in platform and '<td class="pending">1</td>' in platform
    assert "2025-05-12 09:00:00" in platform  # the last attempt, local time
    chat = page[page.index('data-webhook="chat"') :].split("</tr>")[0]
    assert "batch.done" in chat and '<td class="pending">0</td>' in chat
    legend = page[page.index('class="event-kinds"') :].split("</dl>")[0]
    for kind, name in [("camera.down", "摄像头断流"), ("camera.up", "摄像头恢复"), ("case.overdue", "案件超期未处置")]:
        assert f"<dt><code>{kind}</code></dt><dd>{name}</dd>" in legend
    assert legend.count("<dt>") == len(EventKind)
