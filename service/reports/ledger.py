"""The counting under the weekly report: one read of the case audit trail up to a week's end, tallied per
hotspot (what happened at each place) and per unit (what each unit was sent and did), and the sightings of
the week.

A tally maps a figure's name to the ids it counts (cases, audit events or observations), so a group of
hotspots counts the union of its members'. The unit of an event is the one the case was dispatched to
then (the audit trail's dispatch ``detail``), its deadline that dispatch's ``due_at``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Select, func
from sqlmodel import Session, col, or_, select

from service.cases import OPEN
from service.models.base import row_id
from service.models.cases import Case, CaseAction, CaseEvent, CaseStatus
from service.models.observations import ObservationRow
from service.models.operations import DisposalKind

STATUS_FIGURES = {
    CaseStatus.confirmed: "confirmed",
    CaseStatus.rejected: "rejected",
    CaseStatus.dispatched: "dispatched",
    CaseStatus.resolved: "resolved",
    CaseStatus.closed: "closed",
}
"""The hotspot figure counting the cases that reached each status in the week."""
OPERATIONS = (CaseAction.dispatch, CaseAction.disposal, CaseAction.verification)
"""Audit actions read even when they leave the status alone (a transfer, a second disposal, a passed check)."""

Tally = dict[str, set[int]]
"""Figure name -> the ids it counts."""


def disposed_figure(kind: DisposalKind | str) -> str:
    """The figure counting the disposals of ``kind``, e.g. ``disposed_fined``."""
    return f"disposed_{DisposalKind(kind).value}"


@dataclass
class Tallies:
    """Tallies by key: a hotspot id (None: cases tied to no hotspot) or a unit id."""

    by_key: dict[int | None, Tally] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))

    def add(self, key: int | None, figure: str, item: int) -> None:
        self.by_key[key][figure].add(item)

    def union(self, keys: Iterable[int | None]) -> Tally:
        merged: Tally = defaultdict(set)
        for key in keys:
            for figure, items in self.by_key.get(key, {}).items():
                merged[figure] |= items
        return merged


@dataclass
class Track:
    """A case while its trail is read: its status, unit and deadline now, and when it was last confirmed."""

    status: CaseStatus | None = None
    unit_id: int | None = None
    due_at: datetime | None = None
    confirmed_at: datetime | None = None


@dataclass
class Ledger:
    """One week's tallies: ``hotspots`` by hotspot id, ``units`` by unit id (``dispatched``, ``closed``:
    case ids; ``disposed``, ``on_time``: disposal event ids; ``overdue``: case ids); ``dispose_hours``
    the hours from confirmation to each disposal that resolved a case in the week, by its event id;
    ``last_pass`` the last moment a patrol pass covered each hotspot (when coverage is tallied in)."""

    hotspots: Tallies = field(default_factory=Tallies)
    units: Tallies = field(default_factory=Tallies)
    dispose_hours: dict[int, float] = field(default_factory=dict)
    last_pass: dict[int, datetime] = field(default_factory=dict)

    def median_dispose_h(self, tally: Tally) -> float | None:
        """The median hours from confirmation to disposal of the disposals in ``tally`` (None without any),
        to a tenth of an hour."""
        hours = [self.dispose_hours[i] for i in tally.get("disposed", ())]
        return round(statistics.median(hours), 1) if hours else None


def open_at(moment: datetime) -> Select[tuple[int]]:
    """The ids of the cases open at ``moment``: their latest status change before it left them open."""
    latest = func.row_number().over(
        partition_by=col(CaseEvent.case_id), order_by=(col(CaseEvent.at).desc(), col(CaseEvent.id).desc())
    )
    changes = (
        select(col(CaseEvent.case_id), col(CaseEvent.to_status), latest.label("latest"))
        .where(col(CaseEvent.to_status).is_not(None), col(CaseEvent.at) < moment)
        .subquery()
    )
    return select(changes.c.case_id).where(changes.c.latest == 1, changes.c.to_status.in_([s.value for s in OPEN]))


def read_ledger(session: Session, start: datetime, end: datetime) -> Ledger:
    """Case events and sightings in [start, end), and the cases open (and overdue) at ``end``. The trail
    before ``start`` is read only for the cases it changes in the week or open at its start: no other case
    counts."""
    ledger = Ledger()
    counted = or_(col(CaseEvent.to_status).is_not(None), col(CaseEvent.action).in_(OPERATIONS))
    relevant = select(CaseEvent.case_id).where(col(CaseEvent.at) >= start, col(CaseEvent.at) < end)
    events = session.exec(
        select(CaseEvent, Case.hotspot_id)
        .join(Case, col(Case.id) == CaseEvent.case_id)
        .where(counted, col(CaseEvent.at) < end)
        .where(or_(col(CaseEvent.at) >= start, col(CaseEvent.case_id).in_(relevant.union(open_at(start)))))
        .order_by(col(CaseEvent.at), col(CaseEvent.id))
    )
    tracks: dict[int, tuple[Track, int | None]] = {}
    for event, hotspot_id in events:
        track = tracks.setdefault(event.case_id, (Track(), hotspot_id))[0]
        follow(track, event)
        if event.at >= start:
            count(ledger, event, hotspot_id, track)
    for case_id, (track, hotspot_id) in tracks.items():
        if track.status in OPEN:
            ledger.hotspots.add(hotspot_id, "open_at_end", case_id)
        late = track.due_at is not None and track.due_at < end
        if track.status == CaseStatus.dispatched and late:
            ledger.hotspots.add(hotspot_id, "overdue", case_id)
            ledger.units.add(track.unit_id, "overdue", case_id)
    seen = session.exec(
        select(ObservationRow.id, Case.hotspot_id)
        .join(Case, col(Case.id) == ObservationRow.case_id)
        .where(col(ObservationRow.seen_at) >= start, col(ObservationRow.seen_at) < end)
    )
    for observation_id, hotspot_id in seen:
        ledger.hotspots.add(hotspot_id, "sightings", cast(int, observation_id))  # a stored row's id
    return ledger


def follow(track: Track, event: CaseEvent) -> None:
    """Move a case's ``track`` past one of its audit events."""
    if event.action == CaseAction.dispatch and event.detail:
        track.unit_id, track.due_at = event.detail.get("unit_id"), datetime.fromisoformat(event.detail["due_at"])
    if event.to_status == CaseStatus.confirmed:
        track.confirmed_at = event.at
    if event.to_status is not None:
        track.status = CaseStatus(event.to_status)


def count(ledger: Ledger, event: CaseEvent, hotspot_id: int | None, track: Track) -> None:
    """Count one audit event of the week, its case's ``track`` already past it."""
    case_id, detail, event_id = event.case_id, event.detail or {}, row_id(event)
    if event.action == CaseAction.created:
        ledger.hotspots.add(hotspot_id, "new", case_id)
    elif event.action == CaseAction.recurrence:
        ledger.hotspots.add(hotspot_id, "recurrences", event_id)
    elif event.action == CaseAction.dispatch:
        ledger.units.add(track.unit_id, "dispatched", case_id)
    elif event.action == CaseAction.disposal:
        ledger.hotspots.add(hotspot_id, disposed_figure(detail["kind"]), event_id)
    elif event.action == CaseAction.verification and detail.get("passed"):
        ledger.hotspots.add(hotspot_id, "verified", case_id)
    if event.to_status in STATUS_FIGURES:
        ledger.hotspots.add(hotspot_id, STATUS_FIGURES[CaseStatus(event.to_status)], case_id)
    if event.to_status == CaseStatus.closed:
        ledger.units.add(track.unit_id, "closed", case_id)
    if event.action == CaseAction.disposal and event.to_status == CaseStatus.resolved:  # the round's first
        ledger.hotspots.add(hotspot_id, "disposed", event_id)
        ledger.units.add(track.unit_id, "disposed", event_id)
        if track.due_at is not None and event.at <= track.due_at:
            ledger.units.add(track.unit_id, "on_time", event_id)
        if track.confirmed_at is not None:
            ledger.dispose_hours[event_id] = (event.at - track.confirmed_at).total_seconds() / 3600
