"""Evidence that can be judged: the keyframe with the observation's box drawn on it, and the card naming
every sighting's image for the viewer."""

from __future__ import annotations

import re

import cv2
import numpy as np
from fastapi.testclient import TestClient

from tests.service.builders import Auth, jpeg, obs, send, store_image
from tests.service.integrations.test_dataset_export import frame
from tests.service.web_client import logged_in


def test_the_keyframe_comes_with_its_box_drawn(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    keyframe = store_image(client, auth, frame(60), "image/png")  # 320 x 240, grey 60
    crop = store_image(client, auth, jpeg())
    items = [
        obs("1", keyframe=keyframe, crop=crop, bbox=[40, 100, 120, 180], confidence=0.9),
        obs("2", north=3, crop=crop),
    ]
    case_id = send(client, auth, items)["results"][0]["case_id"]
    detail = client.get(f"/api/cases/{case_id}", headers=auth["reviewer"]).json()
    first, second = (o["id"] for o in detail["observations"])
    logged_in(client, web_users["reviewer"])

    response = client.get(f"/evidence/{first}/boxed")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (240, 320, 3)
    b, g, r = (int(v) for v in image[140, 40])  # on the box's left edge: red
    assert r > 180 and g < 90 and b < 90
    assert abs(int(image[140, 80, 2]) - 60) <= 6  # inside the box: the scene as it was
    assert client.get(f"/evidence/{second}/boxed").status_code == 404  # no keyframe

    card = client.get("/review").text
    views = re.findall(r'data-views="([^"]*)"', card)
    assert views == [f"{first}/boxed,{second}/crop"]
    assert f'src="/evidence/{first}/boxed"' in card
    case_page = client.get(f"/cases/{case_id}").text
    assert case_page.count('class="keyframe zoom"') == 1 and case_page.count('class="crop zoom"') == 2
    assert 'id="viewer"' in case_page
    client.cookies.clear()
    assert client.get(f"/evidence/{first}/boxed").status_code == 401
