"""The ``streetscan train`` run: build a dataset from labeled sources, pseudo-labels and synthetic images, fine-tune
the base model with our classes appended to its own, evaluate, and write the weights and a model card.

The class list is the base model's classes in its order (80 COCO classes) followed by the recipe's new
classes, and the new model starts with every base weight, so it first detects exactly what the base
detects. Images from sources that do not label the base classes get them from the base model itself
(pseudo-labels), so no image teaches that a person or a car is background. The shipped weights keep the
base model's own layers beside the fine-tuned ones for the base classes (``graft``).

Pieces: ``recipe`` (recipes, class list), ``dataset`` (the training set), ``finetune`` (growing,
calibrating and fine-tuning the model), ``graft`` (the shipped model's two branches), ``model_eval``
(scores on the held-out sets) and ``model_card``; this module holds the run that ties them, ``cli`` the
command.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np

from vision import Detector, Taxonomy
from vision.training.dataset import Built, build_dataset
from vision.training.evaluate import read_image, score
from vision.training.finetune import CALIBRATION_IMAGES, expand_model, finalize, fit
from vision.training.model_card import ap_text, model_card
from vision.training.model_eval import evaluate_model, evaluation_split, kept_classes
from vision.training.recipe import Recipe, class_names

log = logging.getLogger(__name__)


def _calibration_images(folder: Path) -> list[np.ndarray]:
    """Up to CALIBRATION_IMAGES images of a folder, picked reproducibly."""
    paths = sorted(folder.glob("*.jpg"))
    picks = np.random.default_rng(0).choice(len(paths), min(CALIBRATION_IMAGES, len(paths)), replace=False)
    return [read_image(paths[i]) for i in sorted(picks)]


def train(recipe: Recipe, out: Path, device: str = "cpu", taxonomy: Path | None = None) -> Path:
    """The whole run; returns the written weights (``out/<recipe.name>.pt``, card beside it)."""
    base = Detector(recipe.base, conf=recipe.pseudo_label["conf"], device=device)
    names = class_names(base.names, recipe.classes)
    rules = Taxonomy.load(taxonomy)
    work = out / "work"
    t0 = time.monotonic()
    built = build_dataset(recipe, names, base, work / "dataset")
    log.info("dataset built in %.0f s: %s", time.monotonic() - t0, built.images)
    calibration = _calibration_images(built.data_yaml.parent / "images" / "train")
    init = expand_model(recipe.base, names, work / "init.pt", calibration, recipe.train["imgsz"])
    t1 = time.monotonic()
    trained = fit(init, built.data_yaml, recipe.train, work, device)
    return publish(recipe, names, built, trained, out, time.monotonic() - t1, rules, device)


def publish(
    recipe: Recipe,
    names: list[str],
    built: Built,
    trained: Path,
    out: Path,
    train_s: float,
    rules: Taxonomy,
    device: str = "cpu",
) -> Path:
    """Graft the ``trained`` weights, evaluate them and write ``out/<recipe.name>.pt`` and its card."""
    weights = finalize(trained, recipe.base, recipe.train["freeze"], out / f"{recipe.name}.pt")
    ours = evaluate_model(recipe, weights, names, out / "work")
    reference = Detector(recipe.base, conf=recipe.evaluate["conf"], imgsz=recipe.evaluate["imgsz"])
    base_coco = score(reference, evaluation_split(recipe, "coco", names))
    card = model_card(recipe, names, built, weights, ours, base_coco, rules, train_s, device)
    (out / f"{recipe.name}.md").write_text(card, encoding="utf-8")
    kept = kept_classes(names, recipe, rules)
    print(
        f"{weights}: sign AP50 real {ap_text(ours.real.groups['sign'])}, patrol "
        + ", ".join(f"{m} {ap_text(s.groups['sign'])}" for m, s in ours.patrol.items())
        + "".join(f"; forward drive, {m} {ap_text(s.groups['sign'])}" for m, s in ours.forward.items())
        + f"; kept COCO classes mAP50 {ap_text(ours.coco.mean(kept))} (base {ap_text(base_coco.mean(kept))})",
        file=sys.stderr,
    )
    return weights
