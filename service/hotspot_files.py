"""The hotspot catalog as files: GeoJSON, KML and CSV, read into validated hotspots and written from
the catalog (``streetscan hotspots import|export``, ``GET /api/hotspots/export``).

Every format carries the same fields: ``key``, ``name``, ``kind``, ``batch``, ``start_date``,
``buffer_m``, ``active_hours`` ("HH:MM-HH:MM" ranges, ``;``-separated in KML and CSV) and ``note``.
KML keeps them in each Placemark's ExtendedData (the key falls back to the Placemark's ``id``, then
its ``name``); a Placemark without a geometry is an unlocated hotspot. CSV places a hotspot by a
``wkt`` column (POINT, LINESTRING or POLYGON, WGS-84 lon lat) or by ``lat`` and ``lon`` columns
(a point); both empty: unlocated. Reading raises CatalogError naming every bad placemark or row.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from enum import StrEnum
from typing import Any

import shapely.wkt
from shapely.errors import ShapelyError
from shapely.geometry import mapping

from service.hotspots import CatalogError, parse_collection, parse_features
from service.models.hotspots import HotspotCreate

KML_NS = "http://www.opengis.net/kml/2.2"
FIELDS = ("key", "name", "kind", "batch", "start_date", "buffer_m", "active_hours", "note")
CSV_FIELDS = (*FIELDS, "wkt")
LIST_SEPARATOR = ";"


class CatalogFormat(StrEnum):
    geojson = "geojson"
    kml = "kml"
    csv = "csv"

    @classmethod
    def of_name(cls, name: str) -> CatalogFormat:
        """The format a file name's suffix names (.geojson or .json, .kml, .csv); ValueError otherwise."""
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        found = {"geojson": cls.geojson, "json": cls.geojson, "kml": cls.kml, "csv": cls.csv}.get(suffix)
        if found is None:
            raise ValueError(f"{name}: name a .geojson, .kml or .csv file (or give the format)")
        return found


# --- reading ---------------------------------------------------------------------------------------


def read_catalog(data: bytes, fmt: CatalogFormat) -> list[HotspotCreate]:
    """Validated hotspots from a file's bytes (UTF-8, a BOM allowed); CatalogError saying what is wrong."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError([(None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    if fmt == CatalogFormat.geojson:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CatalogError([(None, f"not JSON: {exc}")]) from None
        return parse_collection(parsed)
    if fmt == CatalogFormat.kml:
        return _read_kml(text)
    return _read_csv(text)


def _properties(values: dict[str, str]) -> dict[str, Any]:
    """Text fields of a placemark or a row as feature properties: empty means absent, hours split."""
    props: dict[str, Any] = {k: v.strip() for k, v in values.items() if k in FIELDS and v and v.strip()}
    if "active_hours" in props:
        props["active_hours"] = [h.strip() for h in props["active_hours"].split(LIST_SEPARATOR) if h.strip()]
    return props


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _coordinates(element: ET.Element) -> list[list[float]]:
    found = _children(element, "coordinates")
    if not found:
        raise ValueError(f"{_local(element.tag)} has no coordinates")
    positions = []
    for item in (found[0].text or "").split():
        try:
            values = [float(v) for v in item.split(",")]
        except ValueError:
            raise ValueError(f"bad coordinates {item!r}: expected lon,lat[,altitude]") from None
        if len(values) not in (2, 3):
            raise ValueError(f"bad coordinates {item!r}: expected lon,lat[,altitude]")
        positions.append(values[:2])
    return positions


def _ring(boundary: ET.Element) -> list[list[float]]:
    rings = _children(boundary, "LinearRing")
    if len(rings) != 1:
        raise ValueError(f"{_local(boundary.tag)} needs one LinearRing")
    return _coordinates(rings[0])


def _kml_geometry(placemark: ET.Element) -> dict[str, Any] | None:
    """The GeoJSON geometry of a Placemark (None: it has none); ValueError for one we do not take."""
    shapes = [c for c in placemark if _local(c.tag) in ("Point", "LineString", "Polygon", "MultiGeometry", "Model")]
    if not shapes:
        return None
    if len(shapes) > 1 or _local(shapes[0].tag) in ("MultiGeometry", "Model"):
        raise ValueError("one Point, LineString or Polygon per placemark")
    shape, kind = shapes[0], _local(shapes[0].tag)
    if kind == "Point":
        coords = _coordinates(shape)
        if len(coords) != 1:
            raise ValueError("a Point has one position")
        return {"type": kind, "coordinates": coords[0]}
    if kind == "LineString":
        return {"type": kind, "coordinates": _coordinates(shape)}
    outer = _children(shape, "outerBoundaryIs")
    if len(outer) != 1:
        raise ValueError("a Polygon needs one outerBoundaryIs")
    holes = [_ring(b) for b in _children(shape, "innerBoundaryIs")]
    return {"type": kind, "coordinates": [_ring(outer[0]), *holes]}


def _kml_feature(placemark: ET.Element) -> dict[str, Any]:
    values = {}
    for extended in _children(placemark, "ExtendedData"):
        for data in _children(extended, "Data"):
            value = _children(data, "value")
            values[data.get("name", "")] = (value[0].text or "") if value else ""
    name = _children(placemark, "name")
    if name and name[0].text and "name" not in values:
        values["name"] = name[0].text
    props = _properties(values)
    key = props.get("key") or placemark.get("id") or props.get("name")
    return {"type": "Feature", "id": key, "geometry": _kml_geometry(placemark), "properties": props}


def _read_kml(text: str) -> list[HotspotCreate]:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise CatalogError([(None, "KML with a DOCTYPE or entities is not accepted")])
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise CatalogError([(None, f"not XML: {exc}")]) from None
    if _local(root.tag) != "kml":
        raise CatalogError([(None, "expected a KML document (a <kml> root element)")])
    features: list[tuple[int, Any]] = []
    for i, placemark in enumerate((e for e in root.iter() if _local(e.tag) == "Placemark"), start=1):
        try:
            features.append((i, _kml_feature(placemark)))
        except ValueError as exc:
            features.append((i, exc))
    return parse_features(features, "placemark")


def wkt_geometry(text: str) -> dict[str, Any]:
    """A GeoJSON geometry from WKT (lon lat); ValueError for text that is not WKT."""
    try:
        shape = shapely.wkt.loads(text)
    except ShapelyError as exc:
        raise ValueError(f"bad WKT {text[:60]!r}: {str(exc).splitlines()[0]}") from None
    # lists, not tuples, as GeoJSON parsed from JSON has them
    geometry: dict[str, Any] = json.loads(json.dumps(mapping(shape)))
    return geometry


def _csv_feature(row: dict[str, str]) -> dict[str, Any]:
    wkt, lat, lon = (str(row.get(k) or "").strip() for k in ("wkt", "lat", "lon"))
    if wkt and (lat or lon):
        raise ValueError("give wkt or lat and lon, not both")
    geometry: dict[str, Any] | None = None
    if wkt:
        geometry = wkt_geometry(wkt)
    elif lat or lon:
        try:
            geometry = {"type": "Point", "coordinates": [float(lon), float(lat)]}
        except ValueError:
            raise ValueError(f"bad lat/lon {lat!r}, {lon!r}: expected decimal degrees (WGS-84)") from None
    props = _properties({k: v for k, v in row.items() if isinstance(k, str) and isinstance(v, str)})
    return {"type": "Feature", "id": props.get("key") or props.get("name"), "geometry": geometry, "properties": props}


def _read_csv(text: str) -> list[HotspotCreate]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
        if "name" not in header or "kind" not in header:
            raise CatalogError([(None, "a CSV catalog needs a header row with at least name and kind columns")])
        features: list[tuple[int, Any]] = []
        for row in reader:
            try:
                if None in row:
                    raise ValueError("more values than the header has columns")
                features.append((reader.line_num, _csv_feature(row)))
            except ValueError as exc:
                features.append((reader.line_num, exc))
    except csv.Error as exc:
        raise CatalogError([(None, f"not CSV: {exc}")]) from None
    return parse_features(features, "row")  # numbered by the line a row ends on (the header is line 1)


# --- writing ---------------------------------------------------------------------------------------


def write_catalog(collection: dict[str, Any], fmt: CatalogFormat) -> bytes:
    """The catalog (``export_collection``) as a file's bytes in ``fmt``."""
    if fmt == CatalogFormat.geojson:
        return json.dumps(collection, ensure_ascii=False, indent=1).encode("utf-8")
    if fmt == CatalogFormat.kml:
        return _kml(collection["features"])
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for feat in collection["features"]:
        row = _texts(feat["properties"])
        row["wkt"] = to_wkt(feat["geometry"]) if feat["geometry"] else ""
        writer.writerow(row)
    return out.getvalue().encode("utf-8-sig")


def _texts(props: dict[str, Any]) -> dict[str, str]:
    """The catalog fields of a feature as text (None: empty; hours joined)."""
    texts = {}
    for name in FIELDS:
        value = props.get(name)
        if isinstance(value, list):
            value = LIST_SEPARATOR.join(value)
        texts[name] = "" if value is None else str(value)
    return texts


def _positions(coords: list[list[float]]) -> str:
    return ", ".join(f"{lon!r} {lat!r}" for lon, lat, *_ in coords)


def to_wkt(geometry: dict[str, Any]) -> str:
    """WKT of a GeoJSON Point, LineString or Polygon, every coordinate as Python writes it (exact)."""
    kind, coords = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        return f"POINT ({_positions([coords])})"
    if kind == "LineString":
        return f"LINESTRING ({_positions(coords)})"
    return "POLYGON (" + ", ".join(f"({_positions(ring)})" for ring in coords) + ")"


def _kml_coordinates(parent: ET.Element, coords: list[list[float]]) -> None:
    ET.SubElement(parent, "coordinates").text = " ".join(f"{lon!r},{lat!r}" for lon, lat, *_ in coords)


def _kml(features: list[dict[str, Any]]) -> bytes:
    root = ET.Element("kml", xmlns=KML_NS)
    document = ET.SubElement(root, "Document")
    ET.SubElement(document, "name").text = "hotspots"
    for feat in features:
        placemark = ET.SubElement(document, "Placemark")
        texts = _texts(feat["properties"])
        ET.SubElement(placemark, "name").text = texts["name"]
        extended = ET.SubElement(placemark, "ExtendedData")
        for name, value in texts.items():
            if value:
                ET.SubElement(ET.SubElement(extended, "Data", name=name), "value").text = value
        geometry = feat["geometry"]
        if geometry is None:
            continue
        shape = ET.SubElement(placemark, geometry["type"])
        if geometry["type"] == "Point":
            _kml_coordinates(shape, [geometry["coordinates"]])
        elif geometry["type"] == "LineString":
            _kml_coordinates(shape, geometry["coordinates"])
        else:
            for i, ring in enumerate(geometry["coordinates"]):
                boundary = ET.SubElement(shape, "outerBoundaryIs" if i == 0 else "innerBoundaryIs")
                _kml_coordinates(ET.SubElement(boundary, "LinearRing"), ring)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data
