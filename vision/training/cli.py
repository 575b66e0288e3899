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
