"""Sign rules: which sightings of register entries make cases for the review queue (schema and reasoning:
``models/sign_rules.md``). Loading validates strictly; ``case_for`` is a pure decision on ``SignFacts``."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from service.models.hotspots import HotspotKind
from service.models.signs import SignStatus
from vision import MODELS_DIR

DEFAULT_SIGN_RULES = MODELS_DIR / "sign_rules.yaml"
_LISTS = ("category", "kind", "status", "within")
_FLAGS = ("permit_expired", "new")


class SignRulesError(ValueError):
    """A sign rule file that cannot be used."""


@dataclass(frozen=True)
class SignFacts:
    """What the rules look at for one sighting of a register entry."""

    category: str
    kind: str
    status: SignStatus
    within: frozenset[HotspotKind]
    permit_expired: bool
    new: bool


@dataclass(frozen=True)
class SignRule:
    """One rule: each condition given (None: any) must hold; then the sighting is a case of ``case``."""

    name: str
    case: str
    category: frozenset[str] | None = None
    kind: frozenset[str] | None = None
    status: frozenset[SignStatus] | None = None
    within: frozenset[HotspotKind] | None = None
    permit_expired: bool | None = None
    new: bool | None = None

    def matches(self, facts: SignFacts) -> bool:
        return (
            (self.category is None or facts.category in self.category)
            and (self.kind is None or facts.kind in self.kind)
            and (self.status is None or facts.status in self.status)
            and (self.within is None or bool(self.within & facts.within))
            and (self.permit_expired is None or self.permit_expired == facts.permit_expired)
            and (self.new is None or self.new == facts.new)
        )


def case_for(rules: tuple[SignRule, ...], facts: SignFacts) -> str | None:
    """The case category of the first rule that matches, or None: the sighting makes no case."""
    return next((rule.case for rule in rules if rule.matches(facts)), None)


def parse_rules(data: Any, categories: AbstractSet[str]) -> tuple[SignRule, ...]:
    """Rules from parsed YAML (``{"rules": [...]}``); SignRulesError naming the rule on any problem."""
    if not isinstance(data, dict) or set(data) != {"rules"} or not isinstance(data["rules"], list):
        raise SignRulesError("the file must hold one key, rules: a list")
    return tuple(_parse_rule(raw, i, categories) for i, raw in enumerate(data["rules"]))


def _parse_rule(raw: Any, index: int, categories: AbstractSet[str]) -> SignRule:
    where = f"rule {index + 1}"
    if not isinstance(raw, dict):
        raise SignRulesError(f"{where}: not a mapping")
    if isinstance(raw.get("name"), str):
        where = f"rule {raw['name']!r}"
    unknown = set(raw) - {"name", "case", *_LISTS, *_FLAGS}
    if unknown:
        raise SignRulesError(f"{where}: unknown keys {sorted(unknown)}")
    if not isinstance(raw.get("name"), str) or raw.get("case") not in categories:
        raise SignRulesError(f"{where}: needs a name and a case that is one of {sorted(categories)}")
    lists: dict[str, Any] = {}
    for key in _LISTS:
        if key in raw:
            values = raw[key]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise SignRulesError(f"{where}: {key} must be a list of names")
            try:
                lists[key] = frozenset(_value(key, v, categories) for v in values)
            except ValueError as exc:
                raise SignRulesError(f"{where}: {key}: {exc}") from None
    flags: dict[str, Any] = {key: raw[key] for key in _FLAGS if key in raw}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise SignRulesError(f"{where}: {', '.join(_FLAGS)} must be true or false")
    return SignRule(name=raw["name"], case=raw["case"], **lists, **flags)


def _value(key: str, value: str, categories: AbstractSet[str]) -> Any:
    if key == "status":
        return SignStatus(value)
    if key == "within":
        return HotspotKind(value)
    if key == "category" and value not in categories:
        raise ValueError(f"unknown category {value!r}")
    return value


@lru_cache(maxsize=8)
def load_rules(path: Path | None, categories: frozenset[str]) -> tuple[SignRule, ...]:
    """The rules of the file at ``path`` (None: the shipped ``models/sign_rules.yaml``), read once."""
    path = path or DEFAULT_SIGN_RULES
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SignRulesError(f"{path}: cannot read sign rules: {exc}") from exc
    try:
        return parse_rules(data, categories)
    except SignRulesError as exc:
        raise SignRulesError(f"{path}: {exc}") from None
