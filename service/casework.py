"""A reviewer's corrections to what matching did: merge two cases of one object, split sightings off into
a case of their own, reject one sighting, and undo one's own latest decision on a case.

The functions of the first part change cases already read and locked by
``service.decisions.decide_many`` (the caller commits); the requests at the end (what the API and the
web view share) run them so. Each audits each change as case events, and is reversible: a merge by ``unmerge``, a split
by merging the new case back, a rejected sighting by restoring it, any of them (and a review or status
decision) by ``undo`` while the case has not changed since.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from service.cases import record, restate
from service.decisions import decide_many
from service.messages import Refusal
from service.models.base import row_id
from service.models.cases import (
    Case,
    CaseAction,
    CaseEvent,
    CaseStatus,
    Expectation,
    MergeRequest,
    SightingRequest,
    SplitRequest,
)
from service.models.observations import ObservationRow
from service.settings import Settings
from service.writer import Writer

UNDOABLE = frozenset(
    {
        CaseAction.review,
        CaseAction.status,
        CaseAction.recategorize,
        CaseAction.merged,
        CaseAction.split_off,
        CaseAction.reject_sighting,
        CaseAction.restore_sighting,
    }
)
"""The decisions ``undo`` reverses (and "my decisions today" lists)."""


def sightings(session: Session, case_id: int) -> list[ObservationRow]:
    """Every sighting of a case, rejected ones included, in id order."""
    return list(
        session.exec(select(ObservationRow).where(ObservationRow.case_id == case_id).order_by(col(ObservationRow.id)))
    )


def move(session: Session, rows: Iterable[ObservationRow], case_id: int) -> list[int]:
    """Put the sightings ``rows`` into case ``case_id``; returns their ids. Flushes."""
    moved = []
    for obs in rows:
        obs.case_id = case_id
        session.add(obs)
        moved.append(row_id(obs))
    session.flush()
    return moved


def merge(session: Session, settings: Settings, source: Case, target: Case, at: datetime, user_id: int | None) -> None:
    """Move every sighting of ``source`` into ``target`` (same category); ``source`` becomes ``merged``
    and points at ``target``. Refusal for the same case, a merged one or different categories."""
    if row_id(source) == row_id(target):
        raise Refusal("merge_self")
    for case in (source, target):
        if case.status == CaseStatus.merged:
            raise Refusal("merged_already", case=row_id(case))
    if source.category != target.category:
        raise Refusal("merge_categories")
    moved = move(session, sightings(session, row_id(source)), row_id(target))
    record(
        session,
        source,
        CaseAction.merged,
        at,
        user_id,
        from_status=source.status,
        to_status=CaseStatus.merged,
        detail={"into": row_id(target), "observations": moved},
    )
    record(session, target, CaseAction.absorbed, at, user_id, detail={"from": row_id(source), "observations": moved})
    source.status, source.merged_into_id = CaseStatus.merged, row_id(target)
    restate(session, settings, source, at, user_id)
    restate(session, settings, target, at, user_id)


def merge_event(session: Session, source: Case) -> CaseEvent:
    """The event that merged ``source`` (Refusal when it is not merged)."""
    event = session.exec(
        select(CaseEvent)
        .where(CaseEvent.case_id == row_id(source), CaseEvent.action == CaseAction.merged)
        .order_by(col(CaseEvent.id).desc())
        .limit(1)
    ).first()
    if source.status != CaseStatus.merged or event is None:
        raise Refusal("not_merged", case=row_id(source))
    return event


def unmerge(
    session: Session, settings: Settings, source: Case, target: Case, at: datetime, user_id: int | None
) -> None:
    """Reverse the merge of ``source`` into ``target``: the sightings it gave that are still there go
    back, and ``source`` gets the status it had. Refusal when ``source`` is not merged into ``target``."""
    event = merge_event(session, source)
    if source.merged_into_id != row_id(target):
        raise Refusal("not_merged", case=row_id(source))
    given = set((event.detail or {}).get("observations", []))
    back = move(session, [o for o in sightings(session, row_id(target)) if o.id in given], row_id(source))
    previous = event.from_status or CaseStatus.new
    detail = {"into": row_id(target), "observations": back}
    record(
        session, source, CaseAction.unmerged, at, user_id, from_status=source.status, to_status=previous, detail=detail
    )
    record(session, target, CaseAction.unmerged, at, user_id, detail={"from": row_id(source), "observations": back})
    source.status, source.merged_into_id = previous, None
    restate(session, settings, source, at, user_id)
    restate(session, settings, target, at, user_id)


def split(
    session: Session, settings: Settings, source: Case, observation_ids: list[int], at: datetime, user_id: int | None
) -> Case:
    """A new case (status new, the category of ``source``) of the sightings ``observation_ids`` of
    ``source``; both cases' positions, errors and counts recomputed from their sightings. Refusal for
    sightings of another case, or for taking every counted sighting. Flushes; returns the new case."""
    if source.status == CaseStatus.merged:
        raise Refusal("merged_already", case=row_id(source))
    rows = sightings(session, row_id(source))
    wanted = set(observation_ids)
    taken = [o for o in rows if o.id in wanted]
    missing = sorted(wanted - {row_id(o) for o in taken})
    if missing:
        raise Refusal("not_in_case", ids=", ".join(map(str, missing)), case=row_id(source))
    if all(o.rejected or o.id in wanted for o in rows):
        raise Refusal("split_all")
    first = min(o.seen_at for o in taken)
    new = Case(category=source.category, first_seen=first, last_seen=first, created_at=at, updated_at=at)
    if source.lat is None:
        new.source = source.source
    session.add(new)
    session.flush()
    moved = move(session, taken, row_id(new))
    record(
        session,
        new,
        CaseAction.split_from,
        at,
        user_id,
        to_status=CaseStatus.new,
        detail={"from": row_id(source), "observations": moved},
    )
    record(session, source, CaseAction.split_off, at, user_id, detail={"to": row_id(new), "observations": moved})
    restate(session, settings, new, at, user_id)
    restate(session, settings, source, at, user_id)
    session.add(new)
    return new


def judge_sighting(
    session: Session,
    settings: Settings,
    case: Case,
    observation_id: int,
    rejected: bool,
    at: datetime,
    user_id: int | None,
) -> None:
    """Reject one sighting of ``case`` (it stays with the case but stops counting, and the training
    export takes it as a hard negative) or restore it. Refusal for a sighting of another case, one
    already so, or the case's last counted sighting."""
    obs = session.get(ObservationRow, observation_id)
    if obs is None or obs.case_id != row_id(case):
        raise Refusal("not_in_case", ids=str(observation_id), case=row_id(case))
    if obs.rejected == rejected:
        raise Refusal("sighting_unchanged")
    if rejected and case.observation_count <= 1:
        raise Refusal("last_sighting")
    obs.rejected = rejected
    session.add(obs)
    session.flush()
    action = CaseAction.reject_sighting if rejected else CaseAction.restore_sighting
    record(session, case, action, at, user_id, detail={"observation": observation_id})
    restate(session, settings, case, at, user_id)


# --- undo -------------------------------------------------------------------------------------


def latest_group(session: Session, case_id: int) -> list[CaseEvent]:
    """The events of the case's latest decision, oldest first: its last event that is no hotspot change,
    the hotspot changes it caused after it, and, for a review that also changed the category, that
    change before it (all made at one time by one user)."""
    events = list(
        session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id).desc()).limit(20))
    )
    group: list[CaseEvent] = []
    for event in events:
        if group and (event.at, event.user_id) != (group[0].at, group[0].user_id):
            break
        decided = [e.action for e in group if e.action != CaseAction.hotspot]
        with_category = decided == [CaseAction.review] and event.action == CaseAction.recategorize
        if decided and not with_category:
            break
        group.append(event)
    return group[::-1]


def undo_partner(session: Session, case_id: int) -> int | None:
    """The other case an undo of the case's latest decision changes too (a merge's target, a split's new
    case); None when there is none."""
    for event in latest_group(session, case_id):
        detail = event.detail or {}
        if event.action == CaseAction.merged:
            return int(detail["into"])
        if event.action == CaseAction.split_off:
            return int(detail["to"])
    return None


def undoable(session: Session, case_id: int, user_id: int) -> list[CaseEvent]:
    """The events of the case's latest decision when it was ``user_id``'s and can be undone; Refusal else."""
    group = latest_group(session, case_id)
    decisions = [e for e in group if e.action != CaseAction.hotspot]
    if not decisions or group[0].user_id != user_id or any(e.action not in UNDOABLE for e in decisions):
        raise Refusal("nothing_to_undo")
    return group


def _partner_untouched(session: Session, partner: Case, event: CaseEvent) -> None:
    """Refusal unless the partner case's latest decision is the other half of ``event``."""
    if [(e.at, e.user_id) for e in latest_group(session, row_id(partner))][:1] != [(event.at, event.user_id)]:
        raise Refusal("nothing_to_undo")


def undo(
    session: Session,
    settings: Settings,
    case: Case,
    partner: Case | None,
    at: datetime,
    user_id: int,
) -> None:
    """Reverse ``user_id``'s latest decision on ``case`` (see ``undoable``; ``partner``: the case of
    ``undo_partner``, locked too), audited as one ``undo`` event naming the events it reversed."""
    group = undoable(session, row_id(case), user_id)
    before = case.status
    for event in reversed(group):
        detail: dict[str, Any] = event.detail or {}
        if event.action in (CaseAction.review, CaseAction.status) and event.from_status is not None:
            if event.to_status == CaseStatus.resolved:
                case.resolved_at = None
            case.status = event.from_status
        elif event.action == CaseAction.recategorize:
            case.category = detail["from"]
        elif event.action in (CaseAction.reject_sighting, CaseAction.restore_sighting):
            obs = session.get_one(ObservationRow, detail["observation"])
            obs.rejected = event.action == CaseAction.restore_sighting
            session.add(obs)
            session.flush()
        elif event.action in (CaseAction.merged, CaseAction.split_off):
            if partner is None:
                raise Refusal("nothing_to_undo")
            _partner_untouched(session, partner, event)
            if event.action == CaseAction.merged:
                unmerge(session, settings, case, partner, at, user_id)
            else:
                merge(session, settings, partner, case, at, user_id)
    to_status = case.status if case.status != before else None
    detail = {"events": [row_id(e) for e in group]}
    record(
        session,
        case,
        CaseAction.undo,
        at,
        user_id,
        from_status=before if to_status else None,
        to_status=to_status,
        detail=detail,
    )
    restate(session, settings, case, at, user_id)


def my_decisions(session: Session, user_id: int, since: datetime) -> list[tuple[CaseEvent, Case]]:
    """``user_id``'s decisions (and undos) since ``since``, newest first, with their cases."""
    actions = [*UNDOABLE, CaseAction.undo]
    stmt = (
        select(CaseEvent, Case)
        .join(Case, col(CaseEvent.case_id) == Case.id)
        .where(CaseEvent.user_id == user_id, col(CaseEvent.at) >= since, col(CaseEvent.action).in_(actions))
        .order_by(col(CaseEvent.id).desc())
    )
    return list(session.exec(stmt).all())


# --- requests (the API and the web view share these) -------------------------------------------


class Casework:
    """One user's corrections through ``decide_many``: each raises LookupError (no such case), Conflict
    (a case not as the client saw it) or Refusal, and changes nothing then."""

    def __init__(self, session: Session, writer: Writer, settings: Settings, at: datetime, user_id: int) -> None:
        self.session, self.writer, self.settings, self.at, self.user_id = session, writer, settings, at, user_id

    def merge(self, case_id: int, body: MergeRequest) -> Case:
        """Merge case ``case_id`` into ``body.into``; returns the case merged into."""
        if body.into == case_id:
            raise Refusal("merge_self")

        def apply(cases: dict[int, Case]) -> Case:
            merge(self.session, self.settings, cases[case_id], cases[body.into], self.at, self.user_id)
            return cases[body.into]

        seen = {case_id: body, body.into: Expectation(version=body.into_version)}
        return decide_many(self.session, self.writer, seen, apply)

    def unmerge(self, case_id: int, seen: Expectation) -> Case:
        """Reverse the merge of case ``case_id``; returns it."""
        case = self.session.get(Case, case_id)
        if case is None:
            raise LookupError(f"no case {case_id}")
        into = case.merged_into_id
        if into is None:
            raise Refusal("not_merged", case=case_id)

        def apply(cases: dict[int, Case]) -> Case:
            unmerge(self.session, self.settings, cases[case_id], cases[into], self.at, self.user_id)
            return cases[case_id]

        return decide_many(self.session, self.writer, {case_id: seen, into: Expectation()}, apply)

    def split(self, case_id: int, body: SplitRequest) -> tuple[Case, Case]:
        """Split ``body.observation_ids`` off case ``case_id``; returns it and the new case."""

        def apply(cases: dict[int, Case]) -> tuple[Case, Case]:
            source = cases[case_id]
            return source, split(self.session, self.settings, source, body.observation_ids, self.at, self.user_id)

        return decide_many(self.session, self.writer, {case_id: body}, apply)

    def judge(self, case_id: int, observation_id: int, body: SightingRequest) -> Case:
        """Reject (or restore) one sighting of case ``case_id``; returns the case."""

        def apply(cases: dict[int, Case]) -> Case:
            case = cases[case_id]
            judge_sighting(self.session, self.settings, case, observation_id, body.rejected, self.at, self.user_id)
            return case

        return decide_many(self.session, self.writer, {case_id: body}, apply)

    def undo(self, case_id: int, version: int) -> Case:
        """Undo the user's latest decision on case ``case_id`` if it still has ``version``; returns it."""
        partner = undo_partner(self.session, case_id)

        def apply(cases: dict[int, Case]) -> Case:
            case = cases[case_id]
            undo(self.session, self.settings, case, cases.get(partner or 0), self.at, self.user_id)
            return case

        seen = {case_id: Expectation(version=version), **({partner: Expectation()} if partner else {})}
        return decide_many(self.session, self.writer, seen, apply)
