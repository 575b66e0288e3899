"""Field pages: a field officer logs in to their unit's tasks and records a disposal with an
after-photo from the phone form; another unit's officer cannot."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from service.auth.users import create_user
from service.models.users import Role
from tests.service.api.test_operations import STREET, confirmed_case, units
from tests.service.builders import Auth, jpeg, post
from tests.service.web_client import PASSWORD, csrf_of, login


def officer(client: TestClient, engine: Engine, auth: Auth, name: str, unit_key: str) -> None:
    """A field officer with a web password, in the unit ``unit_key``."""
    with Session(engine) as session:
        user, _ = create_user(session, name, Role.field_officer, PASSWORD)
        user_id = user.id
    post(client, auth["admin"], f"/api/units/{units(client, auth)[unit_key]['id']}/members", {"user_id": user_id})


def test_a_field_officer_records_a_disposal_on_the_phone_form(
    client: TestClient, auth: Auth, engine: Engine, clock: Any
) -> None:
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [STREET]})
    case_id = confirmed_case(client, auth)
    post(client, auth["dispatcher"], f"/api/cases/{case_id}/dispatch", {})
    officer(client, engine, auth, "chen", "brigade-1")
    officer(client, engine, auth, "zhou", "brigade-2")

    landed = login(client, "zhou")
    assert landed.headers["location"] == "/tasks"  # not the review queue
    other = client.get("/tasks").text
    assert "本单位暂无待处置案件" in other and "审核队列" not in other  # no review pages in its menu
    assert client.get(f"/tasks/{case_id}").status_code == 403
    assert client.get("/review").status_code == 403
    token = csrf_of(other)
    refused = client.post(f"/tasks/{case_id}/disposal", data={"kind": "persuaded", "csrf_token": token})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/tasks", follow_redirects=False).status_code == 303  # logged out

    client.cookies.clear()
    login(client, "chen")
    tasks = client.get("/tasks").text
    assert f'data-case="{case_id}"' in tasks and "第一执法大队" in tasks
    form = client.get(f"/tasks/{case_id}").text
    assert 'capture="environment"' in form
    token = csrf_of(form)
    unfined = client.post(f"/tasks/{case_id}/disposal", data={"kind": "fined", "csrf_token": token})
    assert unfined.status_code == 422 and "fine_yuan" in unfined.text
    done = client.post(
        f"/tasks/{case_id}/disposal",
        data={"kind": "fined", "fine_yuan": "200", "note": "占道经营", "csrf_token": token},
        files={"photo": ("after.jpg", jpeg(), "image/jpeg")},
    )
    assert done.url.path == "/tasks" and "处置已记录" in done.text and f'data-case="{case_id}"' not in done.text
    case = client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()
    last = case["events"][-1]
    assert (case["status"], last["action"], last["user"]) == ("resolved", "disposal", "chen")
    assert last["detail"]["fine_yuan"] == 200.0 and last["detail"]["photo"].endswith(".jpg")


def sheet_ids(data: bytes) -> list[int]:
    """The case ids of a dispatch sheet's XLSX (under its title line and header)."""
    rows = list(openpyxl.load_workbook(io.BytesIO(data), read_only=True)["派单表"].iter_rows(values_only=True))
    return [int(str(row[1])) for row in rows[2:]]


def test_the_tasks_page_links_each_unit_s_dispatch_sheet(client: TestClient, auth: Auth, engine: Engine) -> None:
    post(client, auth["admin"], "/api/hotspots/import", {"type": "FeatureCollection", "features": [STREET]})
    brigades = units(client, auth)
    first, second = brigades["brigade-1"]["id"], brigades["brigade-2"]["id"]
    mine = confirmed_case(client, auth)
    theirs = confirmed_case(client, auth, "2", north=800)
    post(client, auth["dispatcher"], f"/api/cases/{mine}/dispatch", {"unit_id": first})
    post(client, auth["dispatcher"], f"/api/cases/{theirs}/dispatch", {"unit_id": second})
    officer(client, engine, auth, "chen", "brigade-1")
    login(client, "chen")
    page = client.get("/tasks").text
    links = page[page.index('class="dispatch-sheets"') :].split("</ul>")[0]
    assert f'href="/tasks/dispatch-sheet.xlsx?unit={first}"' in links and f"unit={second}" not in links
    assert "派单表 · 第一执法大队" in links
    download = client.get(f"/tasks/dispatch-sheet.xlsx?unit={first}")
    assert download.status_code == 200 and download.headers["content-disposition"].startswith("attachment")
    assert sheet_ids(download.content) == [mine]
    csv_text = client.get(f"/tasks/dispatch-sheet.csv?unit={first}").content.decode("utf-8-sig")
    assert csv_text.startswith("序号,案件编号,类别") and f"\n1,{mine}," in csv_text
    assert client.get(f"/tasks/dispatch-sheet.xlsx?unit={second}").status_code == 403  # another unit's
    assert client.get(f"/tasks/dispatch-sheet.pdf?unit={first}").status_code == 404
    assert client.get("/tasks/dispatch-sheet.xlsx?unit=999999").status_code == 404
