"""Sampling clocks: a fixed rate, or one frame every few metres of travel along a GPS track."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vision.geo import GpsTrack, destination
from vision.sampling import DistanceSampling, SampleClock

START = datetime(2025, 5, 9, 9, 30, tzinfo=UTC)


def drive(speeds: Sequence[float], start: datetime = START) -> GpsTrack:
    """A 1 Hz track heading east, ``speeds[k]`` m/s during second k."""
    lat, lon = [35.497], [112.851]
    for v in speeds:
        la, lo = destination(lat[-1], lon[-1], 90.0, v)
        lat.append(la)
        lon.append(lo)
    t = [start.timestamp() + k for k in range(len(speeds) + 1)]
    return GpsTrack(t, lat, lon)


def per_second(clock: SampleClock, seconds: int) -> list[int]:
    """Slots counted over each second k..k+1."""
    return [clock.slot(k + 1) - clock.slot(k) for k in range(seconds)]


def test_time_clock_ticks_fps_times_a_second() -> None:
    clock = SampleClock(5.0)
    assert [clock.slot(t) for t in (0.0, 0.19, 0.2, 1.0, 2.45)] == [0, 0, 1, 5, 12]
    assert clock.lowest_rate() == 5.0
    assert not clock.standing_still(1.0)


def test_one_frame_every_so_many_metres_between_the_rate_limits() -> None:
    # 4 m/s for 3 s, stopped 4 s, 1 m/s for 2 s, 20 m/s for 2 s
    clock = SampleClock.by_distance(
        5.0, drive([4] * 3 + [0] * 4 + [1] * 2 + [20] * 2), START, DistanceSampling(0.8, 1.0, 10.0)
    )
    assert per_second(clock, 11) == [5] * 3 + [1] * 4 + [1, 1] + [10, 10]
    assert clock.lowest_rate() == pytest.approx(1.0)
    assert clock.lowest_rate(0.0, 2.5) == pytest.approx(5.0) and clock.lowest_rate(2.5, 4.0) == pytest.approx(1.0)
    assert clock.lowest_rate(20.0, 30.0) == 5.0  # after the track: by time
    assert clock.standing_still(4.5) and not clock.standing_still(2.5) and not clock.standing_still(7.5)
    assert clock.still_seconds(100.0) == pytest.approx(4.0)
    assert clock.still_seconds(5.0) == pytest.approx(2.0)


def test_time_sampling_outside_the_track() -> None:
    # the video starts 2 s before the track's first fix and runs on after its last
    clock = SampleClock.by_distance(5.0, drive([0] * 3), START - timedelta(seconds=2), DistanceSampling())
    counts = per_second(clock, 8)
    assert counts[:2] == [5, 5] and counts[2:5] == [1, 1, 1] and counts[5:] == [5, 5, 5]


def test_gap_in_the_track_is_sampled_by_time() -> None:
    track = drive([0, 0])
    gappy = GpsTrack(
        np.append(track.t, track.t[-1] + 30), np.append(track.lat, track.lat[-1]), np.append(track.lon, track.lon[-1])
    )
    clock = SampleClock.by_distance(5.0, gappy, START, DistanceSampling())
    assert per_second(clock, 6) == [1, 1, 5, 5, 5, 5]


def test_without_a_recording_start_an_absolute_track_cannot_be_placed() -> None:
    clock = SampleClock.by_distance(5.0, drive([0] * 5), None, DistanceSampling())
    assert per_second(clock, 3) == [5, 5, 5]


def test_recorded_speed_is_preferred_to_fix_jitter() -> None:
    jitter = drive([1.5, 1.5, 1.5])  # GPS noise of a parked car
    parked = GpsTrack(jitter.t, jitter.lat, jitter.lon, speed=[0.0] * 4)
    assert per_second(SampleClock.by_distance(5.0, parked, START, DistanceSampling()), 3) == [1, 1, 1]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        DistanceSampling(every_m=0)
    with pytest.raises(ValueError):
        DistanceSampling(min_fps=5, max_fps=2)


def test_gps_noise_does_not_shift_the_sampled_frames() -> None:
    noisy = drive([4.0 + 0.01 * (-1) ** k for k in range(10)])  # 5 frames/s at 0.8 m, give or take the noise
    by_distance = SampleClock.by_distance(5.0, noisy, START, DistanceSampling(0.8))
    times = np.arange(0, 10, 1 / 30)
    assert [by_distance.slot(t) for t in times] == [SampleClock(5.0).slot(t) for t in times]
