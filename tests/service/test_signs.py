"""The sign register's pure decisions: which entry a sighting is of, and which sightings the sign rules
make cases."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest

from service.categories import known_categories
from service.models.hotspots import HotspotKind
from service.models.observations import ObservationRow
from service.models.signs import Facade, Sign, SignStatus
from service.sign_rules import DEFAULT_SIGN_RULES, SignFacts, SignRulesError, case_for, load_rules, parse_rules
from service.signs import CameraView, Look, Span, choose_sign, facade_side, permit_expired, rebuild, take, view_score
from tests.service.places import offset

RNG = np.random.default_rng(7)
LOOK_A, LOOK_B = RNG.normal(size=314).astype(np.float32), RNG.normal(size=314).astype(np.float32)
LOOK_A2 = LOOK_A + 0.2 * RNG.normal(size=314).astype(np.float32)  # A on another day: other light, noise


def look(
    north: float | None = 0.0,
    east: float = 0.0,
    text: str | None = None,
    signature: np.ndarray | None = LOOK_A,
    kind: str = "shop_sign",
    sigma: float = 4.0,
) -> Look:
    lat, lon = offset(north, east) if north is not None else (None, None)
    return Look(kind, lat, lon, sigma, text, signature)


# Entries along a facade: A (no text read) at 0 m, B (another look) 6 m on, C "BISTRO" 12 m on, D
# "ПАРФЮМ" 18 m on, E a projecting sign looking like A at 0 m, F positionless.
ENTRIES = [
    (1, look(0, 0)),
    (2, look(0, 6, signature=LOOK_B)),
    (3, look(0, 12, text="BISTRO", signature=LOOK_B)),
    (4, look(0, 18, text="ПАРФЮМ", signature=LOOK_B)),
    (5, look(0, 0, kind="projecting_sign")),
    (6, look(None, text="DIAMANT")),
]


@pytest.mark.parametrize(
    ("sighting", "expected"),
    [
        (look(0, 1), 1),  # same look, a metre off
        (look(3, 12, signature=LOOK_A2), 1),  # another day, 12 m off (within the gate), noisy look
        (look(0, 40), None),  # same look, but 40 m on: another sign of the same chain
        (look(0, 6, signature=LOOK_B), 2),  # B, not A, though A is as near
        (look(0, 12, text="BISTR0", signature=LOOK_A), 3),  # text decides over a different-looking view
        (look(0, 14, text="BISTRO", signature=LOOK_B), 3),  # C, not D nor B
        (look(0, 24, text="SHAWARMA", signature=LOOK_B), None),  # text unlike C and D: a new sign
        (look(0, 0, kind="projecting_sign"), 5),  # kind keeps E and A apart
        (look(0, 0, kind="window_ad"), None),
        (look(0, 0, signature=None), None),  # nothing to compare: never merged blindly
        (look(None, text="DIAMANT"), 6),  # without GPS: the entries without a position
        (look(None, text="BISTRO", signature=LOOK_B), None),
        (look(0, 8, sigma=25.0, signature=LOOK_B), 2),
    ],
)
def test_a_sighting_joins_the_entry_that_is_the_same_sign(sighting: Look, expected: int | None) -> None:
    assert choose_sign(sighting, ENTRIES, 12.0) == expected


def test_two_sightings_of_one_pass_are_two_signs() -> None:
    """A pass reports each sign once: an entry seen in this pass (within a minute) takes nothing more of it."""
    seen_now = (Span("day-1.mp4", 10.0, 12.0),)
    entry = Look("shop_sign", *offset(0, 0), 4.0, None, LOOK_A, seen_now)
    assert choose_sign(replace(look(0, 1), seen=(Span("day-1.mp4", 13.0, 14.0),)), [(1, entry)], 12.0) is None
    assert choose_sign(replace(look(0, 1), seen=(Span("day-1.mp4", 80.0, 90.0),)), [(1, entry)], 12.0) == 1
    assert choose_sign(replace(look(0, 1), seen=(Span("day-2.mp4", 11.0, 12.0),)), [(1, entry)], 12.0) == 1


def test_an_uncertain_entry_has_a_wider_gate() -> None:
    far = look(0, 25)
    assert choose_sign(far, [(1, look(0, 0))], 12.0) is None
    assert choose_sign(far, [(1, look(0, 0, sigma=12.0))], 12.0) == 1


def test_the_most_alike_entry_wins_then_the_nearest() -> None:
    alike = [(1, look(0, 0, signature=LOOK_A2)), (2, look(0, 5, signature=LOOK_A))]
    assert choose_sign(look(0, 1), alike, 12.0) == 2
    twins = [(1, look(0, 5)), (2, look(0, 1))]
    assert choose_sign(look(0, 0), twins, 12.0) == 2


@pytest.mark.parametrize(
    ("bbox", "view", "side"),
    [
        ([100, 50, 300, 120], CameraView("forward", 1920), Facade.left),  # a forward camera: the left half
        ([1500, 50, 1800, 120], CameraView(None, 1920), Facade.right),  # unknown mount: taken as forward
        ([880, 50, 1080, 120], CameraView("forward", 1920), None),  # straight ahead
        ([700, 50, 800, 120], CameraView("forward", 1920), Facade.left),  # 12% left of the middle
        ([1500, 50, 1800, 120], CameraView("left", 1920), Facade.left),  # a side camera sees only its side
        ([100, 50, 300, 120], CameraView("right"), Facade.right),
        ([100, 50, 300, 120], CameraView("forward"), None),  # no frame width: no side
    ],
)
def test_the_facade_side_comes_from_the_box_and_the_mount(
    bbox: list[float], view: CameraView, side: Facade | None
) -> None:
    assert facade_side(bbox, view) == side


def test_an_entry_stands_on_the_side_its_best_telling_view_shows() -> None:
    at = datetime(2025, 5, 12, 1, 0, tzinfo=UTC)

    def sighting(n: int, confidence: float, facade: Facade | None) -> ObservationRow:
        return ObservationRow(
            id=n,
            track_id=f"t{n}",
            category="outdoor_ad",
            label="shop_sign",
            confidence=confidence,
            t_first=0.0,
            t_last=1.0,
            t_best=0.5,
            bbox=[0, 0, 100, 100],
            crop=f"crop-{n}",
            source="day-1.mp4",
            received_at=at,
            seen_at=at,
            facade=facade,
        )

    sign = Sign(kind="shop_sign", first_seen=at, last_seen=at)
    sides = []
    views = [sighting(1, 0.5, Facade.left), sighting(2, 0.3, Facade.right), sighting(3, 0.9, None)]
    views.append(sighting(4, 0.95, Facade.right))
    for view in views:
        take(sign, view, 4.0)
        sides.append(sign.facade)
    # a worse view does not change it, a better one that tells no side neither, a better telling one does
    assert sides == [Facade.left, Facade.left, Facade.left, Facade.right]
    rebuild(sign, views[:3], 4.0, at)  # the last sighting split off
    assert sign.facade == Facade.left and sign.sighting_count == 3
    rebuild(sign, [views[2]], 4.0, at)
    assert sign.facade is None


def test_view_score_and_permit_expiry() -> None:
    assert view_score(0.5, [0, 0, 40, 10]) == pytest.approx(10.0)
    assert permit_expired(SignStatus.approved, date(2025, 1, 1), date(2025, 1, 2))
    assert not permit_expired(SignStatus.approved, date(2025, 1, 1), date(2025, 1, 1))
    assert not permit_expired(SignStatus.approved, None, date(2025, 1, 2))
    assert not permit_expired(SignStatus.unverified, date(2025, 1, 1), date(2025, 1, 2))


def facts(**changes: Any) -> SignFacts:
    base: dict[str, Any] = {
        "category": "outdoor_ad",
        "kind": "shop_sign",
        "status": SignStatus.unverified,
        "within": frozenset(),
        "permit_expired": False,
        "new": False,
    }
    return SignFacts(**{**base, **changes})


STRICT = frozenset({HotspotKind.strict_street})


@pytest.mark.parametrize(
    ("changes", "case"),
    [
        ({}, None),  # an ordinary shop sign is inventory, never a case by itself
        ({"new": True}, None),  # a new sign is flagged in the register, not queued
        ({"kind": "projecting_sign"}, None),
        ({"status": SignStatus.approved, "within": STRICT}, None),
        ({"category": "lightbox_ad"}, "lightbox_ad"),  # standing on the sidewalk
        ({"category": "lightbox_ad", "status": SignStatus.approved}, "lightbox_ad"),
        ({"status": SignStatus.approved, "permit_expired": True}, "outdoor_ad"),
        ({"kind": "projecting_sign", "status": SignStatus.approved, "within": STRICT}, "outdoor_ad"),
        ({"within": STRICT}, "outdoor_ad"),  # unapproved on a strict street
        ({"within": frozenset({HotspotKind.school_zone})}, None),
    ],
)
def test_shipped_rules(changes: dict[str, Any], case: str | None) -> None:
    rules = load_rules(DEFAULT_SIGN_RULES, known_categories())
    assert case_for(rules, facts(**changes)) == case


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "one key, rules"),
        ({"rules": [{"name": "x"}]}, "rule 'x': needs a name and a case"),
        ({"rules": [{"name": "x", "case": "parking"}]}, "needs a name and a case"),
        ({"rules": [{"name": "x", "case": "outdoor_ad", "colour": ["red"]}]}, "unknown keys ['colour']"),
        ({"rules": [{"name": "x", "case": "outdoor_ad", "status": ["gone"]}]}, "status: 'gone'"),
        ({"rules": [{"name": "x", "case": "outdoor_ad", "within": "strict_street"}]}, "within must be a list"),
        ({"rules": [{"name": "x", "case": "outdoor_ad", "category": ["parking"]}]}, "unknown category 'parking'"),
        ({"rules": [{"name": "x", "case": "outdoor_ad", "new": "yes"}]}, "must be true or false"),
        ({"rules": ["x"]}, "rule 1: not a mapping"),
    ],
)
def test_bad_rules_are_refused_by_name(data: Any, message: str) -> None:
    with pytest.raises(SignRulesError, match=re.escape(message)):
        parse_rules(data, known_categories())


def test_a_rule_may_queue_new_signs() -> None:
    rules = parse_rules({"rules": [{"name": "new", "new": True, "case": "outdoor_ad"}]}, known_categories())
    assert case_for(rules, facts(new=True)) == "outdoor_ad"
    assert case_for(rules, facts()) is None
