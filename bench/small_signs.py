"""Small, far signs: class-agnostic sign AP50 at patrol scale, for a weights file against a baseline.

Builds the patrol-scale set in a temporary folder (each real validation shop front shrunk to a third of
its size on a 1920x1080 canvas, as the recipe's ``evaluate.patrol`` says) and, when the recipe has an
``evaluate.forward`` (v2), frames of a forward-looking drive past them; then runs both models through
the product's ``Detector`` in every inference mode of the recipe and prints AP50, the ratio to the
baseline, and the weights' AP50 of small, medium and large sign boxes. The same images at full size are
scored too, for reference.

    python bench/small_signs.py --weights models/streetscan-v1.pt [--baseline OTHER.pt] [--recipe R] [--limit N]

The baseline defaults to the recipe's base model (no sign classes: AP50 0). A baseline trained on the
shop-front dataset's own class names (signboard, cantilever, win_ad) is scored through the recipe's
class mapping.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("YOLO_OFFLINE", "1")

from vision.training.evaluate import SIZES, score  # noqa: E402
from vision.training.model_eval import evaluation_split, forward_set, mode_detector, patrol_set, sign_groups  # noqa: E402
from vision.training.recipe import Recipe, default_data_root  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, required=True, help="weights to measure")
    p.add_argument("--baseline", type=Path, default=None, help="weights to compare with (default: the recipe's base)")
    p.add_argument("--recipe", type=Path, default=REPO / "models" / "streetscan-v1.recipe.yaml")
    p.add_argument("--data-root", type=Path, default=None, help="default: $STREETSCAN_SHARED, else ../shared")
    p.add_argument("--limit", type=int, default=None, help="score only this many validation images")
    args = p.parse_args(argv)

    recipe = Recipe.load(args.recipe, (args.data_root or default_data_root()).resolve())
    if args.limit:
        recipe.limit(args.limit)
    baseline = args.baseline or recipe.base
    names = recipe.classes
    rename = recipe.source(recipe.evaluate["real"]["source"]).rename
    real = evaluation_split(recipe, "real", names)
    conf, groups = recipe.evaluate["conf"], sign_groups(recipe)
    modes = {f"full size, {recipe.evaluate['imgsz']}": ("real", {"imgsz": recipe.evaluate["imgsz"]})}
    modes |= {f"patrol scale, {m}": ("patrol", o) for m, o in recipe.evaluate["patrol"]["modes"].items()}

    forward = recipe.evaluate.get("forward")
    modes |= {f"forward drive, {m}": ("forward", o) for m, o in (forward["modes"] if forward else {}).items()}

    with tempfile.TemporaryDirectory() as tmp:
        sets = {"real": real, "patrol": patrol_set(real, recipe.evaluate["patrol"], Path(tmp) / "patrol", names)}
        if forward:
            sets["forward"] = forward_set(real, forward, Path(tmp) / "forward", names)
        patrol = recipe.evaluate["patrol"]
        print(f"{len(real)} validation shop fronts; patrol scale: x{patrol['scale']:.3g} on {patrol['canvas']}")
        if forward:
            print(f"forward drive: {len(sets['forward'])} frames of {forward['seconds']:g} s past them")
        sizes = "".join(f"{size:>8s}" for size in SIZES)
        header = f"{'set, inference':50s} {'weights':>8s} {'baseline':>9s} {'ratio':>6s} {'s/frame':>8s}"
        print(f"\n{header}  weights by size:{sizes}")
        for mode, (key, options) in modes.items():
            row = []
            for path in (args.weights, baseline):
                detector = mode_detector(path, conf, options)
                t0 = time.perf_counter()
                result = score(detector, sets[key], groups, rename)
                row.append((result, (time.perf_counter() - t0) / len(sets[key])))
            (ours, seconds), (base, _) = row
            ap, base_ap = ours.groups["sign"], base.groups["sign"]
            ratio = f"{ap / base_ap:6.2f}" if base_ap > 0 else "     -"
            by_size = "".join(f"{ours.sizes['sign'][size]:8.3f}" for size in SIZES)
            print(f"{mode:50s} {ap:8.3f} {base_ap:9.3f} {ratio} {seconds:8.2f}  {'':16s}{by_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
