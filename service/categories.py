"""The violation categories the service accepts: the taxonomy's (the four core ones plus any it adds)."""

from __future__ import annotations

from pathlib import Path


def known_categories(taxonomy_path: Path | None = None) -> frozenset[str]:
    """Category ids of the taxonomy at ``taxonomy_path`` (None: the shipped one)."""
    from vision import Taxonomy

    return frozenset(Taxonomy.load(taxonomy_path).categories)
