"""Evaluation of trained weights on a recipe's held-out sets: real shop fronts, patrol-scale frames built
from them and frames of a forward-looking drive past them (per inference mode), COCO and synthetic images;
and the base classes that must not be lost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vision import Detector, Taxonomy, focus_policy
from vision.regions import FocusedDetector
from vision.training.dataset import DatasetWriter, street_composer
from vision.training.evaluate import LabeledSplit, Score, score
from vision.training.forward_drive import DriveSettings, drive_frames
from vision.training.recipe import Recipe
from vision.training.synth import patrol_frame


@dataclass
class Evaluation:
    """Scores of one model: real shop fronts, patrol-scale frames and forward-drive frames (per inference
    mode; no forward drive when the recipe has none), COCO, synthetic."""

    real: Score
    patrol: dict[str, Score]
    coco: Score
    synthetic: Score
    forward: dict[str, Score] = field(default_factory=dict)


def evaluation_split(recipe: Recipe, key: str, names: Sequence[str]) -> LabeledSplit:
    """The recipe's evaluation set ``key`` ("real" or "coco"), cut to ``evaluate.limit`` images if set."""
    spec = recipe.evaluate[key]
    return recipe.source(spec["source"]).open(names, spec["split"]).head(recipe.evaluate.get("limit"))


def patrol_set(real: LabeledSplit, settings: dict[str, Any], out: Path, names: Sequence[str]) -> LabeledSplit:
    """Write the patrol-scale benchmark: each real image shrunk by ``scale`` onto a grey canvas."""
    writer = DatasetWriter(out, names)
    rng = np.random.default_rng(settings["seed"])
    for image, boxes in real:
        frame, moved = patrol_frame(image, boxes, rng, tuple(settings["canvas"]), settings["scale"])
        writer.add(frame, moved, "patrol", "val")
    return writer.split("val")


def synthetic_set(recipe: Recipe, names: Sequence[str], out: Path) -> LabeledSplit:
    """Write held-out synthetic images: cut-outs of another split, backgrounds from the training sources."""
    spec = recipe.evaluate["synthetic"]
    street = next(s for s in recipe.sources if s.backgrounds)
    backgrounds = list(street.open(names).head(spec["images"], spec["seed"]))
    composer = street_composer(recipe, spec["cutouts_split"], names, backgrounds)
    writer = DatasetWriter(out, names)
    rng = np.random.default_rng(spec["seed"])
    for image, boxes in backgrounds:
        sample = composer.compose(image, boxes, rng)
        writer.add(sample.image, sample.boxes, "synthetic", "val")
    return writer.split("val")


def forward_set(real: LabeledSplit, settings: dict[str, Any], out: Path, names: Sequence[str]) -> LabeledSplit:
    """Write the forward-drive benchmark: ``frames`` frames evenly spread over a drive of ``seconds`` past the
    real images (``vision.training.forward_drive``), with the signs wholly in view and ``min_height`` pixels high."""
    drive = DriveSettings(seconds=settings["seconds"])
    writer = DatasetWriter(out, names)
    every = max(drive.frames // settings["frames"], 1)
    for image, boxes in drive_frames(real, drive, every, settings.get("min_height", 12.0)):
        writer.add(image, boxes, "forward", "val")
    return writer.split("val")


def mode_detector(weights: Path, conf: float, options: dict[str, Any]) -> Detector | FocusedDetector:
    """The detector of one inference mode: Detector arguments (``imgsz``, ``tile``), and ``focus``: a camera
    mount whose focus window is looked at again (``vision.regions``)."""
    options = dict(options)
    mount = options.pop("focus", None)
    detector = Detector(weights, conf=conf, **options)
    return FocusedDetector(detector, focus_policy(mount)) if mount else detector


def mode_scores(
    weights: Path,
    split: LabeledSplit,
    recipe: Recipe,
    modes: dict[str, dict[str, Any]],
    rename: dict[str, str] | None = None,
) -> dict[str, Score]:
    """Sign AP50 on ``split`` for each inference mode of ``modes`` (name -> ``mode_detector`` options)."""
    conf, groups = recipe.evaluate["conf"], sign_groups(recipe)
    return {
        mode: score(mode_detector(weights, conf, options), split, groups, rename) for mode, options in modes.items()
    }


def sign_groups(recipe: Recipe) -> dict[str, list[str]]:
    """The class-agnostic group scored on shop fronts: "sign" = every sign class."""
    return {"sign": list(recipe.evaluate["sign_group"])}


def evaluate_model(recipe: Recipe, weights: Path, names: Sequence[str], work: Path) -> Evaluation:
    """Score ``weights`` through the product's Detector on every evaluation set of the recipe."""
    real = evaluation_split(recipe, "real", names)
    detector = Detector(weights, conf=recipe.evaluate["conf"], imgsz=recipe.evaluate["imgsz"])
    patrol = patrol_set(real, recipe.evaluate["patrol"], work / "patrol-scale", names)
    forward = recipe.evaluate.get("forward")
    drive = forward_set(real, forward, work / "forward-drive", names) if forward else None
    return Evaluation(
        real=score(detector, real, sign_groups(recipe)),
        patrol=mode_scores(weights, patrol, recipe, recipe.evaluate["patrol"]["modes"]),
        coco=score(detector, evaluation_split(recipe, "coco", names)),
        synthetic=score(detector, synthetic_set(recipe, names, work / "synthetic")),
        forward=mode_scores(weights, drive, recipe, forward["modes"]) if forward and drive else {},
    )


def kept_classes(names: Sequence[str], recipe: Recipe, taxonomy: Taxonomy) -> list[str]:
    """Base classes the taxonomy uses: the ones fine-tuning must not lose."""
    used = taxonomy.relevant_labels()
    return [n for n in names if n in used and n not in recipe.classes]
