"""Violation categories and their policy, and model labels -> categories: a direct label map plus
composite rules, loaded from YAML.

Each category's code, display names, case radius, camera dwell and exemptions live in its taxonomy
entry (``CategoryPolicy``) and nowhere else. The schema and every shipped rule are documented in
``models/taxonomy.md``.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from vision.boxes import Detections
from vision.defaults import DEFAULT_TAXONOMY

EXEMPTING_PLACES = frozenset({"vending_zone"})
"""Kinds of designated place a category may be exempt in: vending points (便民经营点)."""


@dataclass(frozen=True)
class CategoryPolicy:
    """One kind of violation and how every part of the product treats it.

    id: the code observations and cases carry; zh, en: display names. radius_m: sightings of it this
    close (metres) are one case (None: the service's default). dwell_s: seconds a fixed camera must see
    it stay before it is reported (None: the dwell rules' default). exempt_in: kinds of designated place
    (``EXEMPTING_PLACES``) where it is no violation.
    """

    id: str
    zh: str
    en: str
    radius_m: float | None = None
    dwell_s: float | None = None
    exempt_in: frozenset[str] = frozenset()


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used; the message names the file and the offending entry."""


@dataclass(frozen=True)
class Context:
    """Other boxes a rule needs around its subject.

    labels: model labels that count; min_count: how many are needed;
    max_gap: largest horizontal gap between two boxes, in box widths (see ``_close``).
    """

    labels: frozenset[str]
    min_count: int
    max_gap: float


@dataclass(frozen=True)
class Rule:
    """A row whose label is in ``subject`` gets ``category`` when every condition set here holds.

    min_bottom: box bottom at or below this fraction of the frame height (0 = top, 1 = bottom).
    aspect: (min, max) of box height / width.
    near: at least ``min_count`` other boxes with ``near.labels`` close to the subject.
    cluster: the subject's chain of close boxes with ``cluster.labels`` has at least ``min_count`` members,
    the subject included.
    """

    name: str
    category: str
    subject: frozenset[str]
    min_bottom: float | None = None
    aspect: tuple[float, float] | None = None
    near: Context | None = None
    cluster: Context | None = None

    def labels(self) -> set[str]:
        """Every model label this rule looks at."""
        out = set(self.subject)
        for context in (self.near, self.cluster):
            if context:
                out |= context.labels
        return out

    def matches(self, det: Detections, frame_h: int) -> np.ndarray:
        """(N,) bool: which rows of ``det`` satisfy this rule; frame_h in pixels."""
        ok = _has(det, self.subject)
        x1, y1, x2, y2 = det.xyxy.T
        if self.min_bottom is not None:
            ok &= y2 >= self.min_bottom * frame_h
        if self.aspect is not None:
            ratio = (y2 - y1) / np.maximum(x2 - x1, 1e-6)
            ok &= (ratio >= self.aspect[0]) & (ratio <= self.aspect[1])
        if self.near is not None and ok.any():
            close = _close(det.xyxy, self.near.max_gap) & _has(det, self.near.labels)[None, :]
            np.fill_diagonal(close, False)
            ok &= close.sum(axis=1) >= self.near.min_count
        if self.cluster is not None and ok.any():
            members = _has(det, self.cluster.labels)
            close = _close(det.xyxy, self.cluster.max_gap)
            groups = _components((close | close.T) & members[:, None] & members[None, :])
            ok &= np.bincount(groups)[groups] >= self.cluster.min_count
        return ok


def _has(det: Detections, labels: frozenset[str]) -> np.ndarray:
    """(N,) bool: rows whose model label is one of ``labels``."""
    return np.array([label in labels for label in det.labels], dtype=bool)


def _close(xyxy: np.ndarray, max_gap: float) -> np.ndarray:
    """(N, N) bool: box j is close to box i.

    The boxes overlap vertically and the horizontal gap between them (0 when they overlap) is at most
    ``max_gap`` widths of box i. xyxy: (N, 4) pixels.
    """
    x1, y1, x2, y2 = xyxy.T
    gap = np.maximum(0.0, np.maximum(x1[None, :] - x2[:, None], x1[:, None] - x2[None, :]))
    vertical = np.minimum(y2[:, None], y2[None, :]) > np.maximum(y1[:, None], y1[None, :])
    close: np.ndarray = vertical & (gap <= max_gap * (x2 - x1)[:, None])
    return close


def _components(adjacent: np.ndarray) -> np.ndarray:
    """(N,) int: connected-component number of each node of a symmetric (N, N) bool adjacency matrix."""
    group = np.full(len(adjacent), -1)
    for seed in range(len(adjacent)):
        if group[seed] >= 0:
            continue
        group[seed] = seed
        stack = [seed]
        while stack:
            for j in np.flatnonzero(adjacent[stack.pop()] & (group < 0)):
                group[j] = seed
                stack.append(int(j))
    return group


@dataclass
class Taxonomy:
    """The categories (id -> policy, in file order) and which model labels are reported as which.

    Every taxonomy holds the shipped taxonomy's categories; another file may add categories (and repeat
    shipped ones unchanged) but not redefine them.
    """

    categories: dict[str, CategoryPolicy] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    signs: frozenset[str] = frozenset()
    """Model labels that are signs (shop signs, projecting signs, window ads, lightboxes): their tracks
    get the text read on them and an appearance signature, and the service keeps them in the sign register."""

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """Read and strictly validate a taxonomy YAML; None -> the shipped ``models/taxonomy.yaml``."""
        path = Path(path) if path is not None else DEFAULT_TAXONOMY
        shipped = path.resolve() == DEFAULT_TAXONOMY.resolve()
        built_in = {} if shipped else cls.load().categories
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TaxonomyError(f"{path}: cannot read taxonomy: {exc}") from exc
        except yaml.YAMLError as exc:
            raise TaxonomyError(f"{path}: not valid YAML: {exc}") from exc
        try:
            return _parse(data, built_in)
        except TaxonomyError as exc:
            raise TaxonomyError(f"{path}: {exc}") from None

    def dwell_s(self) -> dict[str, float]:
        """Category id -> seconds a fixed camera must see it stay, for the categories that set one."""
        return {c.id: c.dwell_s for c in self.categories.values() if c.dwell_s is not None}

    def relevant_labels(self) -> set[str]:
        """Labels mapped directly or used by any rule, as subject or context."""
        out = set(self.labels)
        for rule in self.rules:
            out |= rule.labels()
        return out

    def classify(self, det: Detections, frame_shape: tuple[int, int]) -> list[str | None]:
        """One category id (None = not reported) per row of ``det``; frame_shape is (H, W) pixels.

        Rules are tried in file order and the first that matches wins; then the direct label map.
        """
        out: list[str | None] = [self.labels.get(label) for label in det.labels]
        decided = np.zeros(len(det), dtype=bool)
        for rule in self.rules:
            hits = rule.matches(det, frame_shape[0]) & ~decided
            for i in np.flatnonzero(hits):
                out[i] = rule.category
            decided |= hits
        return out

    def is_sign(self, label: str) -> bool:
        """Whether tracks of this model label are signs (see ``signs``)."""
        return label in self.signs


def _parse(data: Any, built_in: dict[str, CategoryPolicy]) -> Taxonomy:
    """Build a Taxonomy from parsed YAML over the ``built_in`` categories, raising TaxonomyError (without the
    file name) on any problem."""
    data = _check_keys(
        data if data is not None else {}, "top level", optional={"categories", "labels", "rules", "signs"}
    )
    categories = dict(built_in)
    for cid, raw in _mapping(data.get("categories", {}), "categories").items():
        policy = _parse_category(cid, raw)
        if cid in built_in and built_in[cid] != policy:
            raise TaxonomyError(f"category {cid!r} is built in (the shipped taxonomy) and cannot be redefined")
        categories[cid] = policy

    def known(value: Any, where: str) -> str:
        if _text(value, where) not in categories:
            raise TaxonomyError(f"{where} names unknown category {value!r}; known: {', '.join(sorted(categories))}")
        return str(value)

    labels = {
        _text(label, "labels"): known(cid, f"label {label!r}")
        for label, cid in _mapping(data.get("labels", {}), "labels").items()
    }
    rules_data = data.get("rules", [])
    if not isinstance(rules_data, list):
        raise TaxonomyError("'rules' must be a list")
    rules: list[Rule] = []
    for n, raw in enumerate(rules_data, 1):
        rule = _parse_rule(raw, f"rule #{n}")
        known(rule.category, f"rule {rule.name!r}")
        if rule.name in {r.name for r in rules}:
            raise TaxonomyError(f"rule name {rule.name!r} is used twice")
        rules.append(rule)
    taxonomy = Taxonomy(categories, labels, rules)
    if "signs" in data:
        taxonomy.signs = _label_set(data["signs"], "signs")
        unreported = sorted(taxonomy.signs - taxonomy.relevant_labels())
        if unreported:
            raise TaxonomyError(
                f"signs: {', '.join(map(repr, unreported))} is neither mapped under 'labels' nor a rule's label"
            )
    return taxonomy


def _parse_category(cid: Any, raw: Any) -> CategoryPolicy:
    """One entry of ``categories:``."""
    where = f"category {cid!r}"
    raw = _check_keys(raw, where, required={"zh", "en"}, optional={"radius_m", "dwell_s", "exempt_in"})
    radius = _number(raw["radius_m"], f"{where} radius_m") if "radius_m" in raw else None
    if radius == 0:
        raise TaxonomyError(f"{where} radius_m must be more than 0")
    exempt = frozenset(_text(v, f"{where} exempt_in") for v in _list(raw.get("exempt_in", []), f"{where} exempt_in"))
    if exempt - EXEMPTING_PLACES:
        unknown = ", ".join(sorted(exempt - EXEMPTING_PLACES))
        raise TaxonomyError(
            f"{where} exempt_in: unknown place kind {unknown} (known: {', '.join(sorted(EXEMPTING_PLACES))})"
        )
    return CategoryPolicy(
        id=_text(cid, where),
        zh=_text(raw["zh"], f"{where} zh"),
        en=_text(raw["en"], f"{where} en"),
        radius_m=radius,
        dwell_s=_number(raw["dwell_s"], f"{where} dwell_s") if "dwell_s" in raw else None,
        exempt_in=exempt,
    )


def _parse_rule(raw: Any, where: str) -> Rule:
    """One entry of ``rules:``."""
    raw = _check_keys(
        raw,
        where,
        required={"name", "category", "subject"},
        optional={"min_bottom", "aspect", "near", "cluster"},
    )
    where = f"rule {_text(raw['name'], where)!r}"
    aspect = None
    if "aspect" in raw:
        bounds = _check_keys(raw["aspect"], f"{where} aspect", required={"min", "max"})
        aspect = (_number(bounds["min"], f"{where} aspect.min"), _number(bounds["max"], f"{where} aspect.max"))
        if aspect[0] > aspect[1]:
            raise TaxonomyError(f"{where} aspect.min is larger than aspect.max")
    min_bottom = None
    if "min_bottom" in raw:
        min_bottom = _number(raw["min_bottom"], f"{where} min_bottom")
        if min_bottom > 1:
            raise TaxonomyError(f"{where} min_bottom is a fraction of the frame height, 0..1, got {min_bottom}")
    subject = _label_set(raw["subject"], f"{where} subject")
    cluster = _parse_context(raw["cluster"], f"{where} cluster") if "cluster" in raw else None
    if cluster is not None and not subject <= cluster.labels:
        raise TaxonomyError(f"{where}: every subject label must also be one of the cluster labels")
    return Rule(
        name=raw["name"],
        category=_text(raw["category"], f"{where} category"),
        subject=subject,
        min_bottom=min_bottom,
        aspect=aspect,
        near=_parse_context(raw["near"], f"{where} near") if "near" in raw else None,
        cluster=cluster,
    )


def _parse_context(raw: Any, where: str) -> Context:
    """A ``near:`` or ``cluster:`` block."""
    raw = _check_keys(raw, where, required={"labels", "min_count", "max_gap"})
    min_count = raw["min_count"]
    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
        raise TaxonomyError(f"{where} min_count must be a whole number >= 1, got {min_count!r}")
    return Context(_label_set(raw["labels"], f"{where} labels"), min_count, _number(raw["max_gap"], f"{where} max_gap"))


def _mapping(raw: Any, where: str) -> dict[Any, Any]:
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{where} must be a mapping, got {type(raw).__name__}")
    return raw


def _check_keys(
    raw: Any, where: str, required: AbstractSet[str] = frozenset(), optional: AbstractSet[str] = frozenset()
) -> dict[str, Any]:
    """``raw`` as a mapping that holds every required key and no key outside required | optional."""
    mapping = _mapping(raw, where)
    unknown = sorted(map(str, set(mapping) - required - optional))
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise TaxonomyError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {allowed}")
    missing = sorted(required - set(mapping))
    if missing:
        raise TaxonomyError(f"{where}: missing key(s) {', '.join(map(repr, missing))}")
    return mapping


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise TaxonomyError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _number(value: Any, where: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise TaxonomyError(f"{where} must be a number >= 0, got {value!r}")
    return float(value)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise TaxonomyError(f"{where} must be a list, got {type(value).__name__}")
    return value


def _label_set(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise TaxonomyError(f"{where} must be a non-empty list of model labels")
    return frozenset(_text(v, where) for v in value)
