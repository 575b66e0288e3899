"""Pure parts of the web view: signed session cookies, the secret file, the map projection and marks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.auth.sessions import TTL
from service.models.hotspots import Hotspot, HotspotKind
from service.web.maps import Projection, SvgMap, case_marks, hotspot_marks
from service.web.sessions import SecretKey, WebSession, decode, encode
from tests.service.places import line, offset, point, polygon, square

NOW = datetime(2025, 5, 12, 1, 0, tzinfo=UTC)
KEY = b"k" * 32


def test_session_round_trip_and_expiry() -> None:
    session = WebSession.start(NOW, "session-id-7")
    value = encode(session, KEY)
    assert decode(value, KEY, NOW) == session
    assert decode(value, KEY, NOW + TTL - timedelta(seconds=1)) == session
    assert decode(value, KEY, NOW + TTL) is None
    assert decode(value, b"another key", NOW) is None
    assert WebSession.start(NOW).csrf != session.csrf and WebSession.start(NOW).session_id is None


def test_session_rejects_malformed_values() -> None:
    good = encode(WebSession.start(NOW, "id"), KEY)
    payload = good.split(".")[0]
    for value in (None, "", ".", "abc", f"{payload}.", f".{good.split('.')[1]}", good.replace(".", "..", 1)):
        assert decode(value, KEY, NOW) is None, value


def signed(payload: object) -> str:
    """A cookie value for any payload, signed with KEY (what someone holding the secret could make)."""
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(hmac.new(KEY, body.encode(), hashlib.sha256).digest()).rstrip(b"=")
    return f"{body}.{signature.decode()}"


def test_signed_payloads_of_the_wrong_shape_are_refused() -> None:
    later = int((NOW + TTL).timestamp())
    assert decode(signed(["csrf", later, "id"]), KEY, NOW) == WebSession("csrf", later, "id")
    wrong: list[object] = [
        ["csrf", later, 7],
        ["csrf", str(later), "id"],
        [1, later, None],
        ["csrf", later, "id", "x"],
        {},
    ]
    for payload in wrong:
        assert decode(signed(payload), KEY, NOW) is None, payload


def test_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    first = SecretKey("", tmp_path / "data")()
    assert first == SecretKey("", tmp_path / "data")() and len(first) >= 32
    mode = (tmp_path / "data" / "session-secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert SecretKey("configured", tmp_path / "other")() == b"configured"
    assert not (tmp_path / "other").exists()


def test_projection_keeps_north_up_and_scale_equal() -> None:
    sw, ne = offset(0, 0), offset(1000, 2000)
    projection = Projection.fit([sw, ne], 600, 400)
    x0, y0 = projection.xy(*sw)
    x1, y1 = projection.xy(*ne)
    assert x1 > x0 and y1 < y0  # east is right, north is up
    assert abs((x1 - x0) / (y0 - y1) - 2.0) < 0.01  # metres are metres both ways
    for x, y in ((x0, y0), (x1, y1)):
        assert 0 <= x <= 600 and 0 <= y <= 400
    assert Projection.fit([], 600, 400) is None


def test_one_position_gets_a_minimum_span() -> None:
    projection = Projection.fit([offset(0, 0)], 400, 400)
    assert projection.xy(*offset(0, 0)) == (200.0, 200.0)
    assert 0 < projection.xy(*offset(80, 0))[1] < 200


def test_marks_for_hotspots_and_binned_cases() -> None:
    hotspots = [
        Hotspot(id=1, key="a", name="市场", kind=HotspotKind.road_market, batch=1, geometry=point(0, 0)),
        Hotspot(id=2, key="b", name="严管街", kind=HotspotKind.strict_street, geometry=line((50, -100), (50, 100))),
        Hotspot(id=3, key="c", name="公园", kind=HotspotKind.public_place, geometry=polygon(square(-80, 0, 20))),
        Hotspot(id=4, key="d", name="未定位", kind=HotspotKind.road_market, batch=2, geometry=None),
    ]
    projection = Projection.fit([offset(-120, -120), offset(120, 120)], 400, 400)
    assert projection is not None
    marks = hotspot_marks(projection, hotspots, lambda kind: kind.value)
    assert [m.label for m in marks] == ["公园", "严管街", "市场"]  # areas under lines under points
    assert marks[0].d.startswith("M") and marks[0].d.endswith("Z") and "hs-strict_street hs-line" in marks[1].css
    cases = [(*offset(0, 0), "street_vendor")] * 3 + [
        (*offset(0, 0), "goods_spill"),
        (*offset(100, 100), "street_vendor"),
    ]
    dots = case_marks(projection, cases, lambda c: f"cat-{c}", lambda c, n: f"{c} x{n}")
    assert sorted(d.title for d in dots) == ["goods_spill x1", "street_vendor x1", "street_vendor x3"]
    assert max(dots, key=lambda d: d.r).title == "street_vendor x3"
    bar = SvgMap.of(projection, marks)
    assert bar.scale_m in (20, 50) and 0 < bar.scale_px <= 80
