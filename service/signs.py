"""The sign register (户外广告设施台账): every sighting of a sign joins the entry that is the same physical
sign, or opens one; the sign rules (``service.sign_rules``) decide which sightings also make cases.

Identity is position AND appearance AND kind: a sighting joins an entry of its kind whose position gate
(``service.cases.gate_m``: the sign radius and both position errors) holds it and that looks the same
(``vision.identity.same_appearance``: the text read on both, else their appearance signatures). The
decisions are pure functions (``choose_sign``, ``view_score``, ``facade_side``, ``permit_expired``);
``Register`` is the thin database layer ingest calls; merge, split, update and the reads below are what the
API and the web share. Distances are metres, times aware UTC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlmodel import Session, col, func, or_, select

from service.cases import MAX_SIGMA_M, gate_m, merged_position, sighting_sigma
from service.categories import known_categories, sign_labels
from service.geometry import M_PER_DEG, expand, point
from service.hotspots import Shape, local_time, nearest
from service.models.base import row_id
from service.models.hotspots import Hotspot, HotspotKind
from service.models.observations import ObservationRow
from service.models.patrols import PatrolPass
from service.models.signs import (
    Facade,
    SightingPublic,
    Sign,
    SignDetail,
    SignPublic,
    SignsPublic,
    SignStatus,
    SignUpdate,
)
from service.patrols import Route, covers, passes_covering
from service.settings import Settings
from service.sign_rules import SignFacts, case_for, load_rules
from vision import Basis, decode_signature, haversine_m, same_appearance

TEXT_CHARS = 200
"""The longest sign text kept (characters); a longer reading is cut."""
MISSED_PASSES_REMOVED = 2
"""Patrol passes in a row that cover a sign's place without seeing it before it counts as removed (one
miss may be a lorry in front of it)."""
ONE_PASS_S = 60.0
"""Sightings of one source this close in time (seconds) are of one pass of a patrol camera, which reports
each sign once: they are different signs. (A fixed camera reports a sign again only after its stay ended,
minutes apart.)"""
AHEAD = 0.05
"""A forward camera's box whose centre lies this close to the middle of the frame (a fraction of its width)
is straight ahead: its side is not told."""


# --- pure decisions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """When one sighting was in view: its source and its first and last time there (seconds)."""

    source: str
    t_first: float
    t_last: float

    def same_pass(self, other: Span) -> bool:
        """Whether both were in view of one source within ``ONE_PASS_S`` of each other: then they are two
        objects, as one pass reports each object it follows once."""
        return (
            self.source == other.source
            and self.t_first - other.t_last <= ONE_PASS_S
            and other.t_first - self.t_last <= ONE_PASS_S
        )


@dataclass(frozen=True)
class Look:
    """What identity compares of a sign or a sighting: kind (detector label), position (None without GPS)
    with its standard error in metres, text read on it, its appearance signature vector, and when it was in
    view (a sighting's own span; an entry's sightings' spans, as far as the caller knows them)."""

    kind: str
    lat: float | None
    lon: float | None
    sigma_m: float
    text: str | None
    signature: np.ndarray | None
    seen: tuple[Span, ...] = ()


def choose_sign(sighting: Look, entries: Sequence[tuple[int, Look]], radius_m: float) -> int | None:
    """The id of the entry ``sighting`` is a sighting of, or None (a new sign).

    Candidates are the entries of the same kind, none of whose sightings was seen in the same pass as this
    one (``Span.same_pass``), whose gate (``gate_m`` of ``radius_m`` and both position errors) holds the
    sighting (without GPS on either side: the entries without a position) and that look the same
    (``same_appearance``); one whose text agrees wins over one that only looks alike, then the most alike,
    then the nearest by distance over gate, then the oldest."""
    best: tuple[bool, float, float, int] | None = None
    for entry_id, entry in entries:
        if entry.kind != sighting.kind or any(a.same_pass(b) for a in sighting.seen for b in entry.seen):
            continue
        if sighting.lat is None or sighting.lon is None or entry.lat is None or entry.lon is None:
            if (sighting.lat is None) != (entry.lat is None):
                continue
            closeness = 0.0
        else:
            gate = gate_m(radius_m, entry.sigma_m, sighting.sigma_m)
            distance = float(haversine_m(sighting.lat, sighting.lon, entry.lat, entry.lon))
            if distance > gate:
                continue
            closeness = distance / gate
        verdict = same_appearance(sighting.text, entry.text, sighting.signature, entry.signature)
        rank = (verdict.basis != Basis.TEXT, -verdict.score, closeness, entry_id)
        if verdict.same and (best is None or rank < best):
            best = rank
    return None if best is None else best[3]


@dataclass(frozen=True)
class CameraView:
    """How the frames of a source were taken: where the camera faced (``mount``: forward, left or right;
    None: forward) and the frame width in pixels (None: unknown)."""

    mount: str | None = None
    frame_width: int | None = None


def facade_side(bbox: Sequence[float], view: CameraView) -> Facade | None:
    """The side of the direction of travel a sign stands on, from its box [x1, y1, x2, y2] (pixels): a side
    camera sees only its own side; a forward camera sees the left facades in the left half of the frame and
    the right ones in the right half. None when the view does not tell: a forward camera of unknown frame
    width, or a box centred within ``AHEAD`` of the middle (straight ahead)."""
    if view.mount in (Facade.left, Facade.right):
        return Facade(view.mount)
    if not view.frame_width:
        return None
    centre = (bbox[0] + bbox[2]) / 2 / view.frame_width - 0.5
    if abs(centre) <= AHEAD:
        return None
    return Facade.left if centre < 0 else Facade.right


def view_score(confidence: float, bbox: Sequence[float]) -> float:
    """How good a view of a sign is: detector confidence times the square root of the box area (pixels)."""
    x1, y1, x2, y2 = bbox
    return confidence * math.sqrt(max(x2 - x1, 0.0) * max(y2 - y1, 0.0))


def permit_expired(status: SignStatus, expiry: date | None, on: date) -> bool:
    """Whether an entry is approved on a permit that expired before ``on``."""
    return status == SignStatus.approved and expiry is not None and expiry < on


def gone(missed_passes: int) -> bool:
    """Whether a sign the last ``missed_passes`` covering passes did not see is taken for removed."""
    return missed_passes >= MISSED_PASSES_REMOVED


# --- database layer ---------------------------------------------------------------------------


def look_of(sign: Sign, seen: Sequence[Span]) -> Look:
    return Look(
        sign.kind,
        sign.lat,
        sign.lon,
        sign.position_sigma_m or MAX_SIGMA_M,
        sign.text,
        decode_signature(sign.signature),
        tuple(seen),
    )


def span_of(obs: ObservationRow) -> Span:
    return Span(obs.source, obs.t_first, obs.t_last)


def take(sign: Sign, obs: ObservationRow, sigma_m: float) -> None:
    """Add one sighting to an entry's summary: position, text, best view (and the facade side it shows, or the
    first side a sighting told), times and count."""
    if obs.lat is not None and obs.lon is not None:
        if sign.lat is None or sign.lon is None:
            sign.lat, sign.lon, sign.position_sigma_m = obs.lat, obs.lon, sigma_m
        else:
            sign.lat, sign.lon, sign.position_sigma_m = merged_position(
                sign.lat, sign.lon, sign.position_sigma_m or sigma_m, obs.lat, obs.lon, sigma_m
            )
    if obs.text and (sign.text is None or (obs.text_confidence or 0.0) > (sign.text_confidence or 0.0)):
        sign.text, sign.text_confidence = obs.text, obs.text_confidence
    score = view_score(obs.confidence, obs.bbox)
    better = score > sign.best_score or sign.crop is None
    if obs.facade is not None and (better or sign.facade is None):
        sign.facade = obs.facade
    if better:
        sign.best_score = score
        sign.crop = obs.crop or sign.crop
        sign.signature = obs.signature or sign.signature
    if sign.sighting_count:
        sign.first_seen, sign.last_seen = min(sign.first_seen, obs.seen_at), max(sign.last_seen, obs.seen_at)
    else:
        sign.first_seen, sign.last_seen = obs.seen_at, obs.seen_at
    sign.sighting_count += 1


def rebuild(sign: Sign, observations: Sequence[ObservationRow], default_sigma_m: float, at: datetime) -> None:
    """Recompute an entry's summary from its sightings, in time order (after a merge or split)."""
    sign.lat = sign.lon = sign.position_sigma_m = sign.text = sign.text_confidence = None
    sign.signature = sign.crop = sign.facade = None
    sign.best_score, sign.sighting_count = 0.0, 0
    for obs in sorted(observations, key=lambda o: (o.seen_at, o.id or 0)):
        take(sign, obs, sighting_sigma(obs.gps_accuracy_m, default_sigma_m))
    sign.updated_at = at


def within_kinds(lat: float | None, lon: float | None, shapes: list[Shape]) -> frozenset[HotspotKind]:
    """Kinds of the hotspots (buffer included) the position lies in."""
    if lat is None or lon is None:
        return frozenset()
    return frozenset(s.kind for s in shapes if s.within_box(lat, lon, 0.0) and s.distance_m(lat, lon) == 0.0)


class Register:
    """Puts sign observations into register entries within one session (one ingest transaction). Entries
    are flushed as they change, so later sightings of the batch find them. ``view``: how the source's frames
    were taken (for the side of the street each sign stands on)."""

    def __init__(self, session: Session, settings: Settings, shapes: list[Shape], view: CameraView) -> None:
        self.session = session
        self.view = view
        self.settings = settings
        self.shapes = shapes
        self.labels = sign_labels(settings.taxonomy_path)
        self.rules = load_rules(settings.sign_rules_path, known_categories(settings.taxonomy_path))
        self.zone = ZoneInfo(settings.timezone)
        self.pending: dict[int, list[Span]] = {}  # sign id -> spans of its sightings not yet stored

    def holds(self, obs: ObservationRow) -> bool:
        """Whether the observation is of a sign (its label is one of the taxonomy's ``signs``)."""
        return obs.label in self.labels

    def assign(self, obs: ObservationRow) -> Sign:
        """Put ``obs`` into its entry, opening one for a new sign; sets ``obs.sign_id`` and ``obs.facade``."""
        obs.facade = facade_side(obs.bbox, self.view)
        sigma = sighting_sigma(obs.gps_accuracy_m, self.settings.gps_sigma_m)
        sighting = Look(obs.label, obs.lat, obs.lon, sigma, obs.text, decode_signature(obs.signature), (span_of(obs),))
        candidates = self._candidates(obs, sigma)
        seen = self._spans(obs.source, [row_id(s) for s in candidates])
        looks = [(row_id(s), look_of(s, seen.get(row_id(s), []))) for s in candidates]
        found = choose_sign(sighting, looks, self.settings.sign_radius_m)
        if found is None:
            sign = Sign(
                kind=obs.label,
                first_seen=obs.seen_at,
                last_seen=obs.seen_at,
                source=obs.source if obs.lat is None else None,
                created_at=obs.received_at,
                new=self._appeared(obs),
            )
        else:
            sign = next(s for s in candidates if s.id == found)
            if sign.status == SignStatus.removed:  # seen again: it is back
                sign.status = SignStatus.unverified
        take(sign, obs, sigma)
        if sign.lat is not None and sign.lon is not None:
            local = local_time(obs.seen_at, self.zone)
            place = nearest(
                sign.lat, sign.lon, self.shapes, self.settings.hotspot_max_distance_m, local, sign.hotspot_id
            )
            sign.hotspot_id = place[0] if place else None
        sign.updated_at = obs.received_at
        self.session.add(sign)
        self.session.flush()
        obs.sign_id = sign.id
        self.pending.setdefault(row_id(sign), []).append(span_of(obs))
        return sign

    def case_category(self, obs: ObservationRow, sign: Sign) -> str | None:
        """The case category the sign rules give this sighting of ``sign``, or None (no case)."""
        facts = SignFacts(
            category=obs.category,
            kind=sign.kind,
            status=SignStatus(sign.status),
            within=within_kinds(sign.lat, sign.lon, self.shapes),
            permit_expired=permit_expired(SignStatus(sign.status), sign.permit_expiry, obs.seen_at.date()),
            new=sign.new,
        )
        return case_for(self.rules, facts)

    def _candidates(self, obs: ObservationRow, sigma_m: float) -> list[Sign]:
        stmt = select(Sign).where(Sign.kind == obs.label)
        if obs.lat is None or obs.lon is None:
            stmt = stmt.where(col(Sign.lat).is_(None), Sign.source == obs.source)
        else:
            reach = gate_m(self.settings.sign_radius_m, MAX_SIGMA_M, sigma_m)
            dlat = reach / M_PER_DEG
            dlon = dlat / max(math.cos(math.radians(obs.lat)), 0.01)
            stmt = stmt.where(
                col(Sign.lat).between(obs.lat - dlat, obs.lat + dlat),
                col(Sign.lon).between(obs.lon - dlon, obs.lon + dlon),
            )
        return list(self.session.exec(stmt.order_by(col(Sign.id))))

    def _spans(self, source: str, sign_ids: list[int]) -> dict[int, list[Span]]:
        """Sign id -> the spans of its sightings from ``source`` (stored, and of this batch)."""
        found: dict[int, list[Span]] = {i: list(self.pending.get(i, [])) for i in sign_ids}
        stmt = select(ObservationRow.sign_id, ObservationRow.t_first, ObservationRow.t_last).where(
            ObservationRow.source == source, col(ObservationRow.sign_id).in_(sign_ids)
        )
        for sign_id, t_first, t_last in self.session.exec(stmt):
            if sign_id is not None:
                found[sign_id].append(Span(source, t_first, t_last))
        return found

    def _appeared(self, obs: ObservationRow) -> bool:
        """Whether an earlier patrol pass (another source) covered the sighting's place before it was seen."""
        if obs.lat is None or obs.lon is None:
            return False
        passes = passes_covering(self.session, point(obs.lat, obs.lon), self.settings.sign_radius_m, until=obs.seen_at)
        return any(row.source != obs.source and at < obs.seen_at for row, at in passes)


def sweep_removed(session: Session, settings: Settings, patrol: PatrolPass, at: datetime) -> list[int]:
    """After a patrol pass is stored: mark removed the entries on its way it did not see whose last
    ``MISSED_PASSES_REMOVED`` covering passes (this one included) all missed them; their ids. Flushes."""
    route = Route.of(patrol)
    min_lat, min_lon, max_lat, max_lon = expand(
        (patrol.min_lat, patrol.min_lon, patrol.max_lat, patrol.max_lon), settings.sign_radius_m
    )
    seen = select(ObservationRow.sign_id).where(
        ObservationRow.source == patrol.source, col(ObservationRow.sign_id).is_not(None)
    )
    stmt = select(Sign).where(
        col(Sign.status) != SignStatus.removed,
        col(Sign.lat).between(min_lat, max_lat),
        col(Sign.lon).between(min_lon, max_lon),
        col(Sign.last_seen) < patrol.started_at,
        col(Sign.id).not_in(seen),
    )
    removed = []
    for sign in session.exec(stmt):
        if sign.lat is None or sign.lon is None or covers(route, sign.lat, sign.lon, settings.sign_radius_m) is None:
            continue
        sighted = set(session.exec(select(ObservationRow.source).where(ObservationRow.sign_id == sign.id)))
        since = passes_covering(session, point(sign.lat, sign.lon), settings.sign_radius_m, since=sign.last_seen)
        if gone(sum(row.source not in sighted and when > sign.last_seen for row, when in since)):
            sign.status, sign.updated_at = SignStatus.removed, at
            session.add(sign)
            removed.append(row_id(sign))
    session.flush()
    return removed


# --- edits (the API and the web view share these) ---------------------------------------------


class SignEditError(ValueError):
    """An edit of the register that cannot be made."""


def sightings(session: Session, sign_id: int) -> list[ObservationRow]:
    """The observations of an entry, in time order."""
    stmt = (
        select(ObservationRow)
        .where(ObservationRow.sign_id == sign_id)
        .order_by(col(ObservationRow.seen_at), col(ObservationRow.id))
    )
    return list(session.exec(stmt))


def update(sign: Sign, change: SignUpdate, at: datetime) -> None:
    """Apply the fields given; SignEditError for ``approved`` without a permit number."""
    fields = change.model_dump(exclude_unset=True)
    if fields.get("status") == SignStatus.approved and not (fields.get("permit_number") or sign.permit_number):
        raise SignEditError("an approved sign needs its permit_number")
    if "text" in fields:
        sign.text_confidence = None
    sign.sqlmodel_update(fields)
    sign.updated_at = at


def merge(session: Session, settings: Settings, sign: Sign, into: Sign, at: datetime) -> None:
    """Move every sighting of ``sign`` to ``into`` (which keeps its status and permit) and delete ``sign``.
    SignEditError when they are one entry. Flushes."""
    if sign.id == into.id:
        raise SignEditError("an entry cannot be merged into itself")
    moved = sightings(session, row_id(sign))
    for obs in moved:
        obs.sign_id = into.id
        session.add(obs)
    into.new = into.new and sign.new
    session.delete(sign)
    session.flush()
    rebuild(into, sightings(session, row_id(into)), settings.gps_sigma_m, at)
    session.add(into)
    session.flush()


def split(session: Session, settings: Settings, sign: Sign, observation_ids: Sequence[int], at: datetime) -> Sign:
    """Move the given sightings of ``sign`` to a new entry of its kind (returned). SignEditError when one
    is not a sighting of ``sign`` or they are all of them. Flushes."""
    held = {row_id(obs): obs for obs in sightings(session, row_id(sign))}
    strangers = sorted(set(observation_ids) - set(held))
    if strangers:
        raise SignEditError(f"not sightings of sign {sign.id}: {strangers}")
    if len(set(observation_ids)) == len(held):
        raise SignEditError("cannot split off every sighting: keep at least one")
    moving = [held[i] for i in observation_ids]
    first = min(moving, key=lambda o: o.seen_at)
    other = Sign(kind=sign.kind, first_seen=first.seen_at, last_seen=first.seen_at, source=sign.source, created_at=at)
    session.add(other)
    session.flush()
    for obs in moving:
        obs.sign_id = other.id
        session.add(obs)
    rebuild(other, moving, settings.gps_sigma_m, at)
    rebuild(sign, [obs for i, obs in held.items() if i not in set(observation_ids)], settings.gps_sigma_m, at)
    session.add_all([sign, other])
    session.flush()
    return other


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignFilter:
    """Which entries a list shows: each condition given must hold. ``q`` is found (ignoring case) in the
    text, permit number or note; ``since`` (aware UTC): first seen at or after it (new since)."""

    q: str | None = None
    kind: str | None = None
    status: SignStatus | None = None
    hotspot_id: int | None = None
    since: datetime | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.q:
            needle = self.q.lower()
            found.append(
                or_(
                    *(
                        func.lower(column).contains(needle, autoescape=True)
                        for column in (col(Sign.text), col(Sign.permit_number), col(Sign.note))
                    )
                )
            )
        if self.kind is not None:
            found.append(Sign.kind == self.kind)
        if self.status is not None:
            found.append(Sign.status == self.status)
        if self.hotspot_id is not None:
            found.append(Sign.hotspot_id == self.hotspot_id)
        if self.since is not None:
            found.append(col(Sign.first_seen) >= self.since)
        return found


def sign_public(sign: Sign, hotspot_name: str | None) -> SignPublic:
    crop_url = f"/api/signs/{sign.id}/crop" if sign.crop else None
    return SignPublic.model_validate({**sign.model_dump(), "crop_url": crop_url, "hotspot_name": hotspot_name})


def find_signs(session: Session, found: SignFilter, limit: int, offset: int) -> SignsPublic:
    """One page of the entries ``found`` lets through, last seen first, and how many there are."""
    conditions = found.conditions()
    total = session.exec(select(func.count()).select_from(Sign).where(*conditions)).one()
    stmt = (
        select(Sign, Hotspot.name)
        .outerjoin(Hotspot, col(Sign.hotspot_id) == Hotspot.id)
        .where(*conditions)
        .order_by(col(Sign.last_seen).desc(), col(Sign.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return SignsPublic(items=[sign_public(s, name) for s, name in session.exec(stmt)], total=total)


def sign_detail(session: Session, sign_id: int) -> SignDetail:
    """One entry with its sightings (and their crop links); LookupError when there is no such entry."""
    sign = session.get(Sign, sign_id)
    if sign is None:
        raise LookupError(f"no sign {sign_id}")
    hotspot = session.get(Hotspot, sign.hotspot_id) if sign.hotspot_id else None
    return SignDetail(
        **sign_public(sign, hotspot.name if hotspot else None).model_dump(),
        observations=[
            SightingPublic(
                **o.model_dump(include=set(SightingPublic.model_fields)),
                crop_url=f"/api/observations/{o.id}/crop" if o.crop else None,
            )
            for o in sightings(session, sign_id)
        ],
    )
