"""Training recipes: where the data lies, which sources are trained on and how their classes map to ours,
and the trained model's class list (the base model's classes, then ours)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vision.training.evaluate import DatasetError, LabeledSplit


def default_data_root() -> Path:
    """Where recipe paths point into: ``STREETSCAN_SHARED``, else ``shared/`` beside the checkout."""
    return Path(os.environ.get("STREETSCAN_SHARED", Path(__file__).resolve().parents[3] / "shared"))


class RecipeError(ValueError):
    """A recipe that cannot be used; the message names the file and the entry."""


@dataclass
class Source:
    """A labeled YOLO dataset split to train on.

    rename: its class name -> our label; same_names: its classes named like ours keep their name;
    pseudo_label: add the base model's own detections of its classes; backgrounds: its images are street
    scenes, used as backgrounds of synthetic and patrol-scale images; limit: at most this many images.
    """

    name: str
    data: Path
    split: str = "train"
    rename: dict[str, str] = field(default_factory=dict)
    same_names: bool = False
    pseudo_label: bool = False
    backgrounds: bool = False
    limit: int | None = None

    def open(self, names: Sequence[str], split: str | None = None) -> LabeledSplit:
        try:
            return LabeledSplit.open(
                self.data, split or self.split, self.rename, names if self.same_names else (), self.name
            )
        except (DatasetError, KeyError) as exc:
            raise RecipeError(f"source {self.name!r}: {exc}") from exc


@dataclass
class Recipe:
    """How a model is trained and evaluated; read from YAML (see ``models/streetscan-v1.recipe.yaml``).

    ``licences``: what each input (base weights, each source) may be used under, for the model card."""

    name: str
    base: Path
    classes: list[str]
    sources: list[Source]
    pseudo_label: dict[str, float]
    synthetic: dict[str, Any]
    patrol: dict[str, Any]
    holdout_every: int
    train: dict[str, Any]
    evaluate: dict[str, Any]
    path: Path
    licences: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, data_root: Path) -> Recipe:
        """Read a recipe; relative dataset and weights paths are taken under ``data_root``."""
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            sources = [Source(**{**s, "data": data_root / s["data"]}) for s in raw.pop("sources")]
            raw["synthetic"]["cutouts"] = data_root / raw["synthetic"]["cutouts"]
            recipe = cls(**{**raw, "base": data_root / raw["base"], "sources": sources, "path": Path(path)})
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
            raise RecipeError(f"{path}: not a usable recipe: {exc!r}") from exc
        for key in ("real", "coco"):
            recipe.source(recipe.evaluate[key]["source"])
        freeze = recipe.train.get("freeze")
        if not isinstance(freeze, int) or isinstance(freeze, bool) or freeze < 1:
            raise RecipeError(f"{path}: train.freeze must be the number of frozen first layers the base shares")
        return recipe

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise RecipeError(f"{self.path}: no source named {name!r}")

    def add_export(self, folder: Path) -> None:
        """Train also on a reviewers' export: ``folder/data.yaml`` naming our classes, images/, labels/."""
        self.sources.append(Source(f"export:{folder.name}", folder / "data.yaml", same_names=True, pseudo_label=True))

    def limit(self, n: int) -> None:
        """Shrink every source, generated set and evaluation set to about ``n`` images (smoke runs)."""
        for s in self.sources:
            s.limit = min(s.limit or n, n)
        for section in (self.synthetic, self.patrol):
            section["images"] = min(section["images"], n)
        self.evaluate["limit"] = n
        self.evaluate["synthetic"]["images"] = min(self.evaluate["synthetic"]["images"], n)
        forward = self.evaluate.get("forward")
        if forward:  # n frames of a drive short enough for n images
            forward["seconds"] = min(forward["seconds"], 2.0 * n)
            forward["frames"] = min(forward["frames"], n)


def class_names(base_names: dict[int, str], new: Sequence[str]) -> list[str]:
    """The trained model's classes: the base model's, in its order, then ``new``."""
    names = [base_names[i] for i in range(len(base_names))]
    clash = set(names) & set(new)
    if clash:
        raise RecipeError(f"new classes already in the base model: {sorted(clash)}")
    return names + list(new)
