"""The operations plan file (units, SLA table, phases) and its pure decisions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from service.auth.users import user_for_token
from service.cli import main
from service.models.hotspots import HotspotKind
from service.operations import Plan, load_plan, phase_at
from vision import SAMPLES_DIR

SHIPPED = SAMPLES_DIR / "jincheng-operations.yaml"


def test_shipped_plan_has_the_deadlines_and_phases_of_the_action_plan() -> None:
    plan = load_plan(SHIPPED)
    vendor_on_street = plan.sla.deadline("street_vendor", HotspotKind.strict_street)
    assert (vendor_on_street.due_h, vendor_on_street.escalate_h) == (2, 4)
    assert plan.sla.deadline("street_vendor", HotspotKind.road_market).due_h == 4  # no override: the category's
    assert plan.sla.deadline("street_vendor", None).due_h == 4
    assert plan.sla.deadline("goods_spill", None).due_h == 24
    assert plan.sla.deadline("outdoor_ad", None).due_h == 72
    assert plan.sla.deadline("parking", None) == plan.sla.default
    assert [(p.start, p.end) for p in plan.phases] == [
        (date(2024, 7, 15), date(2024, 11, 30)),
        (date(2024, 12, 1), date(2025, 4, 30)),
        (date(2025, 5, 1), date(2025, 12, 31)),
    ]
    assert [(b.number, b.start) for b in plan.batches] == [(1, date(2024, 7, 15)), (2, date(2024, 12, 1))]
    assert plan.hours == {HotspotKind.school_zone: ["07:00-08:30", "11:30-12:30", "16:30-18:00"]}
    keys = [key for unit in plan.units for key in unit.get("hotspots", [])]
    assert len(keys) == len(set(keys)) == 19  # every catalog hotspot in exactly one brigade


@pytest.mark.parametrize(
    ("at", "phase"),
    [
        (datetime(2024, 7, 14, 15, 59, tzinfo=UTC), None),  # 23:59 on 14 July in Jincheng
        (datetime(2024, 7, 14, 16, 0, tzinfo=UTC), 1),
        (datetime(2024, 11, 30, 16, 0, tzinfo=UTC), 2),
        (datetime(2025, 12, 31, 15, 0, tzinfo=UTC), 3),
        (datetime(2025, 12, 31, 16, 0, tzinfo=UTC), None),
    ],
)
def test_phase_at_goes_by_the_local_date(at: datetime, phase: int | None) -> None:
    found = phase_at(load_plan(SHIPPED), at, "Asia/Shanghai")
    assert (found.number if found else None) == phase


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("sla: {default: {due_h: 0, escalate_h: 1}}", "greater than 0"),
        ("phases: [{number: 1, name: x, start: 2024-13-01, end: 2024-12-01}]", "not YAML"),
        ("phases: [{number: 1, name: x, start: 2024-12-02, end: 2024-12-01}]", "phase 1 ends before it starts"),
        (
            "phases: [{number: 1, name: a, start: 2024-01-01, end: 2024-12-01}, "
            "{number: 2, name: b, start: 2024-12-01, end: 2025-01-01}]",
            "phase 2 starts before phase 1 ends",
        ),
        ("slas: {}", "slas"),
        ("hours: {public_place: ['07:00-08:00']}", "a public_place has none"),
        ("hours: {school_zone: ['7-8']}", "HH:MM-HH:MM"),
        ("batches: [{number: 3, start: 2024-07-15}]", "less than or equal to 2"),
        ("sla: [", "not YAML"),
    ],
)
def test_bad_plan_files_are_refused_naming_the_problem(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=reason):
        load_plan(path)


def test_no_plan_file_is_an_empty_plan() -> None:
    assert load_plan(None) == Plan()


@pytest.mark.parametrize("role", ["dispatcher", "field_officer"])
def test_cli_adds_the_operations_roles(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], role: str
) -> None:
    monkeypatch.setenv("STREETSCAN_DATABASE_URL", database_url)
    assert main(["user", "add", "zhang", "--role", role]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    with Session(engine) as session:
        user = user_for_token(session, token)
        assert user is not None and (user.name, user.role) == ("zhang", role)
