"""Fixed-camera dwell rules on synthetic sequences of tracked detections (no model, no video)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from vision.boxes import Detections
from vision.dwell import DwellFilter, DwellRules, Sighting, inside_any
from vision.taxonomy import Taxonomy

NAMES = {0: "person", 1: "umbrella"}
VENDOR = (1, 1000, 500, 1100, 800)  # track id, x1, y1, x2, y2: a person standing on the sidewalk
SIDEWALK = [[(0, 600), (1920, 600), (1920, 1080), (0, 1080)]]


def frame(*objects: tuple[int, float, float, float, float], category: str | None = "street_vendor") -> Detections:
    """One frame's tracked detections: (track id, x1, y1, x2, y2) each, all of ``category``."""
    rows = np.array(objects, dtype=float).reshape(-1, 5)
    return Detections(
        rows[:, 1:],
        np.full(len(rows), 0.8),
        np.zeros(len(rows)),
        tracker_id=rows[:, 0],
        names=NAMES,
        data={"category": np.array([category] * len(rows), dtype=object)},
    )


def run(rules: DwellRules, timeline: Iterable[tuple[float, Detections]]) -> list[tuple[float, Sighting]]:
    """Feed (time, detections) in order; every sighting with the time it was reported."""
    dwell = DwellFilter(rules)
    return [(t, s) for t, det in timeline for s in dwell.update(t, det)]


def seconds(start: float, stop: float, fps: float = 2.0) -> np.ndarray:
    return np.arange(start, stop, 1 / fps)


def moved(obj: tuple[int, float, float, float, float], track: int | None = None, dx: float = 0.0) -> tuple:
    tid, x1, y1, x2, y2 = obj
    return (tid if track is None else track, x1 + dx, y1, x2 + dx, y2)


def test_a_passer_by_is_never_reported() -> None:
    walking = [(t, frame((7, 100 + 80 * t, 500, 200 + 80 * t, 800))) for t in seconds(0, 20)]
    assert run(DwellRules(), walking) == []


def test_a_vendor_is_reported_once_when_the_dwell_is_reached() -> None:
    found = run(DwellRules(), [(t, frame(VENDOR)) for t in seconds(1000, 1600)])
    assert len(found) == 1
    at, sighting = found[0]
    assert at == 1180.0  # 180 s after it appeared, not before and not again while it stays
    assert sighting.category == "street_vendor" and sighting.label == "person"
    assert sighting.first_at == 1000.0 and sighting.last_at == 1180.0
    assert sighting.first_at <= sighting.best_at <= sighting.last_at
    assert sighting.bbox == [1000.0, 500.0, 1100.0, 800.0]
    assert sighting.key == "1000000-1"  # start in ms + first track id: unique across restarts


def test_a_short_track_loss_and_a_new_track_id_continue_the_stay() -> None:
    timeline = [(t, frame(VENDOR)) for t in seconds(0, 100)]
    timeline += [(t, frame()) for t in seconds(100, 110)]  # hidden by a bus for 10 s (grace 20 s)
    timeline += [(t, frame(moved(VENDOR, track=42, dx=20))) for t in seconds(110, 400)]  # back, new id
    found = run(DwellRules(), timeline)
    assert [at for at, _ in found] == [180.0]


def test_a_stay_lost_longer_than_the_grace_starts_over() -> None:
    timeline = [(t, frame(VENDOR)) for t in seconds(0, 100)]
    timeline += [(t, frame(moved(VENDOR, track=42))) for t in seconds(130, 400)]  # gone 30 s > grace 20 s
    assert [at for at, _ in run(DwellRules(), timeline)] == [310.0]


def test_no_re_alert_on_a_short_absence_after_the_report() -> None:
    timeline = [(t, frame(VENDOR)) for t in seconds(0, 200)]
    timeline += [(t, frame(moved(VENDOR, track=9))) for t in seconds(260, 600)]  # away 60 s < gap 300 s
    assert [at for at, _ in run(DwellRules(), timeline)] == [180.0]


def test_a_return_after_the_gap_is_a_new_sighting() -> None:
    timeline = [(t, frame(VENDOR)) for t in seconds(0, 200)]
    timeline += [(t, frame()) for t in seconds(200, 600)]  # gone 400 s > gap 300 s
    timeline += [(t, frame(moved(VENDOR, track=9))) for t in seconds(600, 800)]
    found = run(DwellRules(), timeline)
    assert [at for at, _ in found] == [180.0, 780.0]
    assert found[0][1].key != found[1][1].key


def test_two_vendors_side_by_side_are_two_sightings() -> None:
    other = (2, 1300, 500, 1400, 800)
    found = run(DwellRules(dwell_s={"street_vendor": 10}), [(t, frame(VENDOR, other)) for t in seconds(0, 60)])
    assert len(found) == 2 and len({s.key for _, s in found}) == 2


def test_a_new_track_far_away_is_not_the_same_stay() -> None:
    timeline = [(t, frame(VENDOR)) for t in seconds(0, 5)]
    timeline += [(t, frame(moved(VENDOR, track=2, dx=600))) for t in seconds(5, 12)]
    assert run(DwellRules(dwell_s={"street_vendor": 10}), timeline) == []


@pytest.mark.parametrize(
    ("category", "dwell", "expected_at"),
    [("lightbox_ad", {}, 30.0), ("goods_spill", {}, 180.0), ("street_vendor", {"street_vendor": 0}, 0.0)],
)
def test_dwell_per_category(category: str, dwell: dict[str, float], expected_at: float) -> None:
    """The shipped taxonomy's dwell per category, under the rules' own."""
    timeline = [(t, frame(VENDOR, category=category)) for t in seconds(0, 300)]
    rules = DwellRules(dwell_s=dwell).over(Taxonomy.load().dwell_s())
    assert [at for at, _ in run(rules, timeline)] == [expected_at]


def test_detections_without_a_category_do_not_count() -> None:
    timeline = [(t, frame(VENDOR, category=None)) for t in seconds(0, 10)]
    assert run(DwellRules(dwell_s={"street_vendor": 1}), timeline) == []


def test_only_the_active_region_counts_by_where_the_object_stands() -> None:
    rules = DwellRules(dwell_s={"street_vendor": 5}, regions=SIDEWALK)
    standing_on_it = (1, 100, 200, 200, 700)  # head above the region, feet in it
    above_it = (2, 600, 100, 700, 400)
    found = run(rules, [(t, frame(standing_on_it, above_it)) for t in seconds(0, 10)])
    assert [s.key.split("-")[1] for _, s in found] == ["1"]


def test_ignored_regions_never_count() -> None:
    bus_stop = [[(900, 700), (1200, 700), (1200, 900), (900, 900)]]
    rules = DwellRules(dwell_s={"street_vendor": 5}, regions=SIDEWALK, ignore=bus_stop)
    waiting = (1, 1000, 500, 1100, 800)
    vendor = (2, 100, 500, 200, 800)
    found = run(rules, [(t, frame(waiting, vendor)) for t in seconds(0, 10)])
    assert [s.key.split("-")[1] for _, s in found] == ["2"]


def test_inside_any() -> None:
    points = np.array([[5, 5], [10, 5], [15, 5]], dtype=float)
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    assert inside_any(points, [square]).tolist() == [True, True, False]  # an edge counts as inside
    assert inside_any(points, []).tolist() == [False, False, False]
