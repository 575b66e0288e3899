"""Model labels -> violation categories: a direct label map plus composite rules, loaded from YAML.

The schema and every shipped rule are documented in ``models/taxonomy.md``.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from vision.defaults import DEFAULT_TAXONOMY
from vision.detector import Detections


@dataclass(frozen=True)
class Category:
    """A kind of violation the service reports."""

    id: str
    zh: str
    en: str


CORE_CATEGORIES: dict[str, Category] = {
    c.id: c
    for c in (
        Category("street_vendor", "流动摊贩/占道经营", "street vendor / business on the road"),
        Category("goods_spill", "店外经营", "goods displayed outside the shop"),
        Category("lightbox_ad", "占道灯箱广告", "lightbox ad standing on the road"),
        Category("outdoor_ad", "户外广告", "outdoor advertisement"),
    )
}


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
    return vertical & (gap <= max_gap * (x2 - x1)[:, None])


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
                stack.append(j)
    return group


@dataclass
class Taxonomy:
    """Which model labels are reported as which category.

    ``categories`` always holds the four core categories plus any the file adds.
    """

    categories: dict[str, Category] = field(default_factory=lambda: dict(CORE_CATEGORIES))
    labels: dict[str, str] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    signs: frozenset[str] = frozenset()
    """Model labels that are signs (shop signs, projecting signs, window ads, lightboxes): their tracks
    get the text read on them and an appearance signature, and the service keeps them in the sign register."""

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """Read and strictly validate a taxonomy YAML; None -> the shipped ``models/taxonomy.yaml``."""
        path = Path(path) if path is not None else DEFAULT_TAXONOMY
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TaxonomyError(f"{path}: cannot read taxonomy: {exc}") from exc
        except yaml.YAMLError as exc:
            raise TaxonomyError(f"{path}: not valid YAML: {exc}") from exc
        try:
            return _parse(data)
        except TaxonomyError as exc:
            raise TaxonomyError(f"{path}: {exc}") from None

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


def _parse(data: Any) -> Taxonomy:
    """Build a Taxonomy from parsed YAML, raising TaxonomyError (without the file name) on any problem."""
    data = _check_keys(data if data is not None else {}, "top level", optional={"categories", "labels", "rules", "signs"})
    categories = dict(CORE_CATEGORIES)
    for cid, names in _mapping(data.get("categories", {}), "categories").items():
        where = f"category {cid!r}"
        _check_keys(names, where, required={"zh", "en"})
        if cid in CORE_CATEGORIES:
            raise TaxonomyError(f"{where} is built in and cannot be redefined")
        categories[cid] = Category(_text(cid, where), _text(names["zh"], where), _text(names["en"], where))

    def known(value: Any, where: str) -> str:
        if _text(value, where) not in categories:
            raise TaxonomyError(f"{where} names unknown category {value!r}; known: {', '.join(sorted(categories))}")
        return value

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
            raise TaxonomyError(f"signs: {', '.join(map(repr, unreported))} is neither mapped under 'labels' nor a rule's label")
    return taxonomy


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
    raw = _mapping(raw, where)
    unknown = sorted(map(str, set(raw) - required - optional))
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise TaxonomyError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {allowed}")
    missing = sorted(required - set(raw))
    if missing:
        raise TaxonomyError(f"{where}: missing key(s) {', '.join(map(repr, missing))}")
    return raw


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise TaxonomyError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _number(value: Any, where: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise TaxonomyError(f"{where} must be a number >= 0, got {value!r}")
    return float(value)


def _label_set(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise TaxonomyError(f"{where} must be a non-empty list of model labels")
    return frozenset(_text(v, where) for v in value)
