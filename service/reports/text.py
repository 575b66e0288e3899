"""The wording of the weekly report, shared by the page and every file: its title, the summary lines, the
tables of the CSV and XLSX files (places, then units), the hotspot sections of the page, how a figure is
shown and the charts' labels."""

from __future__ import annotations

from service.labels import UNIT_KIND
from service.reports.units import RATES, UNIT_FIGURES
from service.reports.weekly import FIGURES, PATROL, HotspotWeek, WeeklyReport

Cell = str | int | float | None
HEADER = ["范围", "名称", "批次", "巡查情况", *(zh for zh, _ in FIGURES.values())]
"""The places' table's columns: scope, name, batch, patrol state, then the figures."""
UNIT_HEADER = ["单位", "类型", *(zh for zh, _ in UNIT_FIGURES.values())]
"""The units' table's columns: name, kind, then the unit figures (shares as fractions: 0.5 is 50 %)."""

CHART_TEXT = {
    "cases_per_week": ("每周新增案件（按类别）", "New cases per week, by category"),
    "open_by_hotspot": ("周末未结案件（按热点）", "Open cases at the week's end, by hotspot"),
    "time_heatmap": ("发现时段分布（近四周，时 × 星期）", "Sightings by hour and weekday (last four weeks)"),
    "week": ("周（截至周五）", "week ending"),
    "cases": ("案件数", "cases"),
    "hour": ("时", "hour"),
    "weekday": ("星期", "weekday"),
    "none": ("无数据", "no data"),
}
"""The charts' titles and axis labels, (zh, en); the first three name the charts."""


def report_title(bureau: str) -> str:
    """The report's title, e.g. 晋城市城市管理局市容环境整治周报告."""
    return f"{bureau}市容环境整治周报告"


def summary(report: WeeklyReport) -> list[str]:
    """The lines under the title: the period, the phase, the patrol coverage (or that nothing happened)."""
    lines = [f"统计周期：{report.first_day:%Y年%m月%d日} 至 {report.week:%Y年%m月%d日}（周六至周五）"]
    phase = report.phase
    if phase is None:
        lines.append("整治阶段：行动方案期外")
    else:
        number = "一二三四五六七八九"[phase.number - 1] if phase.number <= 9 else str(phase.number)
        lines.append(f"整治阶段：第{number}阶段：{phase.name}")
    if report.not_patrolled_share is not None:
        share = f"{report.not_patrolled_share:.0%}"
        lines.append(f"已定位热点 {report.located} 处，本周未巡查 {report.not_patrolled} 处（占 {share}）")
    if report.empty:
        lines.append("本周无巡查、发现或案件记录。")
    return lines


def table(report: WeeklyReport) -> list[list[Cell]]:
    """The report's rows under ``HEADER``: the totals, the week before, the change, groups, hotspots."""
    rows: list[list[Cell]] = [
        ["合计", "本周", None, None, *report.totals.values()],
        ["合计", "上周", None, None, *report.previous.values()],
        ["合计", "环比变化", None, None, *report.change.values()],
    ]
    rows += [["分组", g.name, None, None, *g.values()] for g in report.groups]
    rows += [["热点", h.name, h.batch, PATROL[h.patrol][0], *h.values()] for h in report.hotspots]
    return rows


def unit_table(report: WeeklyReport) -> list[list[Cell]]:
    """The units' rows under ``UNIT_HEADER``."""
    return [[u.name, UNIT_KIND[u.kind][0], *u.values()] for u in report.units]


def shown(value: Cell, figure: str = "", signed: bool = False) -> str:
    """A figure as the page prints it: ``—`` for none, a share (``figure`` in ``RATES``) as a percentage, hours
    to a tenth, a change with its sign."""
    if value is None:
        return "—"
    if figure in RATES and isinstance(value, float):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:+.1f}" if signed else f"{value:.1f}"
    if signed and isinstance(value, int) and value:
        return f"{value:+d}"
    return str(value)


def sections(report: WeeklyReport) -> list[tuple[str, list[HotspotWeek]]]:
    """The hotspots under headings: each group's (batches, strict streets), then the rest; empty ones left out."""
    by_id = {h.id: h for h in report.hotspots}
    grouped = [(g.name, [by_id[i] for i in g.hotspot_ids]) for g in report.groups]
    seen = {i for g in report.groups for i in g.hotspot_ids}
    grouped.append(("其他热点", [h for h in report.hotspots if h.id not in seen]))
    return [(name, rows) for name, rows in grouped if rows]
