"""The case page's corrections: merge (and reverse it), split, reject one sighting, undo; stale pages get
who changed the case, in Chinese."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.service.builders import Auth, obs, post, send
from tests.service.conftest import Clock
from tests.service.web_client import logged_in


def version_of(html: str) -> int:
    return int(re.findall(r'name="version" value="(\d+)"', html)[0])


def test_merge_split_reject_and_undo_from_the_case_page(
    client: TestClient, auth: Auth, web_users: dict[str, str], clock: Clock
) -> None:
    results = send(client, auth, [obs("1"), obs("2", north=3), obs("3", north=30)])["results"]
    a, b = results[0]["case_id"], results[2]["case_id"]  # the first two sightings share case a
    token = logged_in(client, web_users["reviewer"])
    page = client.get(f"/cases/{a}").text
    ids = [int(i) for i in re.findall(r'name="observation_ids" value="(\d+)"', page)]
    assert len(ids) == 2 and 'id="merge-form"' in page and "Z 撤销" in page

    clock.advance(minutes=1)
    split = client.post(
        f"/cases/{a}/split", data={"observation_ids": [str(ids[1])], "version": version_of(page), "csrf_token": token}
    )
    new = int(split.url.path.rsplit("/", 1)[1])
    assert new not in (a, b) and "已拆分" in split.text and "拆分自" in split.text
    nothing = client.post(f"/cases/{a}/split", data={"csrf_token": token})
    assert nothing.status_code == 422 and "请先勾选" in nothing.text

    clock.advance(minutes=1)
    merged = client.post(f"/cases/{new}/merge", data={"into": str(b), "csrf_token": token})
    assert merged.url.path == f"/cases/{b}" and "已合并" in merged.text
    refused = client.post(f"/cases/{new}/merge", data={"into": str(b), "csrf_token": token})
    assert refused.status_code == 409 and f"案件 #{new} 已合并到其他案件" in refused.text
    gone = client.get(f"/cases/{new}").text
    assert "已合并到 #" in gone and "撤销合并" in gone
    back = client.post(f"/cases/{new}/unmerge", data={"csrf_token": token})
    assert back.url.path == f"/cases/{new}" and "已撤销合并" in back.text

    clock.advance(minutes=1)
    page = client.get(f"/cases/{b}").text
    only = int(re.findall(r'name="observation_ids" value="(\d+)"', page)[0])
    last = client.post(f"/cases/{b}/sightings/{only}", data={"rejected": "true", "csrf_token": token})
    assert last.status_code == 409 and "最后一条有效发现记录" in last.text

    clock.advance(minutes=1)
    decided = client.post(f"/cases/{b}/status", data={"status": "confirmed", "csrf_token": token})
    assert "撤销我的上一步操作" in decided.text
    undone = client.post(f"/cases/{b}/undo", data={"version": version_of(decided.text), "csrf_token": token})
    assert "已撤销你的上一步操作" in undone.text and "待审核" in undone.text
    again = client.post(f"/cases/{b}/undo", data={"version": version_of(undone.text), "csrf_token": token})
    assert again.status_code == 409 and "没有可撤销的操作" in again.text


def test_a_stale_page_gets_the_conflict_in_chinese(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    a, b = (r["case_id"] for r in send(client, auth, [obs("1"), obs("2", north=30)])["results"])
    token = logged_in(client, web_users["reviewer"])
    page = client.get(f"/cases/{a}").text
    post(client, auth["admin"], f"/api/cases/{a}/review", {"decision": "confirm"})
    stale = client.post(f"/cases/{a}/merge", data={"into": str(b), "version": version_of(page), "csrf_token": token})
    assert stale.status_code == 409 and "此案件已被 admin-1 于" in stale.text and "处理为 已确认" in stale.text
    assert client.get(f"/api/cases/{b}", headers=auth["reviewer"]).json()["observation_count"] == 1


def test_undo_from_the_queue_and_my_decisions_today(
    client: TestClient, auth: Auth, web_users: dict[str, str], clock: Clock
) -> None:
    a, b = (r["case_id"] for r in send(client, auth, [obs("1"), obs("2", north=30)])["results"])
    token = logged_in(client, web_users["reviewer"])
    headers = {"X-CSRF-Token": token}
    assert "今天还没有操作" in client.get("/review/mine").text

    clock.advance(minutes=1)
    decided = client.post("/review/decide", json={"ids": [a], "decision": "reject"}, headers=headers).json()
    result = decided["results"][0]
    assert result["status"] == "rejected" and decided["waiting"] == 1
    clock.advance(minutes=1)
    client.post("/review/decide", json={"ids": [b], "decision": "confirm"}, headers=headers)

    undone = client.post("/review/undo", json={"id": a, "version": result["version"]}, headers=headers).json()
    assert (undone["status"], undone["error"], undone["waiting"]) == ("new", None, 1)
    again = client.post("/review/undo", json={"id": a, "version": undone["version"]}, headers=headers).json()
    assert again["error"].startswith("没有可撤销的操作")

    mine = client.get("/review/mine").text
    rows = re.findall(r'<td><a href="/cases/(\d+)">', mine)
    assert rows == [str(a), str(b), str(a)]  # newest first: the undo, the confirmation, the rejection
    assert "撤销" in mine and "待审核 → 已驳回" in mine and "待审核 → 已确认" in mine
    logged_in(client, web_users["admin"])
    assert "今天还没有操作" in client.get("/review/mine").text  # only one's own


def test_proposed_merges_show_on_both_cards_and_fill_in_the_merge(
    client: TestClient, auth: Auth, web_users: dict[str, str]
) -> None:
    ad: dict[str, Any] = {"category": "lightbox_ad", "gps_accuracy_m": 1.0}
    left, right = (r["case_id"] for r in send(client, auth, [obs("1", 0, **ad), obs("2", 0, 20, **ad)])["results"])
    send(client, auth, [obs("3", 0, 8, category="lightbox_ad", gps_accuracy_m=12.0)], "video-2")  # in both gates
    token = logged_in(client, web_users["reviewer"])
    queue = client.get("/review").text
    assert f'<a href="/cases/{left}?into={right}">#{right}</a>' in queue
    assert f'<a href="/cases/{right}?into={left}">#{left}</a>' in queue  # either way round
    assert f'id="merge-into" type="number" min="1" required value="{left}"' in client.get(f"/cases/{right}").text
    chosen = client.get(f"/cases/{left}", params={"into": right}).text
    assert f'required value="{right}"' in chosen
    client.post(f"/cases/{right}/merge", data={"into": str(left), "csrf_token": token})
    assert "?into=" not in client.get("/review").text  # a merged case is proposed no more
