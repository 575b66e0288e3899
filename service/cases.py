"""Cases: observations merged in space, their nearest hotspot, recurrence and the status machine.

The decisions are pure functions on plain values (``grid_cell``, ``gate_m``, ``choose_case``,
``merged_position``, ``check_transition``); ``Matcher`` and the functions below it are the thin
database layer. The review decisions, hotspot placement and the case reads at the end are what the
API and the web view share.
Distances are metres, times aware UTC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, or_
from sqlmodel import Session, col, func, select

from service.geometry import M_PER_DEG, Box, bounds, expand, point
from service.hotspots import (
    Shape,
    import_collection,
    local_time,
    locate,
    located_shapes,
    nearest,
    set_hours,
    vending_zone_at,
)
from service.messages import Refusal
from service.models.base import UTCDateTime, row_id
from service.models.cases import (
    Case,
    CaseAction,
    CaseDetail,
    CaseEvent,
    CaseEventPublic,
    CasePublic,
    CasesPublic,
    CaseStatus,
    ReviewDecision,
)
from service.models.hotspots import Hotspot, HotspotCreate, HotspotKind
from service.models.observations import ObservationPublic, ObservationRow, Outcome
from service.models.operations import CaseAssignment, Disposal, Verification
from service.models.users import User
from service.settings import Settings
from service.webhooks import emit_case_event
from service.writer import lock_matching
from vision import haversine_m

GRID_CELL_M = 50.0
"""Grid step in metres (north-south; east-west it is this times cos(lat)). Stored in every case row:
changing it needs a migration that recomputes ``cell_x``/``cell_y``."""

GATE_SIGMAS = 2.0
"""How many standard errors of the difference between a sighting's fix and a case's position estimate
widen the category radius (in quadrature) to make the case's gate."""
MIN_SIGMA_M, MAX_SIGMA_M = 1.0, 25.0
"""The range a sighting's position standard error is clamped to (metres): no fix is better than a metre,
and a worse one than 25 m still joins only nearby cases."""

OPEN = frozenset({CaseStatus.new, CaseStatus.confirmed, CaseStatus.dispatched, CaseStatus.reopened})
RECURRABLE = frozenset({CaseStatus.resolved, CaseStatus.closed})
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.new: frozenset({CaseStatus.confirmed, CaseStatus.rejected}),
    CaseStatus.reopened: frozenset({CaseStatus.confirmed, CaseStatus.dispatched, CaseStatus.rejected}),
    CaseStatus.confirmed: frozenset({CaseStatus.dispatched, CaseStatus.resolved, CaseStatus.rejected}),
    CaseStatus.dispatched: frozenset({CaseStatus.resolved}),
    CaseStatus.resolved: frozenset({CaseStatus.closed, CaseStatus.reopened}),
    CaseStatus.closed: frozenset({CaseStatus.reopened}),
    CaseStatus.rejected: frozenset({CaseStatus.confirmed}),
    CaseStatus.merged: frozenset(),
}
"""``merged`` is left only by reversing the merge (``service.casework.unmerge``)."""


class TransitionError(Refusal):
    """A status change the state machine does not allow."""

    def __init__(self, current: CaseStatus, target: CaseStatus) -> None:
        allowed = tuple(s for s in CaseStatus if s in TRANSITIONS.get(current, frozenset()))
        super().__init__("transition", current=current, target=target, allowed=allowed)


class ClosingError(TransitionError):
    """A case that may not close yet (no disposal or no verification): ``key`` says why."""

    def __init__(self, key: str) -> None:
        Refusal.__init__(self, key)


# --- pure decisions ---------------------------------------------------------------------------


def grid_cell(lat: float, lon: float) -> tuple[int, int]:
    """(cell_x, cell_y) of a position on a grid of GRID_CELL_M-sized degree steps."""
    step = GRID_CELL_M / M_PER_DEG
    return math.floor(lon / step), math.floor(lat / step)


def neighbour_cells(lat: float, lon: float, radius_m: float) -> tuple[list[int], list[int]]:
    """The cell_x and cell_y values that hold every point within ``radius_m`` of the position."""
    cx, cy = grid_cell(lat, lon)
    ky = math.ceil(radius_m / GRID_CELL_M)
    worst_lat = min(abs(lat) + radius_m / M_PER_DEG, 89.0)
    kx = math.ceil(radius_m / (GRID_CELL_M * math.cos(math.radians(worst_lat))))
    return list(range(cx - kx, cx + kx + 1)), list(range(cy - ky, cy + ky + 1))


@dataclass(frozen=True)
class Candidate:
    """What the dedup decision needs to know about a stored case."""

    id: int
    status: CaseStatus
    lat: float
    lon: float
    resolved_at: datetime | None = None
    sigma_m: float = MIN_SIGMA_M


@dataclass(frozen=True)
class Match:
    """``case_id`` None means start a new case; ``reopen`` means it comes back as a recurrence;
    ``also``: other open cases whose gate holds the sighting too (proposed for merging with it)."""

    case_id: int | None
    reopen: bool = False
    also: tuple[int, ...] = ()


def gate_m(radius_m: float, case_sigma_m: float, sighting_sigma_m: float) -> float:
    """How far (metres) a sighting may lie from a case's position estimate and still be the same object:
    the category radius and ``GATE_SIGMAS`` standard errors of their difference, in quadrature."""
    return math.hypot(radius_m, GATE_SIGMAS * math.hypot(case_sigma_m, sighting_sigma_m))


def choose_case(
    lat: float,
    lon: float,
    sigma_m: float,
    seen_at: datetime,
    candidates: list[Candidate],
    radius_m: float,
    lookback: timedelta,
) -> Match:
    """Where a sighting at (lat, lon) with position standard error ``sigma_m`` goes: among the cases
    whose gate (``gate_m``) holds it, nearest by distance over gate, the open one; else a resolved one
    resolved at most ``lookback`` before ``seen_at`` (reopened, unless the sighting predates the
    resolution: then it is late evidence and just joins); else a new case."""
    in_gate = sorted(
        (d / gate, c.id, c)
        for c in candidates
        if (d := haversine_m(lat, lon, c.lat, c.lon)) <= (gate := gate_m(radius_m, c.sigma_m, sigma_m))
    )
    open_ids = [case.id for _, _, case in in_gate if case.status in OPEN]
    if open_ids:
        return Match(open_ids[0], also=tuple(open_ids[1:]))
    for _, _, case in in_gate:
        if case.status in RECURRABLE and case.resolved_at is not None and seen_at - case.resolved_at <= lookback:
            return Match(case.id, reopen=seen_at > case.resolved_at)
    return Match(None)


def merged_position(
    lat: float, lon: float, sigma_m: float, new_lat: float, new_lon: float, new_sigma_m: float
) -> tuple[float, float, float]:
    """(lat, lon, standard error in metres) of a position estimate and one more fix, weighted by inverse
    variance: the estimate moves toward better fixes and its error shrinks with every one."""
    w, new_w = sigma_m**-2, new_sigma_m**-2
    total = w + new_w
    return (lat * w + new_lat * new_w) / total, (lon * w + new_lon * new_w) / total, total**-0.5


def estimate(fixes: list[tuple[float, float, float]]) -> tuple[float, float, float] | None:
    """(lat, lon, standard error in metres) of fixes (lat, lon, standard error), merged one by one with
    ``merged_position``; None without fixes."""
    if not fixes:
        return None
    lat, lon, sigma = fixes[0]
    for fix in fixes[1:]:
        lat, lon, sigma = merged_position(lat, lon, sigma, *fix)
    return lat, lon, sigma


def sighting_sigma(accuracy_m: float | None, default_m: float) -> float:
    """A sighting's position standard error (metres): its fix's accuracy, else ``default_m``, clamped."""
    return min(max(accuracy_m if accuracy_m is not None else default_m, MIN_SIGMA_M), MAX_SIGMA_M)


def check_transition(current: CaseStatus, target: CaseStatus) -> None:
    """Raise TransitionError unless the state machine allows ``current`` -> ``target``."""
    if target not in TRANSITIONS.get(CaseStatus(current), frozenset()):
        raise TransitionError(CaseStatus(current), CaseStatus(target))


# --- database layer ---------------------------------------------------------------------------


def position(case: Case) -> tuple[float, float]:
    """(lat, lon) of a located case; ValueError for a case without a position."""
    if case.lat is None or case.lon is None:
        raise ValueError(f"case {case.id} has no position")
    return case.lat, case.lon


def record(session: Session, case: Case, action: CaseAction, at: datetime, user_id: int | None, **fields: Any) -> None:
    """Add one audit-trail row for ``case``, and the webhook event it makes (if any) to the outbox."""
    event = CaseEvent(case_id=row_id(case), action=action, at=at, user_id=user_id, **fields)
    session.add(event)
    emit_case_event(session, case, action, at, event.from_status, event.to_status, event.note)


def change_status(
    session: Session,
    case: Case,
    target: CaseStatus,
    at: datetime,
    user_id: int | None,
    note: str | None = None,
    action: CaseAction = CaseAction.status,
    detail: dict[str, Any] | None = None,
) -> None:
    """Move a case along the state machine (TransitionError if not allowed) and audit it (with ``detail``)."""
    check_transition(case.status, target)
    problem = closing_problem(session, case) if target == CaseStatus.closed else None
    if problem is not None:
        raise ClosingError(problem)
    record(session, case, action, at, user_id, from_status=case.status, to_status=target, note=note, detail=detail)
    case.status = target
    case.updated_at = at
    if target == CaseStatus.resolved:
        case.resolved_at = at


def closing_problem(session: Session, case: Case) -> str | None:
    """Why the case cannot close (结案) yet (a message key), or None: it needs a disposal in its current
    dispatch round and a passed verification made at or after the latest one."""
    assignment = session.get(CaseAssignment, row_id(case))
    if assignment is None:
        return "close_never_dispatched"
    this_round = (col(Disposal.case_id) == case.id, col(Disposal.round) == assignment.round)
    disposed_at = session.exec(select(Disposal.at).where(*this_round).order_by(col(Disposal.at).desc())).first()
    if disposed_at is None:
        return "close_no_disposal"
    verified = select(Verification.id).where(
        Verification.case_id == case.id,
        Verification.round == assignment.round,
        col(Verification.passed),
        col(Verification.at) >= disposed_at,
    )
    return None if session.exec(verified.limit(1)).first() is not None else "close_not_verified"


def set_hotspot(
    session: Session, case: Case, found: tuple[int, float] | None, at: datetime, user_id: int | None, audit: bool = True
) -> None:
    """Record the case's hotspot (id, metres) or none; audits a change of hotspot."""
    hotspot_id, dist = found if found else (None, None)
    if audit and hotspot_id != case.hotspot_id:
        detail = {"from": case.hotspot_id, "to": hotspot_id, "distance_m": dist}
        record(session, case, CaseAction.hotspot, at, user_id, detail=detail)
    case.hotspot_id, case.hotspot_distance_m = hotspot_id, dist


CANDIDATES = select(Case).where(
    Case.category == bindparam("category"),
    col(Case.cell_x).in_(bindparam("xs", expanding=True)),
    col(Case.cell_y).in_(bindparam("ys", expanding=True)),
    or_(
        col(Case.status).in_(list(OPEN)),
        and_(col(Case.status).in_(list(RECURRABLE)), col(Case.resolved_at) >= bindparam("since", type_=UTCDateTime)),
    ),
)
"""Cases that may take an observation: open, or resolved ``since``, in the given grid cells of the
category (an index search on category, cell_x, cell_y). Parameters from ``candidate_params``."""


def candidate_params(category: str, lat: float, lon: float, radius_m: float, since: datetime) -> dict[str, object]:
    """Parameters of CANDIDATES for an observation at (lat, lon) and its radius."""
    xs, ys = neighbour_cells(lat, lon, radius_m)
    return {"category": category, "xs": xs, "ys": ys, "since": since}


class Matcher:
    """Assigns observations to cases within one session (one request, one transaction)."""

    def __init__(self, session: Session, settings: Settings, shapes: list[Shape], user_id: int | None) -> None:
        self.session = session
        self.settings = settings
        self.shapes = shapes
        self.user_id = user_id
        self.zone = ZoneInfo(settings.timezone)
        self.lookback = timedelta(days=settings.lookback_days)
        self.touched: dict[
            tuple[str, int | None, int | None], dict[int, Case]
        ] = {}  # (category, cell) -> cases changed here

    def assign(self, obs: ObservationRow) -> tuple[int | None, Outcome]:
        """Put ``obs`` into a case (sets its ``case_id``); returns (case id, outcome). The caller
        adds ``obs`` to the session: observations are inserted together, cases as they change."""
        with self.session.no_autoflush:
            return self._assign(obs)

    def _assign(self, obs: ObservationRow) -> tuple[int | None, Outcome]:
        if obs.lat is None or obs.lon is None:
            return self._assign_unlocated(obs)
        lat, lon = obs.lat, obs.lon
        policy = self.settings.policy(obs.category)
        if policy is not None and HotspotKind.vending_zone.value in policy.exempt_in:
            zone = vending_zone_at(lat, lon, self.shapes, local_time(obs.seen_at, self.zone))
            if zone is not None:
                obs.zone_hotspot_id = zone
                return None, Outcome.vending_zone
        radius = self.settings.radius_for(obs.category)
        sigma = sighting_sigma(obs.gps_accuracy_m, self.settings.gps_sigma_m)
        reach = gate_m(radius, MAX_SIGMA_M, sigma)
        candidates = self._candidates(obs, lat, lon, reach)
        match = choose_case(lat, lon, sigma, obs.seen_at, candidates, radius, self.lookback)
        if match.case_id is None:
            case = self._new_case(obs)
            outcome = Outcome.created
        else:
            case = self.session.get_one(Case, match.case_id)
            self.touched.get((case.category, case.cell_x, case.cell_y), {}).pop(match.case_id, None)
            outcome = Outcome.recurrence if match.reopen else Outcome.joined
            if match.reopen:
                change_status(
                    self.session, case, CaseStatus.reopened, obs.received_at, self.user_id, action=CaseAction.recurrence
                )
                case.recurrence_count += 1
            case.lat, case.lon, case.position_sigma_m = merged_position(
                *position(case), case.position_sigma_m or sigma, lat, lon, sigma
            )
            case.cell_x, case.cell_y = grid_cell(case.lat, case.lon)
            if match.also:
                self._propose_merge(case, match.also, obs.received_at)
        self._count(case, obs)
        found = nearest(
            *position(case),
            self.shapes,
            self.settings.hotspot_max_distance_m,
            local_time(obs.seen_at, self.zone),
            keep_id=case.hotspot_id,
        )
        set_hotspot(self.session, case, found, obs.received_at, self.user_id, audit=outcome != Outcome.created)
        self.touched.setdefault((case.category, case.cell_x, case.cell_y), {})[row_id(case)] = case
        obs.case_id = case.id
        return case.id, outcome

    def _candidates(self, obs: ObservationRow, lat: float, lon: float, radius_m: float) -> list[Candidate]:
        """Candidate cases for ``obs`` at (lat, lon) as they are in memory: the query does not flush, so
        the cases this matcher changed are checked from memory too (their stored cell may be stale)."""
        params = candidate_params(obs.category, lat, lon, radius_m, obs.seen_at - self.lookback)
        cases = {row_id(case): case for case in self.session.exec(CANDIDATES, params=params)}
        xs, ys = neighbour_cells(lat, lon, radius_m)
        for x in xs:
            for y in ys:
                cases.update(self.touched.get((obs.category, x, y), {}))
        default = self.settings.gps_sigma_m
        return [
            Candidate(case_id, c.status, *position(c), c.resolved_at, c.position_sigma_m or default)
            for case_id, c in cases.items()
        ]

    def _propose_merge(self, case: Case, others: tuple[int, ...], at: datetime) -> None:
        """Audit, once per pair, that a sighting fell in the gates of ``case`` and of each of ``others``
        (open cases of one category): a reviewer may merge them."""
        events = select(CaseEvent).where(
            col(CaseEvent.case_id) == row_id(case), CaseEvent.action == CaseAction.merge_proposed
        )
        known = {other for event in self.session.exec(events) for other in (event.detail or {}).get("with", [])}
        new = sorted(set(others) - known)
        if new:
            record(self.session, case, CaseAction.merge_proposed, at, self.user_id, detail={"with": new})

    def _new_case(self, obs: ObservationRow) -> Case:
        case = Case(category=obs.category, first_seen=obs.seen_at, last_seen=obs.seen_at, created_at=obs.received_at)
        if obs.lat is not None and obs.lon is not None:
            case.lat, case.lon = obs.lat, obs.lon
            case.position_sigma_m = sighting_sigma(obs.gps_accuracy_m, self.settings.gps_sigma_m)
            case.cell_x, case.cell_y = grid_cell(obs.lat, obs.lon)
        else:
            case.source = obs.source
        self.session.add(case)
        self.session.flush()
        record(self.session, case, CaseAction.created, obs.received_at, self.user_id, to_status=CaseStatus.new)
        return case

    def _count(self, case: Case, obs: ObservationRow) -> None:
        if case.observation_count:
            case.first_seen = min(case.first_seen, obs.seen_at)
            case.last_seen = max(case.last_seen, obs.seen_at)
        case.observation_count += 1
        case.updated_at = obs.received_at

    def _assign_unlocated(self, obs: ObservationRow) -> tuple[int, Outcome]:
        """Positionless observations cannot be placed: they share one open case per source and category."""
        stmt = (
            select(Case)
            .where(Case.source == obs.source, Case.category == obs.category, col(Case.status).in_(list(OPEN)))
            .order_by(col(Case.id))
        )
        case = self.session.exec(stmt).first()
        outcome = Outcome.joined
        if case is None:
            case, outcome = self._new_case(obs), Outcome.created
        self._count(case, obs)
        obs.case_id = row_id(case)
        return obs.case_id, outcome


def counted_sightings(session: Session, case_id: int) -> list[ObservationRow]:
    """The sightings of a case that count (not rejected), oldest first."""
    stmt = (
        select(ObservationRow)
        .where(ObservationRow.case_id == case_id, col(ObservationRow.rejected).is_(False))
        .order_by(col(ObservationRow.seen_at), col(ObservationRow.id))
    )
    return list(session.exec(stmt))


def restate(session: Session, settings: Settings, case: Case, at: datetime, user_id: int | None) -> None:
    """Recompute what a case's sightings say after they changed (merge, split, a rejected sighting):
    count, first and last seen, position estimate and its error, grid cell and nearest hotspot. A case
    left with no counted sighting keeps its times and position with a count of 0."""
    rows = counted_sightings(session, row_id(case))
    case.observation_count = len(rows)
    case.updated_at = at
    if not rows:
        return
    case.first_seen, case.last_seen = rows[0].seen_at, max(o.seen_at for o in rows)
    fixes = [
        (o.lat, o.lon, sighting_sigma(o.gps_accuracy_m, settings.gps_sigma_m))
        for o in rows
        if o.lat is not None and o.lon is not None
    ]
    found = estimate(fixes)
    if found is None:
        return
    case.lat, case.lon, case.position_sigma_m = found
    case.cell_x, case.cell_y = grid_cell(case.lat, case.lon)
    near = nearest(
        case.lat,
        case.lon,
        located_shapes(session),
        settings.hotspot_max_distance_m,
        local_time(case.last_seen, ZoneInfo(settings.timezone)),
        keep_id=case.hotspot_id,
    )
    set_hotspot(session, case, near, at, user_id)


def reassign_hotspots(
    session: Session,
    settings: Settings,
    shapes: list[Shape],
    box: Box,
    at: datetime,
    user_id: int | None,
) -> None:
    """Recompute the hotspot of every located case in ``box`` widened by the hotspot max distance
    (after a hotspot was placed, moved or imported there). Flushes."""
    min_lat, min_lon, max_lat, max_lon = expand(box, settings.hotspot_max_distance_m)
    stmt = select(Case).where(col(Case.lat).between(min_lat, max_lat), col(Case.lon).between(min_lon, max_lon))
    zone = ZoneInfo(settings.timezone)
    for case in session.exec(stmt):
        found = nearest(
            *position(case),
            shapes,
            settings.hotspot_max_distance_m,
            local_time(case.last_seen, zone),
            keep_id=case.hotspot_id,
        )
        set_hotspot(session, case, found, at, user_id)
        session.add(case)
    session.flush()


# --- review decisions and hotspot placement (the API and the web view share these) ------------

DECISIONS: dict[ReviewDecision, CaseStatus] = {"confirm": CaseStatus.confirmed, "reject": CaseStatus.rejected}
LOCATING_STATUSES = frozenset({CaseStatus.confirmed, CaseStatus.dispatched, CaseStatus.resolved, CaseStatus.closed})


class UnknownCategoryError(Refusal):
    """A category the service does not know."""

    def __init__(self, category: str) -> None:
        super().__init__("unknown_category", category=category)


class PlacementError(ValueError):
    """A case that cannot place a hotspot or be tied to one."""


def review(
    session: Session,
    case: Case,
    decision: ReviewDecision,
    category: str | None,
    categories: AbstractSet[str],
    at: datetime,
    user_id: int | None,
    note: str | None = None,
) -> None:
    """A reviewer's decision: ``confirm``/``reject`` move the case along the state machine, a
    ``category`` (needed by ``recategorize``) changes its category; audited. Raises
    UnknownCategoryError or TransitionError before changing anything."""
    if category is not None and category not in categories:
        raise UnknownCategoryError(category)
    target = DECISIONS.get(decision)
    if target is not None:
        check_transition(case.status, target)
    if category is not None and category != case.category:
        detail = {"from": case.category, "to": category}
        record(session, case, CaseAction.recategorize, at, user_id, note=note, detail=detail)
        case.category = category
        case.updated_at = at
    if target is not None:
        change_status(session, case, target, at, user_id, note, CaseAction.review)


def place_hotspot(
    session: Session,
    settings: Settings,
    hotspot: Hotspot,
    geometry: dict[str, Any],
    at: datetime,
    user_id: int | None,
    buffer_m: float | None = None,
) -> None:
    """Place or move a hotspot (ValueError when the geometry does not suit its kind); the cases
    around its old and new place get their nearest hotspot again. Flushes."""
    before = bounds(hotspot.geometry) if hotspot.geometry else None
    after = bounds(locate(hotspot, geometry, buffer_m))
    session.add(hotspot)
    session.flush()
    shapes = located_shapes(session)
    for box in filter(None, (before, after)):
        reassign_hotspots(session, settings, shapes, box, at, user_id)


def set_hotspot_hours(
    session: Session, settings: Settings, hotspot: Hotspot, hours: list[str] | None, at: datetime, user_id: int | None
) -> None:
    """Set a hotspot's active hours (ValueError as ``set_hours``); the cases around a located one get
    their nearest hotspot again, its hours deciding which are tied to it. Flushes."""
    set_hours(hotspot, hours)
    session.add(hotspot)
    session.flush()
    if hotspot.geometry:
        reassign_hotspots(session, settings, located_shapes(session), bounds(hotspot.geometry), at, user_id)


def import_hotspots(
    session: Session,
    settings: Settings,
    items: list[HotspotCreate],
    at: datetime,
    user_id: int | None,
    default_hours: Mapping[HotspotKind, list[str]] | None = None,
) -> list[Hotspot]:
    """Insert or update hotspots by key (``import_collection``; a kind in ``default_hours`` takes them
    unless given its own); the cases around every place that
    gained or lost one get their nearest hotspot again. Takes the matching lock first; flushes."""
    lock_matching(session)
    saved, boxes = import_collection(session, items, default_hours)
    shapes = located_shapes(session)
    for box in boxes:
        reassign_hotspots(session, settings, shapes, box, at, user_id)
    return saved


def locate_at_case(
    session: Session,
    settings: Settings,
    hotspot: Hotspot,
    case: Case,
    at: datetime,
    user_id: int | None,
    buffer_m: float | None = None,
) -> None:
    """Place a hotspot at a confirmed (or later) case with a position and tie the case to it;
    PlacementError for any other case."""
    if case.lat is None or case.lon is None or case.status not in LOCATING_STATUSES:
        raise PlacementError("only a confirmed case with a position can locate a hotspot")
    place_hotspot(session, settings, hotspot, point(case.lat, case.lon), at, user_id, buffer_m)
    attach(session, case, hotspot, at, user_id)


def attach(session: Session, case: Case, hotspot: Hotspot, at: datetime, user_id: int | None) -> None:
    """Tie a case with a position to a located hotspot, whatever the distance; audited."""
    set_hotspot(session, case, (row_id(hotspot), Shape.of(hotspot).distance_m(*position(case))), at, user_id)
    session.add(case)


def assign_hotspot(
    session: Session, settings: Settings, case: Case, hotspot: Hotspot, at: datetime, user_id: int | None
) -> None:
    """ "This case is at hotspot X": an unlocated hotspot is located at the case (``locate_at_case``),
    a located one just takes the case. PlacementError for a case without a position."""
    if hotspot.geometry is None:
        locate_at_case(session, settings, hotspot, case, at, user_id)
    elif case.lat is None or case.lon is None:
        raise PlacementError("a case without a position cannot be tied to a hotspot")
    else:
        attach(session, case, hotspot, at, user_id)


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a list shows: each condition given must hold; ``since``/``until`` (aware UTC)
    bound the time the case was seen; ``source`` names a source one of its sightings came from;
    ``unit_id``: dispatched to that unit; ``overdue_at``: still dispatched and past its deadline at that time."""

    category: str | None = None
    status: CaseStatus | None = None
    hotspot_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None
    unit_id: int | None = None
    overdue_at: datetime | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.category is not None:
            found.append(Case.category == self.category)
        if self.status is not None:
            found.append(Case.status == self.status)
        if self.hotspot_id is not None:
            found.append(Case.hotspot_id == self.hotspot_id)
        if self.since is not None:
            found.append(col(Case.last_seen) >= self.since)
        if self.until is not None:
            found.append(col(Case.first_seen) <= self.until)
        if self.source is not None:
            seen_by = select(ObservationRow.id).where(
                col(ObservationRow.case_id) == Case.id, ObservationRow.source == self.source
            )
            found.append(seen_by.exists())
        if self.unit_id is not None:
            found.append(col(Case.id).in_(select(CaseAssignment.case_id).where(CaseAssignment.unit_id == self.unit_id)))
        if self.overdue_at is not None:
            late = select(CaseAssignment.case_id).where(col(CaseAssignment.due_at) < self.overdue_at)
            found.extend([Case.status == CaseStatus.dispatched, col(Case.id).in_(late)])
        return found


def case_public(case: Case, hotspot_name: str | None) -> CasePublic:
    """The public view of a case whose hotspot is called ``hotspot_name``."""
    return CasePublic.model_validate(
        {**case.model_dump(), "hotspot_name": hotspot_name, "located": case.lat is not None}
    )


def public_case(session: Session, case: Case) -> CasePublic:
    """The public view of a case, its hotspot's name looked up."""
    hotspot = session.get(Hotspot, case.hotspot_id) if case.hotspot_id else None
    return case_public(case, hotspot.name if hotspot else None)


def find_cases(session: Session, found: CaseFilter, limit: int, offset: int) -> CasesPublic:
    """One page of the cases ``found`` lets through, newest sighting first, and how many there are."""
    conditions = found.conditions()
    total = session.exec(select(func.count()).select_from(Case).where(*conditions)).one()
    stmt = (
        select(Case, Hotspot.name)
        .outerjoin(Hotspot, col(Case.hotspot_id) == Hotspot.id)
        .where(*conditions)
        .order_by(col(Case.last_seen).desc(), col(Case.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return CasesPublic(items=[case_public(c, name) for c, name in session.exec(stmt)], total=total)


def case_detail(session: Session, case_id: int) -> CaseDetail:
    """One case with its observations (and their image links) and its audit trail; LookupError
    when there is no such case."""
    case = session.get(Case, case_id)
    if case is None:
        raise LookupError(f"no case {case_id}")
    observations = session.exec(
        select(ObservationRow)
        .where(ObservationRow.case_id == case_id)
        .order_by(col(ObservationRow.seen_at), col(ObservationRow.id))
    )
    events = session.exec(
        select(CaseEvent, User.name)
        .outerjoin(User, col(CaseEvent.user_id) == User.id)
        .where(CaseEvent.case_id == case_id)
        .order_by(col(CaseEvent.id))
    )
    return CaseDetail(
        **public_case(session, case).model_dump(),
        observations=[
            ObservationPublic(
                **o.model_dump(),
                crop_url=f"/api/observations/{o.id}/crop" if o.crop else None,
                keyframe_url=f"/api/observations/{o.id}/keyframe" if o.keyframe else None,
            )
            for o in observations
        ],
        events=[CaseEventPublic(**e.model_dump(), user=name) for e, name in events],
    )
