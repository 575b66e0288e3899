"""Pages for things that are not there, or not the visitor's: a 404 or 403 page that says why, in the
visitor's language."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.service.web_client import logged_in


@pytest.mark.parametrize(
    ("lang", "unit", "user", "sign", "field"),
    [
        ("zh", "没有该单位", "没有该用户", "没有该招牌", "需要执法队员、调度员或管理员角色"),
        ("en", "no such unit", "no such user", "no such sign", "needs role field_officer, dispatcher or admin"),
    ],
)
def test_missing_things_and_wrong_roles_get_a_page_that_says_why(
    client: TestClient, web_users: dict[str, str], lang: str, unit: str, user: str, sign: str, field: str
) -> None:
    token = logged_in(client, web_users["admin"])
    client.cookies.set("lang", lang)
    form = {"csrf_token": token}
    answers = {
        unit: client.post("/admin/units/999999/disable", data=form),
        user: client.post("/admin/units/1/members", data={**form, "user_id": "999999"}),
        sign: client.get("/signs/999999"),
    }
    for text, response in answers.items():
        assert response.status_code == 404 and text in response.text, (text, response.status_code)
    assert client.post("/admin/units/1/rename", data=form).status_code == 404
    logged_in(client, web_users["reviewer"])
    client.cookies.set("lang", lang)
    refused = client.get("/tasks")
    assert refused.status_code == 403 and field in refused.text
