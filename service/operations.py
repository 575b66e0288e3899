"""Campaign operations after a case is confirmed (GB/T 30428: 立案 → 派遣 → 处置 → 核查 → 结案):
units, dispatch with deadlines from the SLA table, escalation of overdue cases, disposal,
verification, and the campaign's phases.

The plan file (``Settings.operations_file``, YAML) seeds the units and the campaign calendar
(phases, batch starts: ``service.campaign`` keeps them after that) and holds the deadlines. Every
change of a case here is in its audit trail. Times are aware UTC; deadlines hours.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import ColumnElement, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from service.cases import change_status, position, record
from service.evidence import has_image, is_key
from service.geometry import distance_m, point
from service.models.base import Hours, row_id, validation_message
from service.models.campaign import BatchStart
from service.models.cases import Case, CaseAction, CaseStatus
from service.models.hotspots import HOURS_KINDS, Hotspot, HotspotKind
from service.models.operations import (
    AssignmentPublic,
    CaseAssignment,
    Disposal,
    DisposalKind,
    Unit,
    UnitCreate,
    UnitKind,
    Verification,
    VerifyMethod,
    VerifyRequest,
)
from service.models.patrols import PatrolPass
from service.models.users import Role, User
from service.models.webhooks import EventKind
from service.patrols import Route, covers, passes_covering
from service.storage import ObjectStore
from service.webhooks import case_payload, emit
from service.writer import Writer

log = logging.getLogger(__name__)

DISPATCHABLE = frozenset({CaseStatus.confirmed, CaseStatus.reopened, CaseStatus.dispatched})
"""Statuses a case can be dispatched from (a dispatched one is transferred to another unit)."""


class OperationsError(ValueError):
    """A request the case's state refuses (409) — see the subclasses for bad input (422) and rights (403)."""


class BadRequest(OperationsError):
    """Input that cannot be right whatever the case's state: a past deadline, a disabled unit, a missing photo."""


class NotYourCase(OperationsError):
    """A user acting on a case dispatched to another unit."""


# --- the plan file ------------------------------------------------------------------------------


class Deadline(BaseModel):
    """Hours from dispatch: disposed of by ``due_h``, else overdue; escalated at ``escalate_h``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    due_h: float = Field(gt=0)
    escalate_h: float = Field(gt=0)


class CategoryDeadline(Deadline):
    """A category's deadlines, and others where its hotspot is of a given kind."""

    at: dict[HotspotKind, Deadline] = Field(default_factory=dict)


class Sla(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Deadline = Deadline(due_h=24, escalate_h=48)
    categories: dict[str, CategoryDeadline] = Field(default_factory=dict)

    def deadline(self, category: str, kind: HotspotKind | None) -> Deadline:
        """The deadlines of a case of ``category`` at a hotspot of ``kind`` (None: at none)."""
        found = self.categories.get(category)
        if found is None:
            return self.default
        return found.at.get(kind, found) if kind is not None else found


class Phase(BaseModel):
    """A campaign phase: its name in Chinese and (``name_en``) English, local dates, both ends included."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int = Field(ge=1, le=99)
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    start: date
    end: date


class Calendar(BaseModel):
    """The campaign's phases, in order without overlaps, and the start of each road-market batch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phases: list[Phase] = Field(default_factory=list, max_length=20)
    batches: list[BatchStart] = Field(default_factory=list, max_length=2)

    @model_validator(mode="after")
    def _in_order(self) -> Calendar:
        for phase in self.phases:
            if phase.start > phase.end:
                raise ValueError(f"phase {phase.number} ends before it starts")
        for before, after in itertools.pairwise(self.phases):
            if after.number <= before.number:
                raise ValueError(f"phase {after.number} comes after phase {before.number}: number them in order")
            if after.start <= before.end:
                raise ValueError(f"phase {after.number} starts before phase {before.number} ends")
        if len({b.number for b in self.batches}) != len(self.batches):
            raise ValueError("a batch is given twice")
        return self

    def phase_on(self, day: date) -> Phase | None:
        """The phase ``day`` (a local date) falls in, or None."""
        return next((p for p in self.phases if p.start <= day <= p.end), None)


class Plan(Calendar):
    """The plan file: seed units, the SLA table, the phases and batch starts (seeded too), and the
    default ``hours`` of the kinds that have them (a hotspot imported without its own takes them)."""

    units: list[dict[str, Any]] = Field(default_factory=list)
    sla: Sla = Sla()
    hours: dict[HotspotKind, Hours] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _hours_kinds(self) -> Plan:
        for kind in self.hours:
            if kind not in HOURS_KINDS:
                raise ValueError(f"hours: a {kind} has none (only {', '.join(sorted(HOURS_KINDS))})")
        return self


@lru_cache(maxsize=8)
def load_plan(path: Path | None) -> Plan:
    """Read and validate the plan file (None: an empty plan); ValueError saying what is wrong."""
    if path is None:
        return Plan()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML reads 2024-13-01 as a date and fails with ValueError
        raise ValueError(f"{path}: not YAML ({exc})") from None
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: {validation_message(exc)}") from None


def load_units(session: Session, plan: Plan) -> int:
    """Add the plan's units when no unit exists yet; how many were added. Commits."""
    if not plan.units or session.exec(select(func.count()).select_from(Unit)).one():
        return 0
    try:
        units = [Unit.model_validate(UnitCreate.model_validate(item).model_dump()) for item in plan.units]
    except ValidationError as exc:
        raise ValueError(f"seed units: {validation_message(exc)}") from None
    session.add_all(units)
    session.commit()
    return len(units)


def local_date(at: datetime, timezone: str) -> date:
    """The local date of an aware time in ``timezone`` (an IANA name)."""
    return at.astimezone(ZoneInfo(timezone)).date()


def phase_at(plan: Calendar, at: datetime, timezone: str) -> Phase | None:
    """The campaign phase an aware time (a sighting, a report's day) falls in, by its local date."""
    return plan.phase_on(local_date(at, timezone))


# --- units ----------------------------------------------------------------------------------------


def in_territory(unit: Unit, lat: float | None, lon: float | None, hotspot_key: str | None) -> bool:
    """Whether a place (a position, the key of its hotspot) lies in a brigade's territory."""
    if hotspot_key is not None and hotspot_key in unit.hotspots:
        return True
    if unit.territory is None or lat is None or lon is None:
        return False
    return distance_m(lat, lon, unit.territory) == 0.0


def default_unit(session: Session, case: Case) -> Unit | None:
    """Where a case goes unless told: the first enabled unit taking its category, else the first
    enabled brigade whose territory holds it (by id), else None."""
    units = session.exec(select(Unit).where(~col(Unit.disabled)).order_by(col(Unit.id))).all()
    for unit in units:
        if case.category in unit.categories:
            return unit
    hotspot = session.get(Hotspot, case.hotspot_id) if case.hotspot_id else None
    key = hotspot.key if hotspot else None
    return next(
        (u for u in units if u.kind == UnitKind.brigade and in_territory(u, case.lat, case.lon, key)),
        None,
    )


def check_head(session: Session, user_id: int | None) -> None:
    """BadRequest unless ``user_id`` is None or an existing user."""
    if user_id is not None and session.get(User, user_id) is None:
        raise BadRequest(f"no user {user_id} to head the unit")


# --- dispatch and escalation ---------------------------------------------------------------------


def deadline_for(session: Session, sla: Sla, case: Case) -> Deadline:
    """The SLA deadlines of a case, by its category and the kind of its hotspot."""
    hotspot = session.get(Hotspot, case.hotspot_id) if case.hotspot_id else None
    return sla.deadline(case.category, HotspotKind(hotspot.kind) if hotspot else None)


def dispatch(
    session: Session,
    sla: Sla,
    case: Case,
    unit: Unit | None,
    at: datetime,
    user_id: int | None,
    due: datetime | None = None,
    note: str | None = None,
) -> None:
    """Send a confirmed (or reopened) case to ``unit`` (None: its ``default_unit``), due by ``due``
    (None: the SLA deadline); escalation follows as long after ``due`` as the SLA puts it after the
    deadline. A dispatched case is transferred. Raises BadRequest (no unit, a disabled one, a past
    deadline) or OperationsError (a case in another status) before changing anything."""
    if case.status not in DISPATCHABLE:
        raise OperationsError(f"a {case.status} case cannot be dispatched (needs confirmed, reopened or dispatched)")
    unit = unit or default_unit(session, case)
    if unit is None:
        raise BadRequest("no unit given and none takes this case by category or territory")
    if unit.disabled:
        raise BadRequest(f"unit {unit.name} is disabled")
    if due is not None and due <= at:
        raise BadRequest("the deadline must lie in the future")
    sla_deadline = deadline_for(session, sla, case)
    due = due or at + timedelta(hours=sla_deadline.due_h)
    escalate_at = due + timedelta(hours=sla_deadline.escalate_h - sla_deadline.due_h)
    assignment = session.get(CaseAssignment, row_id(case))
    transfer = case.status == CaseStatus.dispatched
    if assignment is None:
        assignment = CaseAssignment(
            case_id=row_id(case), unit_id=row_id(unit), dispatched_at=at, due_at=due, escalate_at=escalate_at
        )
    else:
        assignment.round += 0 if transfer else 1
        assignment.unit_id, assignment.dispatched_at = row_id(unit), at
        assignment.due_at, assignment.escalate_at = due, escalate_at
        assignment.overdue_at = assignment.escalated_at = assignment.escalated_to = None
    session.add(assignment)
    detail = {"unit_id": unit.id, "unit": unit.name, "due_at": due.isoformat(), "escalate_at": escalate_at.isoformat()}
    if transfer:
        record(session, case, CaseAction.dispatch, at, user_id, note=note, detail=detail)
        case.updated_at = at
    else:
        change_status(session, case, CaseStatus.dispatched, at, user_id, note, CaseAction.dispatch, detail)


def _past_deadline(
    session: Session, past: ColumnElement[bool], not_yet: ColumnElement[bool]
) -> Sequence[tuple[CaseAssignment, Case, Unit]]:
    """(assignment, case, unit) of the dispatched cases whose assignment is ``past`` a deadline and
    ``not_yet`` handled for it, by case id."""
    return session.exec(
        select(CaseAssignment, Case, Unit)
        .join(Case, col(Case.id) == CaseAssignment.case_id)
        .join(Unit, col(Unit.id) == CaseAssignment.unit_id)
        .where(Case.status == CaseStatus.dispatched, past, not_yet)
        .order_by(col(CaseAssignment.case_id))
    ).all()


def report_overdue(session: Session, now: datetime) -> list[int]:
    """Send a ``case.overdue`` event (in this transaction) for every dispatched case past its deadline
    and not reported so since it was dispatched, with its unit and deadline; the ids of those cases.
    Flushes."""
    rows = _past_deadline(session, col(CaseAssignment.due_at) <= now, col(CaseAssignment.overdue_at).is_(None))
    for assignment, case, unit in rows:
        assignment.overdue_at = now
        payload = case_payload(case, None, case.status) | {
            "unit_id": unit.id,
            "unit": unit.name,
            "due_at": assignment.due_at.isoformat(),
        }
        emit(session, EventKind.case_overdue, now, payload, row_id(case))
        session.add(assignment)
    session.flush()
    return [assignment.case_id for assignment, _, _ in rows]


def escalate_overdue(session: Session, now: datetime) -> list[int]:
    """Escalate every dispatched case past its second deadline and not yet escalated to the head
    of its unit (audited; the head may be None: the unit has none). The ids of those cases. Flushes."""
    rows = _past_deadline(session, col(CaseAssignment.escalate_at) <= now, col(CaseAssignment.escalated_at).is_(None))
    for assignment, case, unit in rows:
        assignment.escalated_at, assignment.escalated_to = now, unit.head_user_id
        detail = {
            "unit_id": unit.id,
            "unit": unit.name,
            "head_user_id": unit.head_user_id,
            "due_at": assignment.due_at.isoformat(),
        }
        record(session, case, CaseAction.escalation, now, None, detail=detail)
        session.add(assignment)
    session.flush()
    return [assignment.case_id for assignment, _, _ in rows]


def assignment_of(session: Session, case: Case) -> CaseAssignment:
    """The case's current assignment; OperationsError when it was never dispatched."""
    assignment = session.get(CaseAssignment, row_id(case))
    if assignment is None:
        raise OperationsError("the case was never dispatched")
    return assignment


def assignment_public(session: Session, assignment: CaseAssignment, now: datetime) -> AssignmentPublic:
    """The public view of an assignment at ``now``."""
    unit = session.get_one(Unit, assignment.unit_id)
    case = session.get_one(Case, assignment.case_id)
    overdue = case.status == CaseStatus.dispatched and assignment.due_at < now
    return AssignmentPublic(**assignment.model_dump(), unit_name=unit.name, overdue=overdue)


# --- disposal and verification -------------------------------------------------------------------


def check_photo(evidence: ObjectStore, key: str | None) -> None:
    """BadRequest unless ``key`` is None or the key of an image in the ``evidence`` store."""
    if key is not None and (not is_key(key) or not has_image(evidence, key)):
        raise BadRequest(f"no evidence image {key!r}: upload it first")


def dispose(
    session: Session,
    evidence: ObjectStore,
    case: Case,
    user: User,
    kind: DisposalKind,
    at: datetime,
    fine_yuan: float | None = None,
    note: str | None = None,
    photo: str | None = None,
) -> None:
    """Record what the case's unit did (a dispatched case becomes resolved; a resolved one gains
    another record). ``user`` must be of that unit (admins and dispatchers may record for any).
    Raises NotYourCase, BadRequest (a fine without its amount, an unknown photo) or OperationsError
    before changing anything."""
    if case.status not in (CaseStatus.dispatched, CaseStatus.resolved):
        raise OperationsError(f"a {case.status} case has no disposal to record (needs dispatched or resolved)")
    assignment = assignment_of(session, case)
    if user.role not in (Role.admin, Role.dispatcher) and user.unit_id != assignment.unit_id:
        raise NotYourCase("the case is dispatched to another unit")
    if (kind == DisposalKind.fined) != (fine_yuan is not None):
        raise BadRequest("a fine needs fine_yuan, and only a fine has one")
    check_photo(evidence, photo)
    disposal = Disposal(
        case_id=row_id(case),
        round=assignment.round,
        unit_id=assignment.unit_id,
        user_id=user.id,
        at=at,
        kind=kind,
        fine_yuan=fine_yuan,
        note=note,
        photo=photo,
    )
    session.add(disposal)
    detail = {"kind": kind.value, "unit_id": assignment.unit_id, "fine_yuan": fine_yuan, "photo": photo}
    if case.status == CaseStatus.dispatched:
        change_status(session, case, CaseStatus.resolved, at, user.id, note, CaseAction.disposal, detail)
    else:
        record(session, case, CaseAction.disposal, at, user.id, note=note, detail=detail)


def last_disposal(session: Session, case: Case, round_: int) -> Disposal | None:
    """The latest disposal of the case in dispatch round ``round_``."""
    stmt = select(Disposal).where(Disposal.case_id == case.id, Disposal.round == round_)
    return session.exec(stmt.order_by(col(Disposal.id).desc()).limit(1)).first()


def covering_pass(session: Session, case: Case, pass_id: int, after: datetime, radius_m: float) -> datetime:
    """When patrol pass ``pass_id`` covered the case's spot (within ``radius_m``) after ``after``
    without sighting it again; BadRequest naming what is missing."""
    row = session.get(PatrolPass, pass_id)
    if row is None:
        raise BadRequest(f"no patrol pass {pass_id}")
    if case.lat is None or case.lon is None:
        raise BadRequest("a case without a position cannot be verified by patrol")
    seen = covers(Route.of(row), *position(case), radius_m)
    if seen is None or seen <= after:
        raise BadRequest(f"patrol pass {pass_id} did not cover the spot after the disposal")
    if case.last_seen >= seen:
        raise BadRequest(f"the case was sighted again at or after patrol pass {pass_id}")
    return seen


def patrol_proposals(session: Session, case: Case, radius_m: float) -> list[tuple[PatrolPass, datetime]]:
    """The patrol passes that may verify a resolved case: each covered its spot (within ``radius_m``)
    after the latest disposal of this round and after the case was last sighted, with when it did,
    in time order (none for a case in another status or without a position)."""
    assignment = session.get(CaseAssignment, row_id(case))
    if case.status != CaseStatus.resolved or assignment is None or case.lat is None or case.lon is None:
        return []
    disposal = last_disposal(session, case, assignment.round)
    if disposal is None:
        return []
    since = max(disposal.at, case.last_seen)
    found = passes_covering(session, point(case.lat, case.lon), radius_m, since=since)
    return [(row, at) for row, at in found if at > since]


def verify(
    session: Session,
    evidence: ObjectStore,
    case: Case,
    body: VerifyRequest,
    at: datetime,
    user_id: int | None,
    radius_m: float,
) -> Verification:
    """Check a resolved case's disposal (核查): a passed check lets it close, a failed one reopens it.
    The photo must be in the evidence store; a patrol pass must have covered the spot after the
    disposal without seeing the violation (``covering_pass``, ``radius_m`` metres). Raises
    BadRequest or OperationsError before changing anything."""
    if case.status != CaseStatus.resolved:
        raise OperationsError(f"a {case.status} case cannot be verified (needs resolved)")
    assignment = assignment_of(session, case)
    disposal = last_disposal(session, case, assignment.round)
    if disposal is None:
        raise OperationsError("no disposal to verify since the case was dispatched")
    check_photo(evidence, body.photo)
    detail: dict[str, Any] = {"method": body.method.value, "passed": body.passed, "photo": body.photo}
    if body.method == VerifyMethod.patrol and body.patrol_pass_id is not None:
        seen = covering_pass(session, case, body.patrol_pass_id, disposal.at, radius_m)
        detail.update(patrol_pass_id=body.patrol_pass_id, patrol_seen_at=seen.isoformat())
    verification = Verification(
        case_id=row_id(case),
        round=assignment.round,
        user_id=user_id,
        at=at,
        method=body.method,
        passed=body.passed,
        note=body.note,
        photo=body.photo,
        patrol_pass_id=body.patrol_pass_id,
    )
    session.add(verification)
    if body.passed:
        record(session, case, CaseAction.verification, at, user_id, note=body.note, detail=detail)
        case.updated_at = at
    else:
        change_status(session, case, CaseStatus.reopened, at, user_id, body.note, CaseAction.verification, detail)
    return verification


class Escalator:
    """A thread that runs ``report_overdue`` and ``escalate_overdue`` every ``every_s`` seconds by
    the app's clock, each run one transaction under the writer."""

    def __init__(self, engine: Engine, writer: Writer, clock: Callable[[], datetime], every_s: float) -> None:
        self.engine, self.writer, self.clock, self.every_s = engine, writer, clock, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="escalator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def run_once(self) -> list[int]:
        """Report the cases overdue now (``report_overdue``) and escalate what is due; the ids of
        the cases escalated."""
        with Session(self.engine) as session, self.writer:
            now = self.clock()
            report_overdue(session, now)
            escalated = escalate_overdue(session, now)
            session.commit()
        return escalated

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.run_once()
            except SQLAlchemyError:
                log.exception("escalating overdue cases failed; trying again in %g s", self.every_s)


@dataclass(frozen=True)
class Dispatched:
    """A dispatched case with its assignment and unit; ``overdue`` at the time it was read."""

    case: Case
    assignment: CaseAssignment
    unit: Unit
    overdue: bool


def dispatched_cases(
    session: Session, now: datetime, overdue_only: bool = False, unit_id: int | None = None, limit: int = 500
) -> list[Dispatched]:
    """The cases waiting for their unit's disposal (of ``unit_id`` only when given; past their
    deadline at ``now`` only when ``overdue_only``), earliest deadline first, at most ``limit``."""
    stmt = (
        select(Case, CaseAssignment, Unit)
        .join(CaseAssignment, col(CaseAssignment.case_id) == Case.id)
        .join(Unit, col(Unit.id) == CaseAssignment.unit_id)
        .where(Case.status == CaseStatus.dispatched)
        .order_by(col(CaseAssignment.due_at), col(Case.id))
        .limit(limit)
    )
    if overdue_only:
        stmt = stmt.where(col(CaseAssignment.due_at) < now)
    if unit_id is not None:
        stmt = stmt.where(CaseAssignment.unit_id == unit_id)
    return [Dispatched(c, a, u, a.due_at < now) for c, a, u in session.exec(stmt)]
