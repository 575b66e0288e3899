"""The weekly figures, checked against a simulated month counted by hand (see ``tests.service.month``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from service.models.cameras import Camera
from service.reports.cameras import live_in
from service.reports.weekly import last_full_week, week_bounds, week_ending, weekly_report
from tests.service.month import PLAN, ZONE, simulate_month
from tests.service.places import offset

FIELDS = ("passes", "sightings", "new", "recurrences", "confirmed", "rejected", "dispatched", "resolved", "closed")


def counts(figures: object) -> tuple[int, ...]:
    return tuple(getattr(figures, name) for name in (*FIELDS, "open_at_end"))


def operations(figures: object) -> tuple[int | float | None, ...]:
    """Disposals persuaded, corrected and fined; verified; overdue; the median hours to dispose."""
    names = ("disposed_persuaded", "disposed_corrected", "disposed_fined", "verified", "overdue", "median_dispose_h")
    return tuple(getattr(figures, name) for name in names)


def test_weeks_run_from_saturday_to_friday_in_local_time() -> None:
    assert week_ending(date(2025, 5, 9)) == date(2025, 5, 9)
    assert week_ending(date(2025, 5, 3)) == date(2025, 5, 9)  # a Saturday starts the week
    assert week_ending(date(2025, 5, 2)) == date(2025, 5, 2)
    start, end = week_bounds(date(2025, 5, 9), ZONE)
    assert (start, end) == (datetime(2025, 5, 2, 16, tzinfo=UTC), datetime(2025, 5, 9, 16, tzinfo=UTC))
    assert last_full_week(datetime(2025, 5, 9, 15, 59, tzinfo=UTC), ZONE) == date(2025, 5, 2)  # Friday 23:59
    assert last_full_week(datetime(2025, 5, 9, 16, 0, tzinfo=UTC), ZONE) == date(2025, 5, 9)  # Saturday 00:00
    assert last_full_week(datetime(2025, 5, 15, 2, 0, tzinfo=UTC), ZONE) == date(2025, 5, 9)  # Thursday


def test_the_simulated_week_matches_the_hand_count(engine: Engine) -> None:
    ids = simulate_month(engine)
    with Session(engine) as session:
        report = weekly_report(session, date(2025, 5, 6), ZONE, PLAN)  # any day of the week names it
    assert report.week == date(2025, 5, 9) and not report.empty
    assert report.phase is not None and report.phase.number == 3
    # passes P2 P3 P5; sightings B A C D G H; new B C D G H; recurring A; confirmed A D G H; rejected B;
    # dispatched D G H; resolved G H; closed A G; open A C D E
    #                                  pass see new rec con rej dis res clo open
    assert counts(report.totals) == (3, 6, 5, 1, 4, 1, 3, 2, 2, 4)
    assert counts(report.previous) == (1, 2, 2, 0, 2, 0, 1, 2, 0, 1)  # P1; A F; A F; A; A F; E
    assert counts(report.change) == (2, 4, 3, 1, 2, 1, 2, 0, 2, 3)
    rows = {r.key: r for r in report.hotspots}
    assert [r.key for r in report.hotspots] == ["M1", "M2", "M3", "U", "S"]  # by batch, then kind
    assert counts(rows["M1"]) == (2, 3, 2, 1, 2, 1, 1, 1, 1, 1)  # B A H; B H; A; A H; B; H; H; A; A
    assert counts(rows["M2"]) == (2, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert counts(rows["M3"]) == (0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
    assert counts(rows["S"]) == (2, 2, 2, 0, 1, 0, 1, 1, 1, 1)  # C G; C G; G; G; G; G; C
    assert {k: r.patrol for k, r in rows.items()} == {
        "M1": "found",
        "M2": "clean",  # patrolled twice, nothing seen: not the same as M3
        "M3": "not_patrolled",
        "S": "found",
        "U": "unlocated",
    }
    assert rows["M2"].last_pass == datetime(2025, 5, 8, 7, 1, 20, tzinfo=UTC)  # P3 passes 800 m at 80 s
    assert rows["M3"].last_pass is None and rows["M1"].id == ids["M1"]
    assert (report.located, report.not_patrolled, report.not_patrolled_share) == (4, 1, 0.25)
    groups = {g.key: g for g in report.groups}
    assert counts(groups["batch-1"]) == counts(rows["M1"])  # P2 and P3 once each, over M1 and M2
    assert groups["batch-1"].hotspot_ids == [ids["M1"], ids["M2"]]
    assert counts(groups["batch-2"]) == (0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
    assert counts(groups["strict-streets"]) == counts(rows["S"])


def test_disposals_checks_and_deadlines_are_counted_per_place(engine: Engine) -> None:
    simulate_month(engine)
    with Session(engine) as session:
        report = weekly_report(session, date(2025, 5, 9), ZONE, PLAN)
    rows, groups = {r.key: r for r in report.hotspots}, {g.key: g for g in report.groups}
    #                                          劝离 整改 罚款 核查 逾期 中位小时
    assert operations(rows["M1"]) == (0, 1, 0, 1, 0, 24.0)  # H corrected 24 h after confirmation; A checked
    assert operations(rows["S"]) == (0, 0, 1, 1, 0, 2.5)  # G fined 2.5 h after confirmation, checked
    assert operations(rows["M2"]) == (0, 0, 0, 0, 0, None)  # F resolved the week before, without a unit
    assert operations(report.totals) == (0, 1, 1, 2, 1, 13.2)  # D overdue at no hotspot; median of 2.5 and 24
    assert operations(report.previous) == (1, 0, 0, 0, 0, 48.0)  # A persuaded 48 h after confirmation
    assert operations(groups["batch-1"]) == operations(rows["M1"])
    assert report.change.median_dispose_h == -34.8 and report.change.disposed_persuaded == -1
    assert all(
        getattr(r, f"disposed_{kind}") == 0 for r in report.hotspots for kind in ("seized", "removed", "referred")
    )


def test_each_unit_is_counted_by_its_dispatches_and_territory(engine: Engine) -> None:
    ids = simulate_month(engine)
    with Session(engine) as session:
        report = weekly_report(session, date(2025, 5, 9), ZONE, PLAN)
    units = {u.key: u for u in report.units}
    assert list(units) == ["U1", "U2"]
    one, two = units["U1"], units["U2"]
    assert one.hotspot_ids == [ids["M1"], ids["M2"], ids["M3"], ids["S"]]  # listed keys; U has no place
    assert two.hotspot_ids == [ids["M3"]]  # inside its territory polygon
    # 一大队: G and H dispatched; A (dispatched the week before) and G closed; G disposed by 13:00, H a day late;
    # in its territory B C G H new and A recurring; M1, M2 and S patrolled, M3 not.
    assert (one.dispatched, one.closed, one.close_rate) == (2, 2, 1.0)
    assert (one.disposed, one.on_time, one.on_time_rate, one.overdue) == (2, 1, 0.5, 0)
    assert (one.recurrences, one.recurrence_rate) == (1, 0.2)
    assert (one.hotspots, one.patrolled, one.coverage) == (4, 3, 0.75)
    # 二大队: D dispatched, not disposed, past its 13:00 deadline; nothing found at M3; M3 never patrolled.
    assert (two.dispatched, two.closed, two.close_rate, two.disposed, two.on_time_rate) == (1, 0, 0.0, 0, None)
    assert (two.overdue, two.recurrences, two.recurrence_rate) == (1, 0, None)
    assert (two.hotspots, two.patrolled, two.coverage) == (1, 0, 0.0)
    with Session(engine) as session:
        before = {u.key: u for u in weekly_report(session, date(2025, 5, 2), ZONE, PLAN).units}
    assert (before["U1"].dispatched, before["U1"].disposed, before["U1"].on_time_rate) == (1, 1, 0.0)  # A, late


def test_the_week_after_sees_what_followed(engine: Engine) -> None:
    simulate_month(engine)
    with Session(engine) as session:
        report = weekly_report(session, date(2025, 5, 16), ZONE, PLAN)
    assert counts(report.totals) == (1, 0, 0, 0, 1, 0, 0, 0, 0, 4)  # P4; C confirmed; A C D E still open
    assert {r.key: r.patrol for r in report.hotspots}["M1"] == "clean"  # P4 passed it, saw nothing
    # D, untouched since its dispatch the week before, is still overdue at 二大队; H waits for its check
    units = {u.key: u for u in report.units}
    assert (report.totals.overdue, units["U2"].overdue, units["U1"].overdue) == (1, 1, 0)
    assert (units["U1"].dispatched, units["U1"].closed, units["U1"].close_rate) == (0, 0, None)


def test_a_week_without_anything_is_empty(engine: Engine) -> None:
    with Session(engine) as session:
        report = weekly_report(session, date(2025, 5, 9), ZONE, PLAN)
    assert report.empty and report.hotspots == [] and report.not_patrolled_share is None
    assert counts(report.totals) == (0,) * 10


@pytest.mark.parametrize(("day", "phase"), [(date(2024, 7, 19), 1), (date(2025, 1, 3), 2), (date(2026, 1, 9), None)])
def test_the_phase_is_the_action_plans_on_the_friday(engine: Engine, day: date, phase: int | None) -> None:
    with Session(engine) as session:
        report = weekly_report(session, day, ZONE, PLAN)
    assert (report.phase.number if report.phase else None) == phase


def camera(name: str, north: float, east: float, heading: float, **fields: Any) -> Camera:
    """A camera standing at (north, east) metres looking ``heading`` degrees, its observations 20 m ahead."""
    lat, lon = offset(north, east)
    return Camera(name=name, url=f"{name}.mp4", lat=lat, lon=lon, heading_deg=heading, offset_m=20.0, **fields)


def test_a_live_camera_facing_a_hotspot_covers_it(engine: Engine) -> None:
    ids = simulate_month(engine)
    registered = datetime(2025, 4, 1, tzinfo=UTC)
    with Session(engine) as session:
        session.add_all(
            [
                # faces M3 from 20 m west, in the evenings only: live in the week
                camera("m3-east", 300, 980, 90.0, schedule=["18:00-18:30"], created_at=registered),
                # faces M3 too, but was switched off before the week
                camera("m3-off", 280, 1000, 0.0, enabled=False, created_at=registered, updated_at=registered),
                # faces M2, registered only after the week
                camera("m2", 800, 30, 270.0, created_at=datetime(2025, 5, 12, tzinfo=UTC)),
                # looks away from M3 (its view lies 40 m from it)
                camera("m3-away", 300, 1020, 90.0, created_at=registered),
            ]
        )
        session.commit()
        report = weekly_report(session, date(2025, 5, 9), ZONE, PLAN)
    rows = {r.key: r for r in report.hotspots}
    assert {k: r.cameras for k, r in rows.items()} == {"M1": 0, "M2": 0, "M3": 1, "S": 0, "U": 0}
    assert rows["M3"].patrol == "clean" and rows["M3"].passes == 0 and rows["M3"].last_pass is None
    assert (report.not_patrolled, report.not_patrolled_share, report.totals.cameras) == (0, 0.0, 1)
    units = {u.key: u for u in report.units}
    assert (units["U1"].patrolled, units["U1"].coverage) == (4, 1.0)
    assert (units["U2"].patrolled, units["U2"].coverage) == (1, 1.0)
    assert ids["M3"] in units["U2"].hotspot_ids


def test_a_camera_is_live_in_its_schedule_from_its_registration_until_switched_off() -> None:
    start, end = week_bounds(date(2025, 5, 9), ZONE)  # Friday 05-02 16:00 to 05-09 16:00 UTC
    made = datetime(2025, 5, 1, tzinfo=UTC)
    assert live_in(camera("c", 0, 0, 0, created_at=made), start, end, ZONE)
    assert live_in(camera("c", 0, 0, 0, schedule=["03:05-03:10"], created_at=made), start, end, ZONE)
    late = datetime(2025, 5, 9, 15, 0, tzinfo=UTC)  # Friday 23:00 local
    assert not live_in(camera("c", 0, 0, 0, schedule=["08:00-20:00"], created_at=late), start, end, ZONE)
    assert live_in(camera("c", 0, 0, 0, schedule=["22:00-02:00"], created_at=late), start, end, ZONE)  # in it
    off = camera("c", 0, 0, 0, enabled=False, created_at=made, updated_at=datetime(2025, 5, 3, tzinfo=UTC))
    assert live_in(off, start, end, ZONE)  # switched off on Saturday, after the week began
