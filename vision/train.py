"""``streetscan train``: build a dataset from labeled sources, pseudo-labels and synthetic images, fine-tune
the base model with our classes appended to its own, evaluate, and write the weights and a model card.

The class list is the base model's classes in its order (80 COCO classes) followed by the recipe's new
classes, and the new model starts with every base weight, so it first detects exactly what the base
detects. Images from sources that do not label the base classes get them from the base model itself
(pseudo-labels), so no image teaches that a person or a car is background. The shipped weights keep the
base model's own layers beside the fine-tuned ones for the base classes (``vision.graft``).

Pieces: ``vision.recipe`` (recipes, class list), ``vision.dataset`` (the training set),
``vision.finetune`` (growing, calibrating and fine-tuning the model), ``vision.model_eval`` (scores on
the held-out sets) and ``vision.model_card``; this module holds the command and the run that ties them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from vision.dataset import Built, build_dataset
from vision.detector import Detector
from vision.evaluate import DatasetError, score
from vision.finetune import CALIBRATION_IMAGES, expand_model, finalize, fit
from vision.model_card import ap_text, model_card
from vision.model_eval import evaluate_model, evaluation_split, kept_classes
from vision.recipe import Recipe, RecipeError, class_names, default_data_root
from vision.taxonomy import Taxonomy, TaxonomyError

log = logging.getLogger(__name__)


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="build a dataset, fine-tune the detector, evaluate; writes weights + model card")
    p.add_argument("--recipe", type=Path, required=True, help="training recipe YAML, e.g. models/streetscan-v1.recipe.yaml")
    p.add_argument("--out", type=Path, required=True, help="output directory: <name>.pt, <name>.md, work/")
    p.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="folder holding the recipe's datasets and base weights (default: $STREETSCAN_SHARED, else ../shared)",
    )
    p.add_argument("--base", type=Path, default=None, help="base weights (default: the recipe's)")
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME=DATA_YAML",
        help="read the recipe's source NAME from this data.yaml",
    )
    p.add_argument(
        "--export",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="also train on a reviewers' export: images/, labels/ and a data.yaml naming our classes",
    )
    p.add_argument("--epochs", type=int, help="override the recipe's epochs")
    p.add_argument("--imgsz", type=int, help="override the recipe's training image size")
    p.add_argument("--batch", type=int, help="override the recipe's batch size")
    p.add_argument("--limit", type=int, help="at most this many images per source, generated set and evaluation set")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--taxonomy", type=Path, default=None, help="taxonomy naming the base classes to keep (default: shipped)")
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    """Build, fit, evaluate and write ``OUT/<name>.pt`` and ``OUT/<name>.md``."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        recipe = Recipe.load(args.recipe, (args.data_root or default_data_root()).resolve())
        for item in args.source:
            name, _, data = item.partition("=")
            recipe.source(name).data = Path(data).resolve()
        for folder in args.export:
            recipe.add_export(folder.resolve())
        if args.base:
            recipe.base = args.base.resolve()
        if args.limit:
            recipe.limit(args.limit)
        recipe.train.update(
            {k: v for k, v in (("epochs", args.epochs), ("imgsz", args.imgsz), ("batch", args.batch)) if v}
        )
        train(recipe, args.out.resolve(), args.device, args.taxonomy)
    except (RecipeError, DatasetError, TaxonomyError, OSError) as exc:
        print(f"streetscan train: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _calibration_images(folder: Path) -> list[np.ndarray]:
    """Up to CALIBRATION_IMAGES images of a folder, picked reproducibly."""
    paths = sorted(folder.glob("*.jpg"))
    picks = np.random.default_rng(0).choice(len(paths), min(CALIBRATION_IMAGES, len(paths)), replace=False)
    return [cv2.imread(str(paths[i])) for i in sorted(picks)]


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
