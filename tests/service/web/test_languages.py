"""One language per page: every page, notice, refusal and toast a reviewer or admin can see, rendered in
Chinese and in English, holds no text of the other language (names of people, sources and tracks aside)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from service.operations import load_plan
from service.settings import Settings
from tests.service.builders import Auth, obs, post, send
from tests.service.conftest import Clock
from tests.service.places import point
from tests.service.web_client import logged_in

CATALOG = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "m",
            "geometry": point(0, 20),
            "properties": {"name": "Market", "kind": "road_market", "batch": 1},
        },
    ],
}
DATA = {
    "video-1",
    "video-2",
    "Market",
    "wang-reviewer",
    "li-admin",
    "zhao-uploader",
    "admin-1",
    "reviewer-1",
    "uploader-1",
    "dispatcher-1",
    "field_officer-1",
    "parking",
}
"""Names the test gives people, sources and places: data, in no language."""
DATA |= {str(unit["name"]) for unit in load_plan(Settings().operations_file).units}
"""The seeded units' names (a plan's unit picker lists them) are data too."""
KEYS = {"Y", "N", "J", "K", "X", "Z", "R", "S", "M", "L", "A", "Esc", "Enter", "Shift", "EN", "API", "CSV", "XLSX"}
"""Key names, file formats and the language switch's own label, the same on both pages."""
_HIDDEN = re.compile(r"<(script|style|code)\b.*?</\1>", re.S)
"""Scripts, styles and identifiers (unit keys, API paths) are no one's language."""
_ATTR = re.compile(r'\b(?:alt|title|aria-label|placeholder|data-saved|data-failed|data-undone)="([^"]*)"')
_TAG = re.compile(r"<[^>]+>")


def shown_text(response: Response) -> str:
    """What a reader gets of a page (its text and its alt, title and label attributes, toast labels
    included) or of a decision's answer (its errors, shown in a toast), without the test's names."""
    if "html" in response.headers["content-type"]:
        page = _HIDDEN.sub(" ", response.text)
        shown = html.unescape(" ".join([_TAG.sub(" ", page), *_ATTR.findall(page)]))
    else:
        answer = response.json()
        shown = " ".join(r["error"] for r in answer.get("results", [answer]) if r["error"])
        assert shown, answer
    for name in DATA:
        shown = shown.replace(name, " ")
    return shown


def foreign(text: str, lang: str) -> list[str]:
    """Words of the other language in ``text``: Latin words on a Chinese page, Chinese on an English one
    (the link to the Chinese interface aside)."""
    if lang == "zh":
        return sorted({w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", text) if w not in KEYS})
    return sorted(set(re.findall(r"[\u4e00-\u9fff]+", text.replace("中文", ""))))


@pytest.fixture
def scene(client: TestClient, auth: Auth, web_users: dict[str, str], clock: Clock) -> dict[str, int]:
    """Cases that went through every kind of decision, so every audit line and notice can show."""
    post(client, auth["admin"], "/api/hotspots/import", CATALOG)
    results = send(client, auth, [obs("1"), obs("2", north=3), obs("3", north=30), obs("4", north=400)])["results"]
    a, b, c = results[0]["case_id"], results[2]["case_id"], results[3]["case_id"]
    reviewer = auth["reviewer"]
    clock.advance(minutes=1)
    ids = [o["id"] for o in client.get(f"/api/cases/{a}", headers=reviewer).json()["observations"]]
    new = post(client, reviewer, f"/api/cases/{a}/split", {"observation_ids": [ids[1]]})["split"]["id"]
    post(client, reviewer, f"/api/cases/{new}/merge", {"into": b})
    post(client, reviewer, f"/api/cases/{b}/sightings/{ids[1]}", {"rejected": True})
    clock.advance(minutes=1)
    decided = post(client, reviewer, f"/api/cases/{c}/review", {"decision": "reject", "category": "goods_spill"})
    post(client, reviewer, f"/api/cases/{c}/undo", {"version": decided["version"]})
    post(client, reviewer, f"/api/cases/{c}/review", {"decision": "confirm"})
    return {"a": a, "b": b, "c": c, "merged": new}


def pages(
    client: TestClient, web_users: dict[str, str], scene: dict[str, int], lang: str
) -> Iterator[tuple[str, Response]]:
    """Every page, notice and refusal in ``lang``: (what, response)."""
    token = logged_in(client, web_users["admin"])
    client.cookies.set("lang", lang)
    for path in (
        "/review",
        "/review?status=rejected",
        "/review/mine",
        "/hotspots",
        "/admin/users",
        "/cases/999999",
        "/rechecks",
        "/signs",
        "/tasks",
        "/operations",
        "/admin/units",
        "/admin/webhooks",
    ):
        yield path, client.get(path)
    if lang == "zh":  # the weekly report is the bureau's document to the leading group, in Chinese only
        yield "/reports/weekly", client.get("/reports/weekly")
    hotspot = client.get("/api/hotspots").json()["features"][0]["properties"]["hotspot_id"]
    yield "hotspot", client.get(f"/hotspots/{hotspot}")
    yield "bad plan", client.post(f"/hotspots/{hotspot}/plan", data={"csrf_token": token, "title": ["x"], "due": [""]})
    yield "plan saved", client.get(f"/hotspots/{hotspot}?notice=plan_saved")
    yield "calendar", client.get("/admin/calendar?notice=calendar_saved")
    yield "bad calendar", client.post("/admin/calendar", data={"csrf_token": token, "name": ["x"], "start": [""]})
    for name, case_id in scene.items():
        yield f"case {name}", client.get(f"/cases/{case_id}")
    for notice in ("status", "merged", "split", "undone", "transition", "assigned"):
        yield f"notice {notice}", client.get(f"/cases/{scene['a']}?notice={notice}")
    form = {"csrf_token": token}
    yield "transition", client.post(f"/cases/{scene['c']}/status", data={**form, "status": "closed"})
    yield "refused merge", client.post(f"/cases/{scene['merged']}/merge", data={**form, "into": str(scene["b"])})
    yield "stale", client.post(f"/cases/{scene['a']}/merge", data={**form, "into": str(scene["b"]), "version": "1"})
    yield "nothing to undo", client.post(f"/cases/{scene['a']}/undo", data={**form, "version": "99"})
    yield "taken name", client.post("/admin/users", data={**form, "name": web_users["reviewer"], "role": "reviewer"})
    yield (
        "bad user",
        client.post("/admin/users", data={**form, "name": "newbie", "role": "reviewer", "password": "short"}),
    )
    headers = {"X-CSRF-Token": token}
    decide: Callable[..., Response] = lambda **body: client.post("/review/decide", json=body, headers=headers)  # noqa: E731
    yield "toast", decide(ids=[scene["c"], 999999], decision="confirm")
    yield "toast category", decide(ids=[scene["a"]], decision="confirm", category="parking")
    yield "toast undo", client.post("/review/undo", json={"id": scene["a"], "version": 1}, headers=headers)
    logged_in(client, web_users["reviewer"])
    client.cookies.set("lang", lang)
    yield "admin only", client.get("/admin/users")
    client.cookies.clear()
    client.cookies.set("lang", lang)
    yield "login", client.get("/login")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_and_toast_speaks_one_language(
    client: TestClient, web_users: dict[str, str], scene: dict[str, int], lang: str
) -> None:
    found = {}
    for what, response in pages(client, web_users, scene, lang):
        words = foreign(shown_text(response), lang)
        if words:
            found[what] = words
    assert not found, "\n".join(f"{what}: {words}" for what, words in found.items())
