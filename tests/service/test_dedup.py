"""The pure dedup, hotspot and state-machine decisions, on plain values (no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from service.cases import (
    Candidate,
    Match,
    TransitionError,
    check_transition,
    choose_case,
    gate_m,
    grid_cell,
    merged_position,
    neighbour_cells,
    sighting_sigma,
)
from service.hotspots import Shape, nearest, vending_zone_at
from service.models.cases import CaseStatus
from service.models.hotspots import Hotspot, HotspotKind
from tests.service.places import line, offset, point, polygon, square
from vision import haversine_m

NOW = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
LOOKBACK = timedelta(days=30)
NOON = time(12, 0)


def candidate(case_id: int, north: float, east: float, status: CaseStatus = CaseStatus.new, **kw: Any) -> Candidate:
    return Candidate(case_id, status, *offset(north, east), **kw)


@pytest.mark.parametrize("lat", [0.0, 35.49, -33.9, 60.0, 78.2])
def test_grid_neighbourhood_holds_every_point_in_radius(lat: float) -> None:
    rng = random.Random(1)
    for _ in range(500):
        radius = rng.choice([12.0, 25.0, 80.0])
        a = (lat + rng.uniform(-0.01, 0.01), 112.85 + rng.uniform(-0.01, 0.01))
        b = offset(rng.uniform(-radius, radius), rng.uniform(-radius, radius), origin=a)
        if haversine_m(*a, *b) > radius:
            continue
        xs, ys = neighbour_cells(*a, radius)
        cx, cy = grid_cell(*b)
        assert cx in xs and cy in ys


def test_joins_nearest_open_case_within_radius() -> None:
    cands = [candidate(1, 0, 40), candidate(2, 0, 8), candidate(3, 0, 3, CaseStatus.rejected)]
    assert choose_case(*offset(0, 0), 1.0, NOW, cands, 25, LOOKBACK) == Match(2)


def test_a_sighting_in_two_open_gates_joins_the_nearer_and_proposes_a_merge() -> None:
    cands = [candidate(1, 0, 20), candidate(2, 0, 8), candidate(3, 0, -22, CaseStatus.resolved, resolved_at=NOW)]
    assert choose_case(*offset(0, 0), 1.0, NOW, cands, 25, LOOKBACK) == Match(2, also=(1,))


@pytest.mark.parametrize(
    ("radius", "case_sigma", "sighting_sigma", "gate"),
    [(12, 1, 1, 12.33), (12, 4, 4, 16.49), (12, 0.5, 4, 14.46), (25, 4, 4, 27.44), (12, 25, 25, 71.72)],
)
def test_gate_is_radius_and_two_standard_errors_in_quadrature(
    radius: float, case_sigma: float, sighting_sigma: float, gate: float
) -> None:
    assert gate_m(radius, case_sigma, sighting_sigma) == pytest.approx(gate, abs=0.01)


@pytest.mark.parametrize(
    ("north", "case_sigma", "sighting_sigma", "joins"),
    [
        (15.0, 4.0, 4.0, True),  # a noisy first fix: inside the widened gate
        (15.0, 0.5, 1.0, False),  # a well-known case and a good fix: 15 m is another object
        (13.0, 1.0, 1.0, False),
        (30.0, 12.0, 8.0, True),  # a poor fix (HDOP 2-3) near a case known only roughly
    ],
)
def test_gate_follows_both_uncertainties(north: float, case_sigma: float, sighting_sigma: float, joins: bool) -> None:
    match = choose_case(*offset(north, 0), sighting_sigma, NOW, [candidate(1, 0, 0, sigma_m=case_sigma)], 12, LOOKBACK)
    assert (match.case_id == 1) is joins


def test_recurrence_uses_the_same_gate() -> None:
    resolved = candidate(1, 0, 0, CaseStatus.resolved, resolved_at=NOW - timedelta(days=3), sigma_m=1.0)
    assert choose_case(*offset(14, 0), 4.0, NOW, [resolved], 12, LOOKBACK) == Match(1, reopen=True)
    assert choose_case(*offset(14, 0), 1.0, NOW, [resolved], 12, LOOKBACK) == Match(None)


def test_beyond_radius_starts_a_new_case() -> None:
    assert choose_case(*offset(0, 0), 1.0, NOW, [candidate(1, 0, 13)], 12, LOOKBACK).case_id is None


def test_recently_resolved_case_comes_back_as_recurrence() -> None:
    resolved = candidate(1, 0, 5, CaseStatus.resolved, resolved_at=NOW - timedelta(days=29))
    match = choose_case(*offset(0, 0), 1.0, NOW, [resolved], 25, LOOKBACK)
    assert (match.case_id, match.reopen) == (1, True)


def test_resolution_older_than_lookback_starts_a_new_case() -> None:
    closed = candidate(1, 0, 5, CaseStatus.closed, resolved_at=NOW - timedelta(days=31))
    assert choose_case(*offset(0, 0), 1.0, NOW, [closed], 25, LOOKBACK).case_id is None


def test_evidence_from_before_the_resolution_joins_without_reopening() -> None:
    resolved = candidate(1, 0, 5, CaseStatus.resolved, resolved_at=NOW + timedelta(hours=1))
    match = choose_case(*offset(0, 0), 1.0, NOW, [resolved], 25, LOOKBACK)
    assert (match.case_id, match.reopen) == (1, False)


def test_open_case_wins_over_a_nearer_resolved_one() -> None:
    cands = [candidate(1, 0, 2, CaseStatus.resolved, resolved_at=NOW), candidate(2, 0, 15, CaseStatus.dispatched)]
    assert choose_case(*offset(0, 0), 1.0, NOW, cands, 25, LOOKBACK).case_id == 2


def test_merged_position_weights_by_accuracy_and_shrinks_the_error() -> None:
    # three fixes of 4 m so far (error 4/sqrt(3)) and one more: the running mean, error 2 m
    lat, lon, sigma = merged_position(10.0, 20.0, 4 / 3**0.5, 14.0, 24.0, 4.0)
    assert (lat, lon, sigma) == pytest.approx((11.0, 21.0, 2.0))
    # a fix four times as accurate counts sixteen times as much
    lat, lon, sigma = merged_position(0.0, 0.0, 8.0, 17.0, 34.0, 2.0)
    assert (lat, lon) == pytest.approx((16.0, 32.0)) and sigma == pytest.approx(8 * 2 / 68**0.5)


@pytest.mark.parametrize(("accuracy", "sigma"), [(None, 4.0), (2.5, 2.5), (0.2, 1.0), (400.0, 25.0)])
def test_sighting_sigma_from_the_fix_else_the_default_clamped(accuracy: float | None, sigma: float) -> None:
    assert sighting_sigma(accuracy, 4.0) == sigma


@pytest.mark.parametrize(
    ("current", "target", "ok"),
    [
        ("new", "confirmed", True),
        ("new", "rejected", True),
        ("new", "resolved", False),
        ("confirmed", "dispatched", True),
        ("dispatched", "resolved", True),
        ("resolved", "closed", True),
        ("resolved", "reopened", True),
        ("closed", "reopened", True),
        ("closed", "new", False),
        ("reopened", "confirmed", True),
        ("rejected", "dispatched", False),
        ("confirmed", "confirmed", False),
    ],
)
def test_state_machine(current: str, target: str, ok: bool) -> None:
    if ok:
        check_transition(CaseStatus(current), CaseStatus(target))
    else:
        with pytest.raises(TransitionError, match=f"cannot go from {current} to {target}"):
            check_transition(CaseStatus(current), CaseStatus(target))


def shape(hid: int, kind: HotspotKind, geometry: dict[str, Any], buffer_m: float = 0.0, **kw: Any) -> Shape:
    return Shape.of(Hotspot(id=hid, key=str(hid), name=str(hid), kind=kind, geometry=geometry, buffer_m=buffer_m, **kw))


def test_nearest_hotspot_measures_to_street_line_with_buffer() -> None:
    shapes = [
        shape(1, HotspotKind.road_market, point(0, 100), batch=1),
        shape(2, HotspotKind.strict_street, line((60, -500), (60, 500)), buffer_m=20),
    ]
    found = nearest(*offset(0, 0), shapes, 150, NOON)
    assert found[0] == 2 and found[1] == pytest.approx(40, rel=1e-2)
    assert nearest(*offset(0, 0), shapes, 30, NOON) is None
    assert nearest(*offset(50, 0), shapes, 150, NOON) == (2, 0.0)


def test_inside_a_polygon_is_distance_zero() -> None:
    shapes = [
        shape(1, HotspotKind.public_place, polygon(square(0, 0, 50))),
        shape(2, HotspotKind.road_market, point(10, 10), batch=2),
    ]
    assert nearest(*offset(9, 9), shapes, 150, NOON) == (1, 0.0)


def test_school_zone_counts_only_in_its_hours_unless_already_assigned() -> None:
    school = shape(1, HotspotKind.school_zone, point(0, 0), buffer_m=30, active_hours=["07:00-08:30", "16:30-18:00"])
    market = shape(2, HotspotKind.road_market, point(0, 100), batch=1)
    here = offset(0, 40)
    assert nearest(*here, [school, market], 150, time(7, 30))[0] == 1
    assert nearest(*here, [school, market], 150, time(12, 0))[0] == 2
    assert nearest(*here, [school, market], 150, time(12, 0), keep_id=1)[0] == 1


def test_vending_zone_contains_point() -> None:
    zones = [
        shape(1, HotspotKind.vending_zone, polygon(square(0, 0, 20))),
        shape(2, HotspotKind.vending_zone, point(0, 200), buffer_m=15),
    ]
    assert vending_zone_at(*offset(5, 5), zones, time(9, 0)) == 1
    assert vending_zone_at(*offset(0, 210), zones, time(9, 0)) == 2
    assert vending_zone_at(*offset(0, 60), zones, time(9, 0)) is None


def test_vending_zone_exempts_only_in_its_permitted_hours() -> None:
    evening = shape(1, HotspotKind.vending_zone, polygon(square(0, 0, 20)), active_hours=["17:00-22:00"])
    night = shape(2, HotspotKind.vending_zone, point(0, 200), buffer_m=15, active_hours=["21:00-02:00"])
    inside, there = offset(5, 5), offset(0, 205)
    assert vending_zone_at(*inside, [evening], time(17, 0)) == 1
    assert vending_zone_at(*inside, [evening], time(21, 59)) == 1
    assert vending_zone_at(*inside, [evening], time(22, 0)) is None  # the end is not in it
    assert vending_zone_at(*inside, [evening], time(9, 0)) is None
    assert vending_zone_at(*there, [evening, night], time(1, 30)) == 2  # a range over midnight
    assert vending_zone_at(*there, [evening, night], time(20, 0)) is None
