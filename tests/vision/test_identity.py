"""Same sign or not: text normalisation, OCR-tolerant text similarity, signature similarity, the verdict."""

from __future__ import annotations

import numpy as np
import pytest

from vision.identity import (
    SIGNATURE_SAME,
    TEXT_DIFFERENT,
    TEXT_SAME,
    Basis,
    contained_similarity,
    edit_distance,
    normalize_text,
    same_appearance,
    signature_similarity,
    text_similarity,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("金城烟酒超市", "金城烟酒超市"),
        ("ＫＦＣ 肯德基！", "kfc肯德基"),  # full-width letters and punctuation
        ("Pasta.Pizza.Bar", "pastapizzabar"),
        ("电话：１３９ ０３５６-７７８８", "电话13903567788"),  # full-width digits, separators
        ("《老王》牛肉面·刀削面", "老王牛肉面刀削面"),
        ("  \t\n", ""),
        ("★☆→", ""),  # symbols only
    ],
)
def test_normalize_text_keeps_letters_and_digits_only(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("abc", "", 3),
        ("", "abc", 3),
        ("kitten", "sitting", 3),
        ("金城超市", "金城超市", 0),
        ("金城超市", "全城超市", 1),  # one misread character
        ("金城超市", "金城市", 1),  # one missed
        ("金城超市", "金城大超市", 1),  # one extra
        ("ab", "ba", 2),
    ],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("金城烟酒超市", "金城烟酒超市", 1.0, 1.0),
        ("金城烟酒超市", "金 城 烟 酒 超 市", 1.0, 1.0),  # spaces
        ("ＤＩＡＭＡＮＴ", "diamant", 1.0, 1.0),  # width and case
        ("金城烟酒超市", "金城烟洒超市", 0.83, 0.84),  # one OCR confusion in six: 5/6
        ("金城烟酒超市", "金诚烟洒超币", 0.5, 0.51),  # three in six
        ("金城烟酒超市", "鑫源五金建材", 0.0, 0.17),  # different shops
        ("SHAWARMA", "HAWARMA", 0.87, 0.88),  # first letter cut off
        ("金城烟酒超市", "金城烟酒超市 电话13903567788", 0.31, 0.32),  # one line of two: see contained_similarity
    ],
)
def test_text_similarity_tolerates_ocr_errors(a: str, b: str, low: float, high: float) -> None:
    assert low <= text_similarity(a, b) <= high  # type: ignore[operator]
    assert text_similarity(b, a) == text_similarity(a, b)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("金城烟酒超市", "金城烟酒超市 电话13903567788", 1.0),  # one line of two read on one day
        ("金城烟酒超市", "电话13903567788 金城烟洒超市", 5 / 6),  # ... with one misread character
        ("SHAWARMA", "HAWARMA", 1.0),
        ("有限公司", "晋城鑫源有限公司", 1.0),  # a generic ending: only keeps the texts from deciding
        ("鑫源五金建材", "金城烟酒超市电话139", 1 / 6),  # only 金 in common
        ("便利店", "好又多便利店", None),  # too short to look for inside another
        (None, "金城烟酒超市", None),
    ],
)
def test_contained_similarity_finds_one_reading_inside_the_other(a: str | None, b: str, expected: float | None) -> None:
    assert contained_similarity(a, b) == (pytest.approx(expected) if expected is not None else None)
    assert contained_similarity(b, a) == contained_similarity(a, b)


@pytest.mark.parametrize(
    ("a", "b"), [(None, "金城"), ("金城", None), ("", "金城"), ("金", "金城"), ("!!", "金城超市"), (None, None)]
)
def test_text_similarity_is_unknown_without_two_characters_on_each_side(a: str | None, b: str | None) -> None:
    assert text_similarity(a, b) is None


def test_signature_similarity() -> None:
    a = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    assert signature_similarity(a, a * 3) == pytest.approx(1.0)
    assert signature_similarity(a, np.array([0.0, 1.0, 0.0])) == pytest.approx(0.0)
    assert signature_similarity(a, -a) == pytest.approx(-1.0)
    assert signature_similarity(a, np.zeros(3)) == 0.0
    assert signature_similarity(None, a) is None and signature_similarity(a, None) is None
    with pytest.raises(ValueError, match="different lengths"):
        signature_similarity(a, np.ones(4))


def _signature(angle_deg: float) -> np.ndarray:
    """A 2-D unit vector whose cosine similarity to _signature(0) is cos(angle)."""
    angle = np.radians(angle_deg)
    return np.array([np.cos(angle), np.sin(angle)], dtype=np.float32)


LOOK_ALIKE = _signature(10)  # cosine 0.98 with _signature(0)
LOOK_APART = _signature(60)  # cosine 0.5


@pytest.mark.parametrize(
    ("text_a", "text_b", "signature_b", "same", "basis"),
    [
        # both read: the text decides when it is clear, however the crops look
        ("金城烟酒超市", "金城烟洒超市", LOOK_APART, True, Basis.TEXT),
        ("金城烟酒超市", "鑫源五金建材", LOOK_ALIKE, False, Basis.TEXT),  # neighbours of one style
        # one reading inside the other (one line of the sign on one day): not against, the look decides
        ("金城烟酒超市", "金城烟酒超市 电话13903567788", LOOK_ALIKE, True, Basis.SIGNATURE),
        ("有限公司", "晋城鑫源五金建材有限公司", LOOK_APART, False, Basis.SIGNATURE),
        # both read but the readings are halfway alike: the look decides
        ("金城烟酒超市", "金诚烟洒超币", LOOK_ALIKE, True, Basis.SIGNATURE),
        ("金城烟酒超市", "金诚烟洒超币", LOOK_APART, False, Basis.SIGNATURE),
        # one side read nothing (far or blurred): no evidence against, the look decides
        ("金城烟酒超市", None, LOOK_ALIKE, True, Basis.SIGNATURE),
        ("金城烟酒超市", "", LOOK_APART, False, Basis.SIGNATURE),
        (None, "金城烟酒超市", LOOK_ALIKE, True, Basis.SIGNATURE),
        # neither read
        (None, None, LOOK_ALIKE, True, Basis.SIGNATURE),
        (None, None, LOOK_APART, False, Basis.SIGNATURE),
        # nothing to compare: never merged blindly
        (None, None, None, False, Basis.NOTHING),
    ],
)
def test_same_appearance(
    text_a: str | None, text_b: str | None, signature_b: np.ndarray | None, same: bool, basis: Basis
) -> None:
    verdict = same_appearance(text_a, text_b, _signature(0), signature_b)
    assert verdict.same is same
    assert verdict.basis is basis
    assert 0.0 <= verdict.score <= 1.0


def test_thresholds_are_ordered() -> None:
    assert 0 < TEXT_DIFFERENT < TEXT_SAME <= 1
    assert 0 < SIGNATURE_SAME < 1
    assert np.cos(np.radians(10)) >= SIGNATURE_SAME > np.cos(np.radians(60))
