"""The report's charts: their data counted by hand on the simulated month, and PNGs drawn without a
missing glyph."""

from __future__ import annotations

import warnings
from datetime import date

import cv2
import numpy as np
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from service.reports.charts import (
    campaign_weeks,
    cjk_font,
    heatmap_chart,
    new_cases_per_week,
    report_charts,
    sightings_by_hour,
)
from service.reports.weekly import weekly_report
from tests.service.month import PLAN, ZONE, simulate_month

FRIDAY = date(2025, 5, 9)


def test_the_chart_data_match_the_hand_count(engine: Engine) -> None:
    simulate_month(engine)
    weeks = campaign_weeks(FRIDAY, PLAN.phases[0].start)
    assert weeks[0] == date(2024, 7, 19) and weeks[-1] == FRIDAY and len(weeks) == 43  # the campaign's weeks
    with Session(engine) as session:
        per_week = new_cases_per_week(session, weeks, ZONE)
        grid = sightings_by_hour(session, FRIDAY, ZONE)
    assert per_week["street_vendor"][-3:] == [1, 2, 5]  # E; A F; B C D G H
    assert sum(per_week["street_vendor"]) == 8
    expected = np.zeros((7, 24), dtype=np.int64)
    expected[0, 10] = 3  # Mondays 10:01 and 10:02: A on 04-28, A again and B on 05-05
    expected[0, 11] = 1  # H, Monday 11:00
    expected[1, 11] = 1  # D, Tuesday 11:00
    expected[5, 9] = 1  # G, Saturday 09:00
    expected[3, 15] = 1  # C, Thursday 15:01
    expected[6, 9] = 2  # E and F, Sundays 09:00
    assert np.array_equal(grid, expected)


def test_the_charts_are_drawn_with_every_glyph(engine: Engine) -> None:
    simulate_month(engine)
    with Session(engine) as session, warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of each glyph its font lacks
        charts = report_charts(session, weekly_report(session, FRIDAY, ZONE, PLAN), None)
    assert list(charts) == ["cases_per_week", "open_by_hotspot", "time_heatmap"]
    for image in charts.values():
        decoded = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape[1] == 900 and decoded.std() > 5  # 9 in at 100 dpi, not blank


@pytest.mark.skipif(cjk_font() is None, reason="no CJK font installed")
def test_chinese_labels_come_with_a_cjk_font() -> None:
    assert cjk_font() == "Noto Sans CJK SC"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        heatmap_chart(np.ones((7, 24), dtype=np.int64))
