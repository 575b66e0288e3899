"""The hotspot catalog as GeoJSON, KML and CSV files: round trips, every kind of bad file refused with
its placemark or row named, ``streetscan hotspots import|export`` and the HTTP upload and download."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.cli import main
from service.hotspot_files import CatalogFormat, read_catalog, to_wkt, write_catalog
from service.hotspots import CatalogError, parse_collection
from tests.service.api.test_hotspots import MIXED, collection, feature, hotspots
from tests.service.builders import Auth, obs, send
from tests.service.places import offset, polygon, square

FORMATS = list(CatalogFormat)
HOLED = feature("yard", polygon(square(0, 400, 50), square(0, 400, 10)), kind="public_place")
CATALOG = {**MIXED, "features": [*MIXED["features"], HOLED]}
BOWTIE = '"POLYGON ((112.85 35.49, 112.851 35.491, 112.851 35.49, 112.85 35.491, 112.85 35.49))"'  # quoted for CSV


def as_file(fmt: CatalogFormat) -> bytes:
    return write_catalog(CATALOG, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips_every_field_and_geometry(fmt: CatalogFormat) -> None:
    expected = parse_collection(CATALOG)
    again = read_catalog(as_file(fmt), fmt)
    assert [h.model_dump() for h in again] == [h.model_dump() for h in expected]
    assert {h.key: h.geometry["type"] if h.geometry else None for h in again} == {
        "market": "Point",
        "street": "LineString",
        "park": "Polygon",
        "school": "Point",
        "unknown": None,
        "yard": "Polygon",
    }
    yard = next(h for h in again if h.key == "yard")
    assert yard.geometry is not None and len(yard.geometry["coordinates"]) == 2  # the hole survives


def test_csv_places_by_lat_lon_and_by_wkt() -> None:
    lat, lon = offset(10, 20)
    text = (
        "name,kind,batch,lat,lon,wkt,active_hours\n"
        f"甲,road_market,1,{lat},{lon},,\n"
        f"乙,public_place,,,,{to_wkt({'type': 'Point', 'coordinates': [lon, lat]})},\n"
        "丙,school_zone,,,,,07:00-08:30; 16:30-17:30\n"
    )
    first, second, third = read_catalog(text.encode(), CatalogFormat.csv)
    assert first.geometry == second.geometry == {"type": "Point", "coordinates": [lon, lat]}
    assert (first.key, first.batch) == ("甲", 1)
    assert third.geometry is None and third.active_hours == ["07:00-08:30", "16:30-17:30"]


CSV_HEAD = "name,kind,batch,lat,lon,wkt\n"
KML_HEAD = '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
GOOD_MARK = "<Placemark><name>fine</name><ExtendedData><Data name='kind'><value>public_place</value></Data>"


def kml(*geometries: str) -> bytes:
    marks = "".join(f"{GOOD_MARK}</ExtendedData>{g}</Placemark>" for g in geometries)
    return f"{KML_HEAD}{marks}</Document></kml>".encode()


@pytest.mark.parametrize(
    ("fmt", "data", "where", "reason"),
    [
        (CatalogFormat.csv, f"{CSV_HEAD}a,public_place,,,,{BOWTIE}\n", ("row", 2), "Self-intersection"),
        (CatalogFormat.csv, f"{CSV_HEAD}ok,public_place,,1,1,\nb,public_place,,95,1,\n", ("row", 3), "out of range"),
        (CatalogFormat.csv, f"{CSV_HEAD}a,public_place,,north,1,\n", ("row", 2), "bad lat/lon"),
        (CatalogFormat.csv, f'{CSV_HEAD}a,public_place,,,,"POLYGON ((1 2, 3"\n', ("row", 2), "bad WKT"),
        (CatalogFormat.csv, f"{CSV_HEAD}a,public_place,,1,1,POINT (1 1)\n", ("row", 2), "not both"),
        (CatalogFormat.csv, f"{CSV_HEAD}a,public_place,,,,MULTIPOINT ((1 1))\n", ("row", 2), "not supported"),
        (CatalogFormat.csv, f"{CSV_HEAD}a,stadium,,,,\n", ("row", 2), "kind"),
        (CatalogFormat.csv, f"{CSV_HEAD}a,public_place,,1,1,,extra\n", ("row", 2), "more values"),
        (CatalogFormat.csv, "where,what\nx,y\n", (None,), "name and kind"),
        (
            CatalogFormat.kml,
            kml("<Point><coordinates>1,1</coordinates></Point>", "<Point><coordinates>east,1</coordinates></Point>"),
            ("placemark", 2),
            "bad coordinates",
        ),
        (
            CatalogFormat.kml,
            kml(
                "<Polygon><outerBoundaryIs><LinearRing><coordinates>112.85,35.49 112.851,35.491 112.851,35.49 "
                "112.85,35.491 112.85,35.49</coordinates></LinearRing></outerBoundaryIs></Polygon>"
            ),
            ("placemark", 1),
            "Self-intersection",
        ),
        (CatalogFormat.kml, kml("<Point><coordinates>200,1</coordinates></Point>"), ("placemark", 1), "out of range"),
        (CatalogFormat.kml, kml("<MultiGeometry/>"), ("placemark", 1), "one Point, LineString or Polygon"),
        (CatalogFormat.kml, b"<kml><Document><Placemark></Document></kml>", (None,), "not XML"),
        (CatalogFormat.kml, b"<gpx/>", (None,), "a <kml> root"),
        (CatalogFormat.kml, b'<!DOCTYPE kml [<!ENTITY x "y">]><kml/>', (None,), "DOCTYPE"),
        (CatalogFormat.geojson, b'{"type": "FeatureCollection", "features": [', (None,), "not JSON"),
        (CatalogFormat.geojson, b"\xff\xfe{}", (None,), "not UTF-8"),
    ],
)
def test_bad_files_name_what_and_where(
    fmt: CatalogFormat, data: str | bytes, where: tuple[str | None, ...], reason: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        read_catalog(data.encode() if isinstance(data, str) else data, fmt)
    (number, message), *_ = caught.value.errors
    assert reason in message
    assert (number,) == where[1:] if where[0] else number is None
    if where[0]:
        assert f"{where[0]} {number}: " in str(caught.value)


def test_every_bad_row_is_listed() -> None:
    text = f'{CSV_HEAD}a,public_place,,95,1,\nb,public_place,,1,1,\nc,stadium,,,,\n"d\nd",market,,,,\n'
    with pytest.raises(CatalogError) as caught:
        read_catalog(text.encode(), CatalogFormat.csv)
    assert [n for n, _ in caught.value.errors] == [2, 4, 6]  # a quoted line break: the row ends on line 6


def test_cli_import_export_round_trip_and_refusal(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STREETSCAN_DATABASE_URL", database_url)
    source = tmp_path / "catalog.geojson"
    source.write_text(json.dumps(CATALOG), encoding="utf-8")
    assert main(["hotspots", "import", str(source)]) == 0
    assert "6 hotspots imported (5 located)" in capsys.readouterr().out
    expected = [h.model_dump() for h in parse_collection(CATALOG)]
    for fmt in FORMATS:
        out = tmp_path / f"out.{fmt.value}"
        assert main(["hotspots", "export", "--format", fmt.value, "--out", str(out)]) == 0
        assert [h.model_dump() for h in read_catalog(out.read_bytes(), fmt)] == expected
    exported = (tmp_path / "out.kml").read_bytes()

    bad = tmp_path / "bad.txt"
    bad.write_text(f"{CSV_HEAD}park,public_place,,1,1,\nb,public_place,,,,{BOWTIE}\n", encoding="utf-8")
    assert main(["hotspots", "import", str(bad)]) == 2
    assert ".geojson, .kml or .csv" in capsys.readouterr().err
    assert main(["hotspots", "import", "--format", "csv", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 3: geometry: Polygon is not valid: Self-intersection" in err and "row 2" not in err
    out = tmp_path / "after.kml"
    assert main(["hotspots", "export", "--out", str(out)]) == 0
    assert out.read_bytes() == exported  # the good row of the refused file changed nothing
    assert main(["hotspots", "export", "--out", str(tmp_path / "out.shp")]) == 1


def test_http_download_and_upload(client: TestClient, auth: Auth) -> None:
    vendor = send(client, auth, [obs("1", north=2, east=20)])["results"][0]["case_id"]
    admin = auth["admin"]
    upload = client.post(
        "/api/hotspots/import/file", files={"file": ("catalog.kml", as_file(CatalogFormat.kml))}, headers=admin
    )
    assert upload.status_code == 200 and upload.json()["imported"] == 6
    case = client.get(f"/api/cases/{vendor}", headers=auth["reviewer"]).json()
    assert case["hotspot_name"] == "market"  # the imported point 20 m away takes the case

    download = client.get("/api/hotspots/export", params={"format": "csv"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert 'filename="hotspots.csv"' in download.headers["content-disposition"]
    assert [h.key for h in read_catalog(download.content, CatalogFormat.csv)] == [
        "market",
        "street",
        "park",
        "school",
        "unknown",
        "yard",
    ]
    before = hotspots(client)
    changed = download.content.decode("utf-8-sig").replace("游园", "新游园") + f"x,x,public_place,,,,,,{BOWTIE}\n"
    refused = client.post("/api/hotspots/import/file", files={"file": ("edited.csv", changed.encode())}, headers=admin)
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["detail"]] == [["body", "file", 8]]
    assert hotspots(client) == before
    assert (
        client.post(
            "/api/hotspots/import/file", files={"file": ("c.csv", changed.encode())}, headers=auth["reviewer"]
        ).status_code
        == 403
    )
    one = collection(feature("solo", None, kind="public_place"))
    assert (
        client.post(
            "/api/hotspots/import/file",
            params={"format": "geojson"},
            files={"file": ("x", json.dumps(one))},
            headers=admin,
        ).json()["imported"]
        == 1
    )
