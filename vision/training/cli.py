"""``streetscan train``: the command line of a training run (``vision.training.train``), loaded only when run."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def add_train_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="build a dataset, fine-tune the detector, evaluate; writes weights + model card")
    p.add_argument(
        "--recipe", type=Path, required=True, help="training recipe YAML, e.g. models/streetscan-v1.recipe.yaml"
    )
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
    p.add_argument(
        "--taxonomy", type=Path, default=None, help="taxonomy naming the base classes to keep (default: shipped)"
    )
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    """Build, fit, evaluate and write ``OUT/<name>.pt`` and ``OUT/<name>.md``."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from vision import TaxonomyError
    from vision.training.evaluate import DatasetError
    from vision.training.recipe import Recipe, RecipeError, default_data_root
    from vision.training.train import train

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


def add_export_model_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export-model",
        help="build the int8 OpenVINO export beside a .pt model (scan, uploads and cameras then run it)",
    )
    p.add_argument("--model", type=Path, default=None, help="weights (default: $STREETSCAN_MODEL or the shipped model)")
    p.add_argument(
        "--recipe",
        type=Path,
        default=None,
        help="training recipe whose sources give the calibration images (default: NAME.recipe.yaml beside the weights)",
    )
    p.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="folder holding the recipe's datasets (default: $STREETSCAN_SHARED, else ../shared)",
    )
    p.add_argument("--images", type=int, default=300, help="calibration images (default 300)")
    p.set_defaults(func=run_export_model)


def run_export_model(args: argparse.Namespace) -> int:
    """Build the export; exit 2 with a one-line error for a missing model or unreadable recipe."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    from vision.defaults import default_model
    from vision.training.export_model import calibration_images, export_openvino
    from vision.training.recipe import Recipe, default_data_root

    weights = args.model or default_model()
    try:
        if not weights.is_file() or weights.suffix != ".pt":
            raise ValueError(f"{weights}: not a .pt weights file")
        recipe_path = args.recipe or weights.with_suffix(".recipe.yaml")
        recipe = Recipe.load(recipe_path, (args.data_root or default_data_root()).resolve())
        images = list(calibration_images(recipe, args.images))
        if not images:
            raise ValueError(f"no calibration images found through {recipe_path}")
    except (OSError, ValueError) as exc:
        print(f"streetscan export-model: error: {exc}", file=sys.stderr)
        return 2
    out = export_openvino(weights, images)
    print(f"{out}: int8 OpenVINO export of {weights.name}, calibrated on {len(images)} images", file=sys.stderr)
    return 0
