"""Offline maps as inline SVG: an equirectangular projection of our own coordinates; with a basemap
tile server configured (``Settings.basemap_tiles``), its XYZ tiles under the marks, each placed by
its corners (at a city's scale Web Mercator and this projection differ by far less than a pixel);
with a road file (``Settings.basemap_roads``), its lines.

``Projection.fit`` frames a set of (lat, lon) positions; ``hotspot_marks`` and ``case_marks`` turn
hotspots (points, lines, polygons; strict streets as thick lines) and cases (dots coloured by
category, binned when many share a spot) into marks the ``_map.html`` macro draws.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.geometry import M_PER_DEG, validate_geometry
from service.models.hotspots import Hotspot, HotspotKind

MIN_SPAN_M = 200.0
TILE_PX = 256
EQUATOR_M_PER_PX = 2 * math.pi * 6378137.0 / TILE_PX
"""Web Mercator metres per tile pixel at zoom 0 on the equator."""
MAX_TILES = 48
BIN_PX = 6.0
CASE_BIN_DEG = 1e-4
"""About 10 m: cases closer than this share a dot on a Leaflet map."""
SCALE_STEPS_M = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)


@dataclass(frozen=True)
class Mark:
    """One drawn thing: ``d`` (an SVG path) for lines and areas, else a circle at x, y of radius r;
    a ``label`` is written beside x, y."""

    css: str
    title: str
    d: str = ""
    x: float = 0.0
    y: float = 0.0
    r: float = 0.0
    label: str = ""


@dataclass(frozen=True)
class Projection:
    """Degrees -> SVG user units in a ``width`` x ``height`` box, north up, same scale both ways."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float
    width: int
    height: int
    pad: float = 14.0

    @classmethod
    def fit(
        cls, positions: Iterable[tuple[float, float]], width: int, height: int, min_span_m: float = MIN_SPAN_M
    ) -> Projection | None:
        """Frame every (lat, lon) with at least ``min_span_m`` metres each way; None when there is none."""
        lats, lons = [], []
        for lat, lon in positions:
            lats.append(lat)
            lons.append(lon)
        if not lats:
            return None
        mid_lat = (min(lats) + max(lats)) / 2
        half_lat = max(max(lats) - min(lats), min_span_m / M_PER_DEG) / 2
        half_lon = max(max(lons) - min(lons), min_span_m / (M_PER_DEG * math.cos(math.radians(mid_lat)))) / 2
        mid_lon = (min(lons) + max(lons)) / 2
        return cls(mid_lat - half_lat, mid_lon - half_lon, mid_lat + half_lat, mid_lon + half_lon, width, height)

    @classmethod
    def around(cls, lat: float, lon: float, radius_m: float, width: int, height: int) -> Projection:
        """A view centred on one position, ``radius_m`` to each side."""
        dlat = radius_m / M_PER_DEG
        dlon = dlat / math.cos(math.radians(lat))
        return cls(lat - dlat, lon - dlon, lat + dlat, lon + dlon, width, height)

    @property
    def _scale(self) -> tuple[float, float, float, float]:
        """(x factor per degree of longitude, units per degree of latitude, x offset, y offset)."""
        kx = math.cos(math.radians((self.min_lat + self.max_lat) / 2))
        span_x, span_y = (self.max_lon - self.min_lon) * kx, self.max_lat - self.min_lat
        scale = min((self.width - 2 * self.pad) / span_x, (self.height - 2 * self.pad) / span_y)
        return kx * scale, scale, (self.width - span_x * scale) / 2, (self.height - span_y * scale) / 2

    @property
    def units_per_m(self) -> float:
        return self._scale[1] / M_PER_DEG

    def widened(self, factor: float) -> Projection:
        """The same view with ``factor`` times its span each way, around the same centre."""
        half_lat, half_lon = (self.max_lat - self.min_lat) * factor / 2, (self.max_lon - self.min_lon) * factor / 2
        lat, lon = (self.min_lat + self.max_lat) / 2, (self.min_lon + self.max_lon) / 2
        return Projection(lat - half_lat, lon - half_lon, lat + half_lat, lon + half_lon, self.width, self.height)

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        fx, fy, ox, oy = self._scale
        return round(ox + (lon - self.min_lon) * fx, 1), round(oy + (self.max_lat - lat) * fy, 1)

    def path(self, geometry: dict[str, Any]) -> str:
        """SVG path data of a GeoJSON LineString or Polygon (rings closed with Z)."""
        rings = [geometry["coordinates"]] if geometry["type"] == "LineString" else geometry["coordinates"]
        parts = []
        for ring in rings:
            points = " L".join("{},{}".format(*self.xy(p[1], p[0])) for p in ring)
            parts.append(f"M{points}" + (" Z" if geometry["type"] == "Polygon" else ""))
        return " ".join(parts)

    def sees(self, box: tuple[float, float, float, float]) -> bool:
        """Does a (min_lat, min_lon, max_lat, max_lon) box overlap the view?"""
        return box[0] <= self.max_lat and box[2] >= self.min_lat and box[1] <= self.max_lon and box[3] >= self.min_lon


@dataclass(frozen=True)
class Tile:
    """One basemap tile: its URL and where it lies (SVG user units)."""

    href: str
    x: float
    y: float
    width: float
    height: float


def _tile_lon(x: int, zoom: int) -> float:
    return x / (1 << zoom) * 360.0 - 180.0


def _tile_lat(y: int, zoom: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / (1 << zoom)))))


def _tile_index(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    n = 1 << zoom
    lat = max(min(lat, 85.05), -85.05)
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return min(int((lon + 180.0) / 360.0 * n), n - 1), min(int(y), n - 1)


def basemap_tiles(projection: Projection, template: str) -> list[Tile]:
    """The XYZ tiles of ``template`` ({z}, {x}, {y}) covering the view, at the zoom whose pixels are
    nearest the map's units (coarser while more than ``MAX_TILES`` would be needed)."""
    fx, fy, ox, oy = projection._scale
    west, east = projection.min_lon - ox / fx, projection.min_lon + (projection.width - ox) / fx
    north, south = projection.max_lat + oy / fy, projection.max_lat - (projection.height - oy) / fy
    m_per_unit = 1 / projection.units_per_m
    cos_lat = math.cos(math.radians((north + south) / 2))
    zoom = max(0, min(19, round(math.log2(EQUATOR_M_PER_PX * cos_lat / m_per_unit))))
    while True:
        (x0, y0), (x1, y1) = _tile_index(north, west, zoom), _tile_index(south, east, zoom)
        if (x1 - x0 + 1) * (y1 - y0 + 1) <= MAX_TILES or zoom == 0:
            break
        zoom -= 1
    tiles = []
    for tx in range(x0, x1 + 1):
        for ty in range(y0, y1 + 1):
            left, top = projection.xy(_tile_lat(ty, zoom), _tile_lon(tx, zoom))
            right, bottom = projection.xy(_tile_lat(ty + 1, zoom), _tile_lon(tx + 1, zoom))
            href = template.replace("{z}", str(zoom)).replace("{x}", str(tx)).replace("{y}", str(ty))
            tiles.append(Tile(href, left, top, round(right - left, 1), round(bottom - top, 1)))
    return tiles


Line = list[list[float]]  # [lon, lat] positions


@dataclass(frozen=True)
class Basemap:
    """What maps are drawn over: a tile URL template and/or road lines (neither: a plain canvas)."""

    tiles: str | None = None
    roads: tuple[Line, ...] = ()

    def roads_seen(self, projection: Projection) -> list[Line]:
        """The roads the view sees."""
        seen = []
        for road in self.roads:
            lons, lats = [p[0] for p in road], [p[1] for p in road]
            if projection.sees((min(lats), min(lons), max(lats), max(lons))):
                seen.append(road)
        return seen

    def road_paths(self, projection: Projection) -> list[str]:
        """SVG path data of the roads the view sees."""
        return [projection.path({"type": "LineString", "coordinates": road}) for road in self.roads_seen(projection)]


def load_roads(path: Path | None) -> tuple[Line, ...]:
    """The lines of a road GeoJSON FeatureCollection (LineString and MultiLineString features; others
    are skipped); ValueError naming the file and what is wrong."""
    if path is None:
        return ()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list):
            raise ValueError("expected a GeoJSON FeatureCollection")
        lines: list[Line] = []
        for feat in features:
            geometry = (feat or {}).get("geometry") or {}
            if geometry.get("type") == "LineString":
                lines.append(validate_geometry(geometry)["coordinates"])
            elif geometry.get("type") == "MultiLineString":
                for part in geometry.get("coordinates") or []:
                    lines.append(validate_geometry({"type": "LineString", "coordinates": part})["coordinates"])
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"basemap roads {path}: {exc}") from None
    return tuple(lines)


@dataclass(frozen=True)
class SvgMap:
    """What the ``_map.html`` macro draws: basemap tiles (none by default), the marks and a scale
    bar ``scale_m`` metres long."""

    width: int
    height: int
    marks: list[Mark]
    scale_m: int
    scale_px: float
    tiles: list[Tile]
    roads: list[str]
    """SVG path data of the basemap's roads."""

    @classmethod
    def of(cls, projection: Projection, marks: list[Mark], basemap: Basemap | None = None) -> SvgMap:
        """The marks with the longest round scale bar that fits in a fifth of the width, over the
        basemap's tiles and roads (None: a plain canvas)."""
        px_per_m = projection.units_per_m
        length = max((m for m in SCALE_STEPS_M if m * px_per_m <= projection.width / 5), default=SCALE_STEPS_M[0])
        tiles = basemap_tiles(projection, basemap.tiles) if basemap and basemap.tiles else []
        roads = basemap.road_paths(projection) if basemap else []
        return cls(projection.width, projection.height, marks, length, round(length * px_per_m, 1), tiles, roads)


def hotspot_marks(projection: Projection, hotspots: Iterable[Hotspot], kind_label: Any) -> list[Mark]:
    """Areas first, then lines, then points, so small things stay on top; ``kind_label`` names a kind."""
    order = {"Polygon": 0, "LineString": 1, "Point": 2}
    located = sorted(((h, h.geometry) for h in hotspots if h.geometry), key=lambda hg: order[hg[1]["type"]])
    marks = []
    for hotspot, geometry in located:
        kind = HotspotKind(hotspot.kind)
        title = f"{hotspot.name} · {kind_label(kind)}"
        css = f"hs hs-{kind.value}"
        first = geometry["coordinates"]
        while isinstance(first[0], list):
            first = first[0]
        x, y = projection.xy(first[1], first[0])
        if geometry["type"] == "Point":
            marks.append(Mark(css + " hs-point", title, x=x, y=y, r=6.0, label=hotspot.name))
        else:
            shape = "hs-line" if geometry["type"] == "LineString" else "hs-area"
            marks.append(Mark(f"{css} {shape}", title, d=projection.path(geometry), x=x, y=y, label=hotspot.name))
    return marks


def context_features(
    hotspots: Iterable[Hotspot],
    cases: Iterable[tuple[float, float, str]],
    kind_label: Any,
    css_of: Any,
    title_of: Any,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of located hotspots and (lat, lon, category) cases for a Leaflet map,
    each feature's properties its CSS classes ``css``, a ``title`` and, for points, a radius ``r``
    (pixels); cases of one category within ``CASE_BIN_DEG`` share one point sized by their count."""
    features = []
    for hotspot in hotspots:
        if hotspot.geometry is None:
            continue
        kind = HotspotKind(hotspot.kind)
        shape = {"Polygon": "hs-area", "LineString": "hs-line", "Point": "hs-point"}[hotspot.geometry["type"]]
        title = f"{hotspot.name} · {kind_label(kind)}"
        properties = {"css": f"hs hs-{kind.value} {shape}", "title": title, "r": 6.0}
        features.append({"type": "Feature", "geometry": hotspot.geometry, "properties": properties})
    bins: Counter[tuple[int, int, str]] = Counter()
    for lat, lon, category in cases:
        bins[(round(lat / CASE_BIN_DEG), round(lon / CASE_BIN_DEG), category)] += 1
    for (blat, blon, category), n in sorted(bins.items(), key=lambda item: -item[1]):
        at = [round(blon * CASE_BIN_DEG, 7), round(blat * CASE_BIN_DEG, 7)]
        properties = {"css": f"case {css_of(category)}", "title": title_of(category, n), "r": _case_radius(n)}
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": at}, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def _case_radius(n: int) -> float:
    """The radius of a dot standing for ``n`` cases."""
    return min(4.0 + 2.0 * math.sqrt(n), 16.0)


def case_marks(
    projection: Projection, cases: Sequence[tuple[float, float, str]], css_of: Any, title_of: Any
) -> list[Mark]:
    """Cases as dots coloured by category (``css_of(category)``); cases of one category closer than
    BIN_PX units share one dot sized by their count (``title_of(category, count)``)."""
    bins: Counter[tuple[int, int, str]] = Counter()
    for lat, lon, category in cases:
        x, y = projection.xy(lat, lon)
        bins[(round(x / BIN_PX), round(y / BIN_PX), category)] += 1
    return [
        Mark(
            f"case {css_of(category)}",
            title_of(category, n),
            x=bx * BIN_PX,
            y=by * BIN_PX,
            r=_case_radius(n),
        )
        for (bx, by, category), n in sorted(bins.items(), key=lambda item: -item[1])
    ]
