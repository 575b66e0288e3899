"""Open311 GeoReport v2: JSON and XML answers checked against a strict schema written from the
specification's field lists, the standard filters and paging, signed media links, and reports
POSTed by a hotline system becoming cases."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from service.evidence import evidence_store
from service.privacy import blurred_key
from tests.service.builders import Auth, jpeg, obs, send, store_image
from tests.service.places import offset

W3C_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$"
TEXT = {"type": "string"}
OPTIONAL_TEXT = {"type": ["string", "null"]}

SERVICE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
    "properties": {
        "service_code": {"type": "string", "minLength": 1},
        "service_name": {"type": "string", "minLength": 1},
        "description": TEXT,
        "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": TEXT,
        "group": TEXT,
    },
}
"""GeoReport v2 ``GET services``: one service."""

REQUEST: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ],
    "properties": {
        "service_request_id": {"type": "string", "pattern": r"^\d+$"},
        "status": {"enum": ["open", "closed"]},
        "status_notes": OPTIONAL_TEXT,
        "service_name": TEXT,
        "service_code": {"type": "string", "minLength": 1},
        "description": TEXT,
        "agency_responsible": TEXT,
        "service_notice": TEXT,
        "requested_datetime": {"type": "string", "pattern": W3C_TIME},
        "updated_datetime": {"type": "string", "pattern": W3C_TIME},
        "expected_datetime": {"type": ["string", "null"], "pattern": W3C_TIME},
        "address": TEXT,
        "address_id": TEXT,
        "zipcode": TEXT,
        "lat": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
        "long": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
        "media_url": {"type": "string", "anyOf": [{"const": ""}, {"pattern": r"^https?://"}]},
    },
}
"""GeoReport v2 ``GET requests`` and ``GET requests/{id}``: one service request."""


JSON_TYPES: dict[str, Any] = {
    "string": str,
    "boolean": bool,
    "null": type(None),
    "array": list,
    "object": dict,
    "number": (int, float),
}


def validate(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    """A strict check of ``value`` against the JSON Schema subset the schemas above use (type,
    required, additionalProperties false, properties, items, enum, const, pattern, minLength,
    minimum, maximum, anyOf); AssertionError naming the place."""
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        ok = any(isinstance(value, JSON_TYPES[k]) and not (k == "number" and isinstance(value, bool)) for k in kinds)
        assert ok, f"{where}: {value!r} is not {kinds}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "const" in schema:
        assert value == schema["const"], f"{where}: {value!r} != {schema['const']!r}"
    if isinstance(value, str):
        assert len(value) >= schema.get("minLength", 0), f"{where}: too short"
        assert "pattern" not in schema or re.search(schema["pattern"], value), f"{where}: {value!r} does not match"
    if isinstance(value, int | float) and not isinstance(value, bool):
        assert schema.get("minimum", value) <= value <= schema.get("maximum", value), f"{where}: {value} out of range"
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                validate(value, option, where)
                break
            except AssertionError as exc:
                errors.append(str(exc))
        else:
            raise AssertionError(f"{where}: matches none of anyOf: {errors}")
    if isinstance(value, dict) and "properties" in schema:
        missing = set(schema.get("required", [])) - set(value)
        extra = set(value) - set(schema["properties"]) if schema.get("additionalProperties") is False else set()
        assert not missing and not extra, f"{where}: missing {sorted(missing)}, unexpected {sorted(extra)}"
        for name, item in value.items():
            validate(item, schema["properties"][name], f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], f"{where}[{i}]")


def test_the_schema_check_is_strict() -> None:
    good = dict.fromkeys(REQUEST["required"]) | {
        "service_request_id": "1",
        "status": "open",
        "service_name": "x",
        "service_code": "x",
        "description": "",
        "agency_responsible": "",
        "service_notice": "",
        "requested_datetime": "2025-05-12T09:00:00+08:00",
        "updated_datetime": "2025-05-12T09:00:00+08:00",
        "address": "",
        "address_id": "",
        "zipcode": "",
        "media_url": "",
    }
    validate(good, REQUEST)
    for bad in (
        {"status": "pending"},
        {"lat": 91.0},
        {"lat": True},
        {"requested_datetime": "2025-05-12 09:00"},
        {"media_url": "ftp://x"},
        {"extra": 1},
        {"service_request_id": 1},
    ):
        with pytest.raises(AssertionError):
            validate(good | bad, REQUEST)
    with pytest.raises(AssertionError):
        validate({k: v for k, v in good.items() if k != "zipcode"}, REQUEST)


def json_list(client: TestClient, auth: Auth, path: str, item: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    """GET a GeoReport JSON list, checked against the strict schema of its items."""
    response = client.get(f"/open311/v2/{path}.json", params=params, headers=auth["reviewer"])
    assert response.status_code == 200, response.text
    body = response.json()
    validate(body, {"type": "array", "items": item})
    return body


def xml_list(client: TestClient, auth: Auth, path: str, root: str, item: dict[str, Any], **params: Any) -> list[dict]:
    """GET a GeoReport XML list: the root and item elements, then each item's fields (exactly the
    schema's, no attributes, no nesting), with their texts read back into the schema's types."""
    response = client.get(f"/open311/v2/{path}.xml", params=params, headers=auth["reviewer"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    top = ElementTree.fromstring(response.content)
    assert top.tag == root and not top.attrib and not (top.text or "").strip()
    rows = []
    for element in top:
        assert element.tag == {"services": "service", "service_requests": "request"}[root]
        row: dict[str, Any] = {}
        for field in element:
            assert len(field) == 0 and not field.attrib and field.tag not in row
            row[field.tag] = typed(field.text or "", item["properties"][field.tag])
        validate(row, item)
        rows.append(row)
    return rows


def typed(text: str, schema: dict[str, Any]) -> Any:
    """An XML element's text as the JSON value of ``schema``'s type (empty: null where allowed)."""
    kinds = schema.get("type", "string")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if text == "" and "null" in kinds:
        return None
    if "boolean" in kinds:
        assert text in {"true", "false"}
        return text == "true"
    if "number" in kinds:
        return float(text)
    return text


@pytest.fixture
def reports(client: TestClient, auth: Auth, clock: Any) -> list[int]:
    """A vendor (with a crop) reported now, goods an hour later, an ad a day later (then rejected)."""
    vendor = send(client, auth, [obs("1", crop=store_image(client, auth, jpeg(90)))])["results"][0]["case_id"]
    clock.advance(hours=1)
    goods = send(client, auth, [obs("2", north=100, category="goods_spill")])["results"][0]["case_id"]
    clock.advance(days=1)
    ad = send(client, auth, [obs("3", north=200, category="lightbox_ad")])["results"][0]["case_id"]
    review = {"decision": "reject", "note": "a poster on a bus"}
    assert client.post(f"/api/cases/{ad}/review", json=review, headers=auth["reviewer"]).status_code == 200
    return [vendor, goods, ad]


def test_services_json_and_xml(client: TestClient, auth: Auth) -> None:
    services = json_list(client, auth, "services", SERVICE)
    assert [s["service_code"] for s in services] == [
        "street_vendor",
        "goods_spill",
        "lightbox_ad",
        "outdoor_ad",
        "vending_vehicle",
    ]
    assert services[1]["service_name"] == "店外经营" and services[1]["group"] == "街面秩序"
    assert services[1]["keywords"] == "0504"  # the national code; no local code is set
    assert xml_list(client, auth, "services", "services", SERVICE) == services


def test_requests_json_and_xml(client: TestClient, auth: Auth, reports: list[int]) -> None:
    vendor, goods, ad = reports
    found = json_list(client, auth, "requests", REQUEST)
    assert [r["service_request_id"] for r in found] == [str(ad), str(goods), str(vendor)]  # newest first
    first = found[-1]
    lat, lon = offset(0, 0)
    assert (first["lat"], first["long"]) == pytest.approx((lat, lon))
    assert first["requested_datetime"] == "2025-05-12T09:00:00+08:00"  # the service's local time
    assert (first["status"], first["status_notes"], first["service_name"]) == ("open", "new", "流动摊贩/占道经营")
    assert found[0]["status"] == "closed" and found[0]["status_notes"] == "rejected: a poster on a bus"
    assert found[0]["media_url"] == "" and first["media_url"].startswith("http://testserver/open311/v2/media/")
    # XML carries the same values, times and signed links included (the clock stands still).
    assert xml_list(client, auth, "requests", "service_requests", REQUEST) == found


def ids(client: TestClient, auth: Auth, **params: Any) -> list[int]:
    return [int(r["service_request_id"]) for r in json_list(client, auth, "requests", REQUEST, **params)]


def test_filters_and_paging(client: TestClient, auth: Auth, reports: list[int]) -> None:
    vendor, goods, ad = reports
    assert ids(client, auth, service_code="goods_spill,lightbox_ad") == [ad, goods]
    assert ids(client, auth, status="open") == [goods, vendor]
    assert ids(client, auth, status="closed") == [ad]
    assert ids(client, auth, status="open,closed") == [ad, goods, vendor]
    assert ids(client, auth, start_date="2025-05-12T01:30:00Z") == [ad, goods]
    assert ids(client, auth, end_date="2025-05-12T10:30:00+08:00") == [goods, vendor]
    assert ids(client, auth, start_date="2025-05-12T01:30:00Z", end_date="2025-05-12T03:00:00Z") == [goods]
    # The default window is the 90 days before end_date: nothing older.
    assert ids(client, auth, end_date="2025-08-10T01:30:00Z") == [ad, goods]
    assert ids(client, auth, service_request_id=f"{vendor},{ad}", status="open") == [ad, vendor]  # others ignored
    assert ids(client, auth, page_size=2) == [ad, goods]
    assert ids(client, auth, page_size=2, page=2) == [vendor]
    assert ids(client, auth, page_size=2, page=3) == []
    for bad in ({"status": "pending"}, {"service_request_id": "²"}, {"page_size": 1001}, {"page": 0}):
        response = client.get("/open311/v2/requests.json", params=bad, headers=auth["reviewer"])
        assert response.status_code == 422, bad
    assert client.get("/open311/v2/requests.json").status_code == 401
    assert client.get("/open311/v2/services.xml").status_code == 401


def test_one_request(client: TestClient, auth: Auth, reports: list[int]) -> None:
    vendor = reports[0]
    (one,) = json_list(client, auth, f"requests/{vendor}", REQUEST)
    assert one["service_request_id"] == str(vendor) and one["service_code"] == "street_vendor"
    (same,) = xml_list(client, auth, f"requests/{vendor}", "service_requests", REQUEST)
    assert same["service_request_id"] == str(vendor)
    assert client.get("/open311/v2/requests/999.json", headers=auth["reviewer"]).status_code == 404
    assert client.get("/open311/v2/requests/1.txt", headers=auth["reviewer"]).status_code == 404
    assert client.get("/open311/v2/services.csv", headers=auth["reviewer"]).status_code == 404


def test_a_dispatched_request_names_its_unit_and_deadline(client: TestClient, auth: Auth, reports: list[int]) -> None:
    vendor, goods, _ = reports
    brigade = {u["key"]: u for u in client.get("/api/units", headers=auth["reviewer"]).json()}["brigade-2"]
    assert client.post(f"/api/cases/{vendor}/review", json={"decision": "confirm"}, headers=auth["reviewer"]).is_success
    body = {"unit_id": brigade["id"], "due": "2025-05-14T04:00:00Z"}
    assert client.post(f"/api/cases/{vendor}/dispatch", json=body, headers=auth["dispatcher"]).is_success
    (sent,) = json_list(client, auth, f"requests/{vendor}", REQUEST)
    assert (sent["agency_responsible"], sent["expected_datetime"]) == ("第二执法大队", "2025-05-14T12:00:00+08:00")
    assert xml_list(client, auth, f"requests/{vendor}", "service_requests", REQUEST) == [sent]
    (waiting,) = json_list(client, auth, f"requests/{goods}", REQUEST)
    assert (waiting["agency_responsible"], waiting["expected_datetime"]) == ("", None)  # not dispatched


def test_signed_media_url(client: TestClient, auth: Auth, reports: list[int], clock: Any, settings: Any) -> None:
    (one,) = json_list(client, auth, f"requests/{reports[0]}", REQUEST)
    link = urlsplit(one["media_url"])
    path = f"{link.path}?{link.query}"
    image = client.get(path)  # no token: the signed link is the permission
    store = evidence_store(settings)
    blurred = store.read(blurred_key(store, link.path.rsplit("/media/", 1)[1], settings.model_path))
    assert image.status_code == 200 and image.content == blurred != jpeg(90)  # faces and plates blurred
    assert image.headers["content-type"] == "image/jpeg"
    forged = path[:-1] + ("0" if path[-1] != "0" else "1")
    assert client.get(forged).status_code == 403
    other_key = store_image(client, auth, jpeg(30))
    assert client.get(path.replace(link.path.rsplit("/media/", 1)[1], other_key)).status_code == 403
    longer = path.replace("expires=", "expires=9")
    assert client.get(longer).status_code == 403
    clock.advance(seconds=settings.media_url_ttl_s + 1)
    assert client.get(path).status_code == 403  # expired


def report(client: TestClient, token: str, north: float, code: str = "street_vendor") -> Any:
    lat, lon = offset(north, 0)
    form = {"api_key": token, "service_code": code, "lat": lat, "long": lon, "description": "12345 热线"}
    return client.post("/open311/v2/requests.json", data=form)


def test_posted_reports_become_cases(client: TestClient, auth: Auth, reports: list[int]) -> None:
    vendor = reports[0]
    token = auth["uploader"]["Authorization"].removeprefix("Bearer ")
    joined = report(client, token, north=5)
    assert joined.status_code == 200, joined.text
    assert joined.json() == [{"service_request_id": str(vendor), "service_notice": ""}]  # joins the case there
    created = report(client, token, north=500)
    (answer,) = created.json()
    new_case = int(answer["service_request_id"])
    assert new_case not in reports
    detail = client.get(f"/api/cases/{new_case}", headers=auth["reviewer"]).json()
    assert [o["source"] for o in detail["observations"]] == ["open311:uploader-1"]
    assert ids(client, auth, service_request_id=str(new_case)) == [new_case]
    reviewer = auth["reviewer"]["Authorization"].removeprefix("Bearer ")
    assert report(client, reviewer, north=5).status_code == 403
    assert report(client, "not-a-token", north=5).status_code == 401
    assert report(client, token, north=5, code="graffiti").status_code == 422
