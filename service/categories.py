"""The violation categories the service accepts and their policy (radius, dwell, exemptions, names): the
taxonomy's, read once per taxonomy file."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from vision import CategoryPolicy, Taxonomy


@lru_cache(maxsize=8)
def category_policies(taxonomy_path: Path | None = None) -> Mapping[str, CategoryPolicy]:
    """Category id -> policy of the taxonomy at ``taxonomy_path`` (None: the shipped one), in file order."""
    return MappingProxyType(Taxonomy.load(taxonomy_path).categories)


def known_categories(taxonomy_path: Path | None = None) -> frozenset[str]:
    """Category ids of the taxonomy at ``taxonomy_path`` (None: the shipped one)."""
    return frozenset(category_policies(taxonomy_path))


@lru_cache(maxsize=8)
def sign_labels(taxonomy_path: Path | None = None) -> frozenset[str]:
    """Detector labels the taxonomy at ``taxonomy_path`` (None: the shipped one) lists as signs: their
    observations go to the sign register."""
    return Taxonomy.load(taxonomy_path).signs
