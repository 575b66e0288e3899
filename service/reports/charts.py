"""The weekly report's charts, drawn offline with matplotlib (Agg, no display, nothing downloaded) as PNG:
new cases per week per category over the campaign, cases open per hotspot at the week's end, and when
violations are seen (local hour × weekday over the last four weeks: the basis for staggered-hours patrols).

Labels are Chinese when a CJK font is installed (Noto Sans CJK, fonts-noto-cjk), English otherwise, so a
chart never shows missing glyphs.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sqlmodel import Session, col, select

from service.categories import category_policies
from service.models.cases import Case, CaseAction, CaseEvent
from service.models.observations import ObservationRow
from service.reports.text import CHART_TEXT
from service.reports.weekly import WeeklyReport, week_bounds, week_ending

CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Noto Sans CJK JP")
HEATMAP_WEEKS = 4
MAX_BARS = 20
WEEKDAYS = {True: "一二三四五六日", False: "MTWTFSS"}


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family of an installed CJK font, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def label(key: str) -> str:
    """A chart label in Chinese when a CJK font can draw it, else in English."""
    return CHART_TEXT[key][0 if cjk_font() else 1]


@contextmanager
def chart(height_in: float = 3.6) -> Iterator[Figure]:
    """A 9-inch-wide figure at 100 dpi, drawn (inside the block) with the CJK font when there is one."""
    with matplotlib.rc_context({"font.sans-serif": [cjk_font() or "DejaVu Sans", "DejaVu Sans"]}):
        figure = Figure(figsize=(9.0, height_in), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        yield figure


def png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


# --- data -------------------------------------------------------------------------------------


def campaign_weeks(last: date, campaign_start: date | None) -> list[date]:
    """The Fridays from the campaign's first week (or twelve weeks back, when later or unknown) to ``last``."""
    first = last - timedelta(weeks=11)
    if campaign_start is not None:
        first = min(week_ending(campaign_start), first)
    return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


def new_cases_per_week(session: Session, weeks: list[date], zone: ZoneInfo) -> dict[str, list[int]]:
    """Category -> cases created in each of the weeks ending on ``weeks`` (consecutive Fridays)."""
    start, _ = week_bounds(weeks[0], zone)
    _, end = week_bounds(weeks[-1], zone)
    rows = session.exec(
        select(CaseEvent.at, Case.category)
        .join(Case, col(Case.id) == CaseEvent.case_id)
        .where(CaseEvent.action == CaseAction.created, col(CaseEvent.at) >= start, col(CaseEvent.at) < end)
    )
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(weeks))
    for at, category in rows:
        counts[category][(at - start).days // 7] += 1
    return dict(counts)


def sightings_by_hour(session: Session, last: date, zone: ZoneInfo) -> np.ndarray:
    """(7, 24) int array: observations seen in the ``HEATMAP_WEEKS`` weeks ending ``last``, by local weekday
    (Monday first) and hour."""
    start, _ = week_bounds(last - timedelta(weeks=HEATMAP_WEEKS - 1), zone)
    _, end = week_bounds(last, zone)
    grid = np.zeros((7, 24), dtype=np.int64)
    stmt = select(ObservationRow.seen_at).where(
        col(ObservationRow.case_id).is_not(None),
        col(ObservationRow.seen_at) >= start,
        col(ObservationRow.seen_at) < end,
    )
    for seen in session.exec(stmt):
        local = seen.astimezone(zone)
        grid[local.weekday(), local.hour] += 1
    return grid


# --- drawing ----------------------------------------------------------------------------------


def cases_per_week_chart(weeks: list[date], counts: dict[str, list[int]], names: dict[str, str]) -> bytes:
    """Lines of new cases per week, one per category (``names``: category id -> label)."""
    with chart() as figure:
        ax = figure.add_subplot()
        for category, values in sorted(counts.items()):
            ax.plot(
                np.array(weeks, dtype="datetime64[D]"),
                values,
                marker="o",
                markersize=3,
                label=names.get(category, category),
            )
        ax.set_title(label("cases_per_week"))
        ax.set_xlabel(label("week"))
        ax.set_ylabel(label("cases"))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if counts:
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, label("none"), transform=ax.transAxes, ha="center")
        figure.autofmt_xdate()
        return png(figure)


def open_by_hotspot_chart(report: WeeklyReport) -> bytes:
    """Bars of the cases open at the week's end per hotspot (the ``MAX_BARS`` most)."""
    rows = sorted((h for h in report.hotspots if h.open_at_end), key=lambda h: (-h.open_at_end, h.id))[:MAX_BARS]
    with chart(max(2.4, 0.9 + 0.28 * len(rows))) as figure:
        ax = figure.add_subplot()
        ax.barh([h.name if cjk_font() else h.key for h in reversed(rows)], [h.open_at_end for h in reversed(rows)])
        ax.set_title(label("open_by_hotspot"))
        ax.set_xlabel(label("cases"))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if not rows:
            ax.text(0.5, 0.5, label("none"), transform=ax.transAxes, ha="center")
        return png(figure)


def heatmap_chart(grid: np.ndarray) -> bytes:
    """A weekday × hour heatmap of sightings (``grid`` from ``sightings_by_hour``)."""
    with chart(3.2) as figure:
        ax = figure.add_subplot()
        image = ax.imshow(grid, aspect="auto", cmap="OrRd", vmin=0)
        ax.set_xticks(range(0, 24, 2))
        ax.set_yticks(range(7), list(WEEKDAYS[cjk_font() is not None]))
        ax.set_title(label("time_heatmap"))
        ax.set_xlabel(label("hour"))
        ax.set_ylabel(label("weekday"))
        figure.colorbar(image, ax=ax)
        return png(figure)


def report_charts(session: Session, report: WeeklyReport, taxonomy_path: Path | None) -> dict[str, bytes]:
    """The report's charts as PNG, by name (the keys of ``CHART_TEXT`` that title them); categories named as the
    taxonomy at ``taxonomy_path`` names them."""
    zone = ZoneInfo(report.timezone)
    names = {c: p.zh if cjk_font() else p.en for c, p in category_policies(taxonomy_path).items()}
    weeks = campaign_weeks(report.week, report.campaign_start)
    return {
        "cases_per_week": cases_per_week_chart(weeks, new_cases_per_week(session, weeks, zone), names),
        "open_by_hotspot": open_by_hotspot_chart(report),
        "time_heatmap": heatmap_chart(sightings_by_hour(session, report.week, zone)),
    }
