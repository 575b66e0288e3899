"""The printable evidence record of a case (``GET /api/cases/{id}/evidence-report``) and share links:
hashes, times and chain positions in Chinese; raw images for reviewers, faces blurred for everyone else."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from service.models.chain import ChainEntry
from service.settings import Settings
from tests.service.builders import Auth, jpeg, obs, post, send, store_image
from tests.service.web_client import logged_in
from vision.privacy_eval import Labelled, load_labelled

FACES = Path(__file__).resolve().parents[2] / "vision" / "data" / "privacy-faces.json"
IMAGE = re.compile(r'<img src="data:image/jpeg;base64,([^"]+)" alt="([^"]+)">')


def images(html: str) -> list[tuple[str, bytes]]:
    """(name, bytes) of every image a report embeds, in order."""
    return [(name, base64.b64decode(data)) for data, name in IMAGE.findall(html)]


def report(client: TestClient, headers: dict[str, str], case_id: int) -> str:
    response = client.get(f"/api/cases/{case_id}/evidence-report", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    return response.text


@pytest.fixture
def case(client: TestClient, auth: Auth) -> dict[str, Any]:
    """A confirmed case of one observation with a crop and a keyframe."""
    crop, keyframe = jpeg(60), jpeg(200, (48, 64))
    keys = [store_image(client, auth, data) for data in (crop, keyframe)]
    (result,) = send(client, auth, [obs("1", crop=keys[0], keyframe=keys[1])])["results"]
    post(client, auth["reviewer"], f"/api/cases/{result['case_id']}/review", {"decision": "confirm", "note": "占道"})
    return {"id": result["case_id"], "keys": keys, "bytes": [crop, keyframe]}


def test_a_reviewer_gets_the_record_with_hashes_times_chain_positions_and_raw_images(
    client: TestClient, auth: Auth, engine: Engine, case: dict[str, Any]
) -> None:
    html = report(client, auth["reviewer"], case["id"])
    with Session(engine) as session:
        chain = list(session.exec(select(ChainEntry).order_by(col(ChainEntry.seq))))
    assert f"案件 {case['id']} 证据记录" in html and "已确认" in html and "流动摊贩" in html
    for key in case["keys"]:
        assert f"SHA-256 {Path(key).stem}" in html
    for entry in chain:
        assert entry.hash in html
    assert f'第 {chain[-1].seq} 条，哈希 <span class="hash">{chain[-1].hash}</span>' in html
    assert "2025-05-12 09:00:00" in html  # the sighting, in Asia/Shanghai time
    assert "审核" in html and "待审核 → 已确认" in html and "reviewer-1" in html and "占道" in html
    assert "不一致" not in html and "缺失" not in html
    assert images(html) == [("截图", case["bytes"][0]), ("关键帧", case["bytes"][1])]


def test_the_record_shows_what_no_longer_matches(
    client: TestClient, auth: Auth, engine: Engine, settings: Settings, case: dict[str, Any]
) -> None:
    crop = settings.evidence_dir / case["keys"][0]
    crop.write_bytes(crop.read_bytes()[:-3] + b"\x00\xff\xd9")
    (settings.evidence_dir / case["keys"][1]).unlink()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE case_events SET note = 'changed' WHERE action = 'review'")
    html = report(client, auth["admin"], case["id"])
    assert "文件已被改动" in html and "文件缺失" in html and "记录与入链时不一致" in html
    assert images(html) == []


def test_other_roles_get_blurred_copies_and_unknown_cases_are_404(
    client: TestClient, auth: Auth, settings: Settings, case: dict[str, Any]
) -> None:
    html = report(client, auth["uploader"], case["id"])
    shown = images(html)
    assert [name for name, _ in shown] == ["截图", "关键帧"]
    assert all(data not in case["bytes"] for _, data in shown)  # copies, made once and kept in the store
    index = sorted((settings.evidence_dir / "blurred").rglob("*.key"))
    assert [p.stem for p in index] == sorted(Path(k).stem for k in case["keys"])
    assert images(report(client, auth["uploader"], case["id"])) == shown
    assert client.get("/api/cases/999/evidence-report", headers=auth["reviewer"]).status_code == 404
    assert client.get(f"/api/cases/{case['id']}/evidence-report").status_code == 401


@pytest.fixture(scope="module")
def team(shared_dir: Path) -> Labelled:
    """A labelled photo of twelve children, faces frontal and sideways."""
    faces = load_labelled(FACES, shared_dir / "datasets" / "coco128" / "images")
    (found,) = [f for f in faces if f.name == "val/000000001000.jpg"]
    return found


def detail(image: np.ndarray, box: np.ndarray) -> float:
    """Variance of the Laplacian (fine detail) of a box of an image."""
    x1, y1, x2, y2 = box.astype(int)
    grey = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def test_a_shared_case_with_people_shows_every_face_blurred(
    client: TestClient, auth: Auth, clock: Any, team: Labelled
) -> None:
    ok, data = cv2.imencode(".jpg", team.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    key = store_image(client, auth, data.tobytes())
    (result,) = send(client, auth, [obs("1", keyframe=key)])["results"]
    link = post(client, auth["reviewer"], f"/api/cases/{result['case_id']}/share", {"days": 1})
    assert link["url"].startswith("/shared/")

    shared = client.get(link["url"])  # no login
    assert shared.status_code == 200 and shared.headers["referrer-policy"] == "no-referrer"
    ((name, blurred),) = images(shared.text)
    assert name == "关键帧"
    out = cv2.imdecode(np.frombuffer(blurred, np.uint8), cv2.IMREAD_COLOR)
    raw = team.image
    assert out is not None and out.shape == raw.shape and len(team.boxes) == 12
    for box in team.boxes:
        assert detail(out, box) < 0.1 * detail(raw, box), box
    assert images(report(client, auth["reviewer"], result["case_id"])) == [("关键帧", data.tobytes())]
    (observation,) = client.get(f"/api/cases/{result['case_id']}", headers=auth["reviewer"]).json()["observations"]
    url = observation["keyframe_url"]
    assert client.get(url, headers=auth["reviewer"]).content == data.tobytes()
    assert client.get(url, headers=auth["uploader"]).content == blurred  # the same cached copy

    clock.advance(days=1, seconds=1)
    assert client.get(link["url"]).status_code == 404
    token = link["url"].removeprefix("/shared/")
    forged = f"{int(token.split('.')[0]) + 1}.{token.split('.', 1)[1]}"
    assert client.get(f"/shared/{forged}").status_code == 404


def test_only_reviewers_make_share_links(client: TestClient, auth: Auth, case: dict[str, Any]) -> None:
    response = client.post(f"/api/cases/{case['id']}/share", json={}, headers=auth["uploader"])
    assert response.status_code == 403
    response = client.post("/api/cases/999/share", json={}, headers=auth["reviewer"])
    assert response.status_code == 404
    response = client.post(f"/api/cases/{case['id']}/share", json={"days": 1000}, headers=auth["reviewer"])
    assert response.status_code == 422
    assert json.loads(response.text)["detail"]


def test_the_case_page_links_the_record_and_makes_share_links(
    client: TestClient, auth: Auth, web_users: dict[str, str], case: dict[str, Any]
) -> None:
    assert client.get(f"/cases/{case['id']}/evidence-report", follow_redirects=False).status_code == 303
    csrf = logged_in(client, web_users["reviewer"])
    page = client.get(f"/cases/{case['id']}").text
    assert f'href="/cases/{case["id"]}/evidence-report"' in page and "生成分享链接" in page
    printed = client.get(f"/cases/{case['id']}/evidence-report")
    assert printed.status_code == 200 and images(printed.text)[0] == ("截图", case["bytes"][0])
    made = client.post(f"/cases/{case['id']}/share", data={"csrf_token": csrf})
    assert made.status_code == 200
    (link,) = re.findall(r'class="share-link" readonly value="http://testserver(/shared/[^"]+)"', made.text)
    client.cookies.clear()
    shared = client.get(link)
    assert shared.status_code == 200 and [name for name, _ in images(shared.text)] == ["截图", "关键帧"]
    assert images(shared.text)[0][1] != case["bytes"][0]
