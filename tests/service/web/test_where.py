"""Where exactly: the position along a street ("泽州路 · 距西端 340 m"), the source and time that saw the
case, and the route of the patrol pass that saw it on the case map."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from service.geometry import along_m
from service.patrols import Route, record_pass
from tests.service.builders import Auth, obs, post, send
from tests.service.places import line, offset
from tests.service.web_client import logged_in


def lonlat(north: float, east: float) -> list[float]:
    lat, lon = offset(north, east)
    return [lon, lat]


@pytest.mark.parametrize(
    "coords,north,east,expected",
    [
        ([(0, -300), (0, 300)], 5, 40, (340, "west")),  # drawn west to east
        ([(0, 300), (0, -300)], -5, 40, (340, "west")),  # drawn east to west: still from the west end
        ([(0, -300), (0, 0), (100, 100)], 0, 50, (335, "west")),  # a bend: nearest on the second stretch
        ([(300, 0), (-300, 0)], 100, 3, (400, "south")),  # north-south: from the south end
        ([(0, -300), (0, 300)], 0, -500, (0, "west")),  # beyond the west end
    ],
)
def test_position_along_a_line(
    coords: list[tuple[float, float]], north: float, east: float, expected: tuple[float, str]
) -> None:
    metres, end = along_m(*offset(north, east), [lonlat(n, e) for n, e in coords])
    assert (round(metres), end) == pytest.approx(expected, abs=1)


def test_card_and_case_page_say_where_along_the_street_and_who_saw_it_when(
    client: TestClient, auth: Auth, web_users: dict[str, str], engine: Engine
) -> None:
    street = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "z",
                "geometry": line((0, -300), (0, 300)),
                "properties": {"name": "泽州路", "kind": "strict_street"},
            }
        ],
    }
    post(client, auth["admin"], "/api/hotspots/import", street)
    item = obs("1", north=4, east=40, observed_at="2025-05-12T01:00:00Z")
    case_id = send(client, auth, [item], source="patrol-0512")["results"][0]["case_id"]
    logged_in(client, web_users["reviewer"])

    card = client.get("/review").text
    assert "泽州路 · 距西端 340 m" in card and "来源 patrol-0512 · 05-12 09:00" in card
    page = client.get(f"/cases/{case_id}").text
    assert "泽州路 · 距西端 340 m" in page
    assert 'class="track"' not in page  # no pass recorded for the source yet

    t = np.arange(61, dtype=np.float64) + 1747011600.0
    lat = np.full(61, offset(-5, 0)[0])
    lon = np.array([offset(-5, e)[1] for e in np.linspace(-300, 300, 61)])
    with Session(engine) as session:
        record_pass(session, "patrol-0512", Route(t, lat, lon, "right"))
        record_pass(session, "another-drive", Route(t, lat + 0.001, lon, "right"))
        session.commit()
    page = client.get(f"/cases/{case_id}").text
    assert page.count('<path class="track"') == 1 and "巡查轨迹 patrol-0512" in page
    client.cookies.set("lang", "en")
    assert "泽州路 · 340 m from the west end" in client.get("/review").text
