"""Distances and GeoJSON checks on plain values."""

from __future__ import annotations

import pytest

from service.geometry import distance_m, validate_geometry
from tests.service.places import ORIGIN, line, offset, polygon, square
from vision import haversine_m


def test_haversine_metres() -> None:
    assert haversine_m(*ORIGIN, *offset(100, 0)) == pytest.approx(100, rel=1e-3)
    assert haversine_m(*ORIGIN, *offset(0, 100)) == pytest.approx(100, rel=1e-3)


def test_distance_to_line_is_perpendicular() -> None:
    street = line((0, -200), (0, 200))
    assert distance_m(*offset(30, 50), street) == pytest.approx(30, rel=1e-2)
    assert distance_m(*offset(0, 230), street) == pytest.approx(30, rel=1e-2)  # past the end


def test_polygon_inside_is_zero_and_holes_count() -> None:
    block = polygon(square(0, 0, 100))
    assert distance_m(*offset(50, 50), block) == 0.0
    assert distance_m(*offset(0, 130), block) == pytest.approx(30, rel=1e-2)
    holed = polygon(square(0, 0, 100), square(0, 0, 20))
    assert distance_m(*offset(0, 0), holed) == pytest.approx(20, rel=1e-2)


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        ({"type": "MultiPolygon", "coordinates": []}, "not supported"),
        ({"type": "GeometryCollection", "geometries": []}, "not supported"),
        ({"type": "Point", "coordinates": [112.8]}, "bad position"),
        ({"type": "Point", "coordinates": [35.5, 112.8]}, "out of range"),  # lat/lon swapped
        ({"type": "LineString", "coordinates": [[112.8, 35.5]]}, "at least 2"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "closed"),
        ({"type": "Point", "coordinates": ["112.8", "35.5"]}, "bad position"),
        ([112.8, 35.5], "GeoJSON object"),
    ],
)
def test_validate_geometry_rejects(geometry: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_geometry(geometry)
