"""The basemap setting: none by default (a plain canvas with a scale bar); a tile server's XYZ tiles
under every map when configured, each where its corners fall, allowed by the page's CSP."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.app import create_app
from service.settings import Settings
from service.web.maps import MAX_TILES, Projection, _tile_index, basemap_tiles, load_roads
from tests.service.builders import Auth, post
from tests.service.conftest import Clock
from tests.service.places import ORIGIN, line, point
from tests.service.web_client import logged_in

TILES = "https://tiles.example.cn/map/{z}/{x}/{y}.png"
MARKET = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "id": "m", "geometry": point(0, 0), "properties": {"name": "M", "kind": "public_place"}}
    ],
}


@pytest.mark.parametrize("radius_m", [150.0, 600.0, 5000.0])
def test_tiles_cover_the_view_at_the_zoom_of_its_pixels(radius_m: float) -> None:
    view = Projection.around(*ORIGIN, radius_m, 960, 600)
    tiles = basemap_tiles(view, TILES)
    assert 0 < len(tiles) <= MAX_TILES
    assert min(t.x for t in tiles) <= 0 and min(t.y for t in tiles) <= 0
    assert max(t.x + t.width for t in tiles) >= 960 and max(t.y + t.height for t in tiles) >= 600
    zoom = int(tiles[0].href.split("/")[-3])
    assert all(t.href.startswith(f"https://tiles.example.cn/map/{zoom}/") for t in tiles)
    # the tile holding the origin is drawn where the origin is
    x, y = _tile_index(*ORIGIN, zoom)
    held = next(t for t in tiles if t.href.endswith(f"/{zoom}/{x}/{y}.png"))
    cx, cy = view.xy(*ORIGIN)
    assert held.x <= cx <= held.x + held.width and held.y <= cy <= held.y + held.height
    if radius_m == 600.0:
        assert 181 <= held.width <= 362  # a tile's pixels within a factor of √2 of map units


@pytest.mark.parametrize(
    "bad", ["ftp://tiles.example/{z}/{x}/{y}.png", "https://tiles.example/{z}/{x}.png", "/tiles/{z}/{x}/{y}"]
)
def test_a_bad_tile_url_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        Settings(basemap_tiles=bad)


@pytest.fixture
def tiled(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"basemap_tiles": TILES}), clock)) as test_client:
        yield test_client


def test_plain_canvas_by_default(client: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    hotspot = post(client, auth["admin"], "/api/hotspots/import", MARKET)["hotspots"][0]["id"]
    logged_in(client, web_users["admin"])
    page = client.get("/hotspots")
    assert 'class="map-bg"' in page.text and 'class="scale"' in page.text and "<image" not in page.text
    assert "img-src 'self' data:;" in page.headers["content-security-policy"]
    editor = client.get(f"/hotspots/{hotspot}/edit")
    assert 'data-tiles=""' in editor.text and 'data-roads="[]"' in editor.text
    assert "img-src 'self' data:;" in editor.headers["content-security-policy"]


def test_tiles_under_the_maps_when_configured(tiled: TestClient, auth: Auth, web_users: dict[str, str]) -> None:
    hotspot = post(tiled, auth["admin"], "/api/hotspots/import", MARKET)["hotspots"][0]["id"]
    logged_in(tiled, web_users["admin"])
    page = tiled.get("/hotspots")
    hrefs = re.findall(r'<image class="tile" href="([^"]+)"', page.text)
    assert hrefs and all(re.fullmatch(r"https://tiles\.example\.cn/map/\d+/\d+/\d+\.png", h) for h in hrefs)
    assert page.text.index('class="map-bg"') < page.text.index("<image") < page.text.index('class="scale"')
    editor = tiled.get(f"/hotspots/{hotspot}/edit")  # Leaflet asks the tile server itself
    assert f'data-tiles="{TILES}"' in editor.text
    for response in (page, editor):
        assert "img-src 'self' data: https://tiles.example.cn;" in response.headers["content-security-policy"]


def test_roads_from_a_geojson_file_under_the_maps(
    settings: Settings, clock: Clock, auth: Auth, web_users: dict[str, str], tmp_path: Path
) -> None:
    far = line((5000, 5000), (5000, 6000))
    roads = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": line((-300, -40), (300, -40)), "properties": {"name": "泽州路"}},
            {"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": [far["coordinates"]]}},
            {"type": "Feature", "geometry": point(0, 0), "properties": {}},  # not a road: skipped
        ],
    }
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(roads), encoding="utf-8")
    assert len(load_roads(path)) == 2
    with TestClient(create_app(settings.model_copy(update={"basemap_roads": path}), clock)) as client:
        hotspot = post(client, auth["admin"], "/api/hotspots/import", MARKET)["hotspots"][0]["id"]
        logged_in(client, web_users["admin"])
        page = client.get("/hotspots")
        assert len(re.findall(r'<path class="road" d="M[^"]+"/>', page.text)) == 1  # the far road is out of view
        assert "<image" not in page.text and "img-src 'self' data:;" in page.headers["content-security-policy"]
        editor = client.get(f"/hotspots/{hotspot}/edit").text
        drawn = re.search(r'data-roads="([^"]*)"', editor)
        assert drawn and json.loads(html.unescape(drawn.group(1))) == [roads["features"][0]["geometry"]["coordinates"]]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[", "Expecting value"),
        ('{"type": "Feature"}', "FeatureCollection"),
        (
            '{"type": "FeatureCollection", "features": '
            '[{"geometry": {"type": "LineString", "coordinates": [[1, 95]]}}]}',
            "at least 2",
        ),
    ],
)
def test_a_bad_road_file_is_refused_naming_it(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "roads.geojson"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=reason) as caught:
        load_roads(path)
    assert str(path) in str(caught.value)
