"""Is it the same sign? Pure comparisons of what two sightings of a sign look like: the text read on
them and their appearance signatures (see ``vision.appearance``). The sign register calls these after
its position gate; nothing here knows about positions.

Thresholds were measured on the shop-front validation photos and the sample patrol clip; the README's
"Signs: text and appearance" section gives the figures behind each.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

MIN_TEXT_CHARS = 2
"""Texts shorter than this after normalising (one character, or nothing) say nothing about identity."""
TEXT_SAME = 0.6
"""Text similarity at or above which two readings are taken for the same sign."""
TEXT_DIFFERENT = 0.3
"""Text similarity at or below which two readings are taken for different signs, whatever they look like."""
MIN_PARTIAL_CHARS = 4
"""A reading this long (normalised) may be found inside a longer one: one line of a two-line sign."""
SIGNATURE_SAME = 0.82
"""Signature similarity at or above which two crops are taken for the same sign (when text cannot decide)."""


def normalize_text(text: str) -> str:
    """The letters and digits of ``text``, compared loosely: full-width forms folded to half-width
    (NFKC), case folded, spaces, punctuation and symbols dropped. "ＫＦＣ 肯德基！" -> "kfc肯德基"."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def _last_row(a: str, b: str, free_skip: bool) -> list[int]:
    """Last row of the Levenshtein table of ``a`` (rows) against ``b`` (columns): entry j is the distance
    from ``a`` to ``b[:j]``, or with ``free_skip`` to the closest substring of ``b`` ending at j."""
    previous = [0] * (len(b) + 1) if free_skip else list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest single-character insertions, deletions and substitutions."""
    return _last_row(a, b, free_skip=False)[-1]


def _comparable(a: str | None, b: str | None) -> tuple[str, str] | None:
    x, y = normalize_text(a or ""), normalize_text(b or "")
    return (x, y) if min(len(x), len(y)) >= MIN_TEXT_CHARS else None


def text_similarity(a: str | None, b: str | None) -> float | None:
    """How alike two sign readings are, 0..1: 1 - edit distance / length of the longer, after
    ``normalize_text``; None when either has fewer than ``MIN_TEXT_CHARS`` characters (nothing to compare)."""
    pair = _comparable(a, b)
    if pair is None:
        return None
    x, y = pair
    return 1.0 - edit_distance(x, y) / max(len(x), len(y))


def contained_similarity(a: str | None, b: str | None) -> float | None:
    """How well the shorter reading matches some part of the longer one, 0..1: 1 - its edit distance to the
    closest part / its own length. None when either is shorter than ``MIN_PARTIAL_CHARS``.

    A sign read whole on one day and one line of it on another scores high; so do two different shops
    that share a generic ending ("有限公司") when only that ending was read on one, which is why a high
    score here only keeps the readings from counting against each other (see ``same_appearance``)."""
    pair = _comparable(a, b)
    if pair is None or min(len(pair[0]), len(pair[1])) < MIN_PARTIAL_CHARS:
        return None
    short, long = sorted(pair, key=len)
    return 1.0 - min(_last_row(short, long, free_skip=True)) / len(short)


def signature_similarity(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    """Cosine similarity of two appearance signatures (1-D, same length), -1..1; None when either is missing."""
    if a is None or b is None:
        return None
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.shape != b.shape:
        raise ValueError(f"signatures of different lengths: {a.shape} and {b.shape}")
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


class Basis(StrEnum):
    """What decided a comparison."""

    TEXT = "text"
    SIGNATURE = "signature"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Verdict:
    """Whether two sightings look like the same sign; ``score`` 0..1 is the similarity that decided it
    (0 when nothing could be compared)."""

    same: bool
    score: float
    basis: Basis


def same_appearance(
    text_a: str | None,
    text_b: str | None,
    signature_a: np.ndarray | None,
    signature_b: np.ndarray | None,
) -> Verdict:
    """Whether two sightings are the same sign by what they look like (the caller gates by position and kind).

    - Both read (``MIN_TEXT_CHARS`` or more): text similarity >= ``TEXT_SAME`` -> same; <= ``TEXT_DIFFERENT``
      -> different, however alike they look (neighbouring signs of one chain or mall style), unless the
      shorter reading is found inside the longer (``contained_similarity`` >= ``TEXT_SAME``: one line of
      the sign read on one day, all of it on another); otherwise the signatures decide.
    - Only one side read, or neither: a missing reading is no evidence (a far or blurred view reads
      nothing), so the signatures decide: similarity >= ``SIGNATURE_SAME`` -> same.
    - Nothing to compare at all: not the same (the register opens a new entry rather than merge blindly).
    """
    text = text_similarity(text_a, text_b)
    if text is not None and text >= TEXT_SAME:
        return Verdict(True, text, Basis.TEXT)
    if text is not None and text <= TEXT_DIFFERENT and (contained_similarity(text_a, text_b) or 0.0) < TEXT_SAME:
        return Verdict(False, text, Basis.TEXT)
    look = signature_similarity(signature_a, signature_b)
    if look is None:
        return Verdict(False, 0.0, Basis.NOTHING)
    return Verdict(look >= SIGNATURE_SAME, max(look, 0.0), Basis.SIGNATURE)
