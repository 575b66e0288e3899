"""The model card (Markdown) written beside trained weights: classes, training data, recipe, scores, limits."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from vision import Taxonomy
from vision.training.dataset import Built, patrol_look
from vision.training.evaluate import SIZES, Score
from vision.training.finetune import CALIBRATION_IMAGES
from vision.training.model_eval import Evaluation, kept_classes
from vision.training.recipe import Recipe, Source
from vision.training.synth import SYNTH_CLASSES

WEAK_AP50 = 0.5  # classes scoring below this on real images are named under Limits


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _best_mode(recipe: Recipe, ours: Evaluation) -> str:
    """The patrol inference mode with the highest sign AP50, with its Detector options."""
    mode = max(ours.patrol, key=lambda m: np.nan_to_num(ours.patrol[m].groups["sign"], nan=-1.0))
    options = ", ".join(f"{k}={v}" for k, v in recipe.evaluate["patrol"]["modes"][mode].items())
    return f"{mode}: `{options}`"


def _look_text(recipe: Recipe) -> str:
    """The recipe's dashcam-like degradations of patrol-scale images, in words ("" when none)."""
    look = patrol_look(recipe.patrol)
    parts = [f"seen obliquely (far edge up to {look.oblique:.0%} shorter)"] if look.oblique else []
    parts += [f"unlabeled traffic signs beside them in {look.negatives:.0%} (hard negatives)"] if look.negatives else []
    parts += [f"motion blur of {look.blur[0]:g}-{look.blur[1]:g} px"] if look.blur[1] else []
    parts += [f"sensor noise of {look.noise:g} grey levels"] if look.noise else []
    parts += [f"JPEG quality {look.jpeg[0]}-{look.jpeg[1]}"] if look.jpeg[1] else []
    return " Like a dashcam's frames: " + ", ".join(parts) + "." if parts else ""


def _mapping(source: Source) -> str:
    """How a source's classes become ours, in words."""
    parts = [f"{a} -> `{b}`" for a, b in source.rename.items()]
    parts += ["those named like ours keep their name"] if source.same_names else []
    return ", ".join(parts)


def ap_text(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"


def size_table(ours: Evaluation) -> list[str]:
    """Markdown lines: class-agnostic sign AP50 by box size (COCO's small, medium, large) on each sign set."""
    rows = [("real shop fronts", ours.real)]
    rows += [(f"patrol scale, {mode}", s) for mode, s in ours.patrol.items()]
    rows += [(f"forward drive, {mode}", s) for mode, s in ours.forward.items()]
    bounds = {"small": "< 32²", "medium": "32²-96²", "large": ">= 96²"}
    lines = [
        "Sign AP50 by box size (COCO areas in square pixels of the image scored; sign boxes of each size in brackets):",
        "",
        "| set, inference | " + " | ".join(f"{size} ({bounds[size]})" for size in SIZES) + " |",
        "| --- |" + " --- |" * len(SIZES),
    ]
    for name, s in rows:
        cells = [f"{ap_text(s.sizes['sign'][size])} ({s.size_counts['sign'][size]})" for size in SIZES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def model_card(
    recipe: Recipe,
    names: Sequence[str],
    built: Built,
    weights: Path,
    ours: Evaluation,
    base_coco: Score,
    taxonomy: Taxonomy,
    train_s: float,
    device: str = "cpu",
) -> str:
    """The model card (Markdown) of trained weights: classes, data, recipe, scores and limits.

    Base classes scored on COCO are those ``taxonomy`` uses (see ``kept_classes``).
    """
    new = recipe.classes
    kept = kept_classes(names, recipe, taxonomy)
    real_rename = recipe.source(recipe.evaluate["real"]["source"]).rename
    origins = sorted({o for o, _ in built.images})
    lines = [
        f"# {weights.name}",
        "",
        f"YOLO detector for street vendors, goods outside shops and outdoor ads; {len(names)} classes: the "
        f"{len(names) - len(new)} classes of the base model `{recipe.base.name}` in their order (ids 0-"
        f"{len(names) - len(new) - 1}), then our {len(new)} (ids {len(names) - len(new)}-{len(names) - 1}).",
        "",
        f"- sha256: `{_sha256(weights)}`",
        f"- trained: {datetime.now(UTC):%Y-%m-%d} with `streetscan train --recipe {recipe.path.name}`, "
        f"{train_s / 60:.0f} min of training on `{device}`" + (" (CPU)" if device == "cpu" else ""),
        f"- base: `{recipe.base.name}` (sha256 `{_sha256(recipe.base)[:16]}…`), all its weights carried over; "
        f"`freeze={recipe.train.get('freeze')}` (backbone frozen)",
        "",
        "| id | class | violation category (taxonomy) |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {names.index(c)} | `{c}` | {taxonomy.labels.get(c, '-')} |" for c in new]
    lines += [
        "",
        "## Training data",
        "",
        "| origin | train images | held-out images |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {o} | {built.images.get((o, 'train'), 0)} | {built.images.get((o, 'val'), 0)} |" for o in origins]
    lines += [
        "",
        "Boxes per class of ours, by origin: "
        + "; ".join(
            f"`{c}` " + ", ".join(f"{o} {built.boxes[o, c]}" for o in origins if built.boxes.get((o, c))) for c in new
        )
        + ".",
        "",
        f"- Base classes on images whose source does not label them come from the base model itself "
        f"(confidence >= {recipe.pseudo_label['conf']}, dropped where they overlap a given box by IoU >= "
        f"{recipe.pseudo_label['iou']}).",
        "- Source classes: "
        + "; ".join(f"{s.name}: {_mapping(s)}" for s in recipe.sources)
        + ". Other source classes are not trained.",
        f"- **Synthetic bootstrap.** Every `{'`, `'.join(SYNTH_CLASSES)}` box comes from composed images "
        "(object cut-outs on procedural carts, cloths, crates, racks and sign boxes, pasted on real street "
        "backgrounds; see `vision/training/synth.py`), not from photos of real stalls, goods or lightboxes. Expect "
        "misses and false alarms on real video until reviewers' confirmed cases are exported and trained on.",
        f"- Patrol-scale images: training street photos shrunk to {recipe.patrol['scale'][0]}-"
        f"{recipe.patrol['scale'][1]} of their size in {recipe.patrol['size']}-px windows, as a tile of a "
        "1080p patrol frame shows them." + _look_text(recipe),
        "",
        "## Training",
        "",
        "Ultralytics arguments: " + ", ".join(f"`{k}={v}`" for k, v in recipe.train.items()) + ".",
        "",
        f"- Before fine-tuning, the BatchNorm layers get the statistics of {CALIBRATION_IMAGES} training images "
        "(the base weights carry identity statistics folded from an export); what the model computes does not change.",
        f"- The shipped weights score the base classes with the base model's own layers, which run beside the "
        f"fine-tuned ones after the {recipe.train['freeze']} frozen layers both share "
        "(`vision/training/graft.py`, joined by `vision/layers.py`): the base classes are detected exactly as by "
        "the base, the new classes by the fine-tuned layers. The price is those layers run twice: about 1.6 times "
        "the time of the base model per image (`bench/detector.py`).",
        "",
        "## Evaluation",
        "",
        f"AP50 through the product's `Detector` (conf >= {recipe.evaluate['conf']}), COCO-style 101-point "
        f"interpolation. Real shop fronts: `{recipe.evaluate['real']['source']}` "
        f"{recipe.evaluate['real']['split']} ({ours.real.images} images, never trained on; its "
        + ", ".join(f"{a} counted as `{b}`" for a, b in real_rename.items())
        + ").",
        "",
        "| class | boxes | AP50 |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{c}` | {ours.real.truth_counts[c]} | {ap_text(v)} |" for c, v in sorted(ours.real.per_class.items())]
    lines += [
        f"| any sign (`{'` + `'.join(recipe.evaluate['sign_group'])}`), class-agnostic | | "
        f"**{ap_text(ours.real.groups['sign'])}** |",
        "",
        f"Patrol scale: the same images at {recipe.evaluate['patrol']['scale']:.3g} of their size on a "
        f"{recipe.evaluate['patrol']['canvas'][0]}x{recipe.evaluate['patrol']['canvas'][1]} grey canvas; "
        "class-agnostic sign AP50 by inference mode:",
        "",
        "| inference | sign AP50 |",
        "| --- | --- |",
    ]
    lines += [f"| {mode} | **{ap_text(s.groups['sign'])}** |" for mode, s in ours.patrol.items()]
    if ours.forward:
        forward = recipe.evaluate["forward"]
        lines += [
            "",
            f"Forward drive: {next(iter(ours.forward.values())).images} frames of a {forward['seconds']:g} s drive "
            "past the same images rendered as a forward-looking 1920x1080 dashcam sees them "
            "(`vision/training/forward_drive.py`: facades in perspective, signs shrinking toward the vanishing "
            f"point; signs at least {forward.get('min_height', 12.0):g} px high); class-agnostic sign AP50 by "
            "inference mode:",
            "",
            "| inference | sign AP50 |",
            "| --- | --- |",
        ]
        lines += [f"| {mode} | **{ap_text(s.groups['sign'])}** |" for mode, s in ours.forward.items()]
    lines += ["", *size_table(ours)]
    lines += [
        "",
        f"Base classes the taxonomy uses, on `{recipe.evaluate['coco']['source']}` "
        f"{recipe.evaluate['coco']['split']} ({ours.coco.images} images), AP50 of this model vs. the base:",
        "",
        "| class | boxes | base | this model |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{c}` | {ours.coco.truth_counts[c]} | {ap_text(base_coco.per_class[c])} | "
        f"{ap_text(ours.coco.per_class[c])} |"
        for c in kept
        if c in ours.coco.per_class
    ]
    lines += [
        f"| mean | | {ap_text(base_coco.mean(kept))} | **{ap_text(ours.coco.mean(kept))}** |",
        "",
        f"Synthetic (reported apart: composed images, cut-outs of the `{recipe.evaluate['synthetic']['cutouts_split']}`"
        f" split, {ours.synthetic.images} images; says the generator's classes are learned, not how they "
        "fare on real streets):",
        "",
        "| class | boxes | AP50 |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| `{c}` | {ours.synthetic.truth_counts.get(c, 0)} | "
        f"{ap_text(ours.synthetic.per_class.get(c, float('nan')))} |"
        for c in SYNTH_CLASSES
    ]
    lines += [
        "",
        "## Licences",
        "",
    ]
    lines += [f"- {name}: {text}" for name, text in recipe.licences.items()]
    lines += [
        "- Synthetic and patrol-scale images are derived from the sources above and share their terms.",
        "",
        "## Reproduce",
        "",
        "With the base weights and datasets under a data root laid out as the recipe's paths say:",
        "",
        f"    streetscan train --recipe models/{recipe.path.name} --data-root DATA_ROOT --out OUT --device {device}",
        "",
        "then copy `OUT/<name>.pt` and `OUT/<name>.md` to `models/`. Seeds are fixed in the recipe; CPU "
        "training is deterministic up to floating-point summation order.",
        "",
        "## Limits",
        "",
        "- Stalls, goods displays and lightboxes are learned from synthetic images only (see above).",
        "- To train further, start again from the base model with this recipe (and reviewers' exports); the "
        "grafted weights themselves cannot be fine-tuned.",
        f"- Far, small signs in 1080p frames: `streetscan scan` looks again at the band where signs stand at "
        "full resolution (`--focus`, the default; `vision/regions.py`); of the patrol-scale modes above "
        f"{_best_mode(recipe, ours)} scores best (`Detector` takes `imgsz` and `tile`).",
        "- Shop-front photos come from one public dataset; other cities' signage may score lower.",
    ]
    weak = [c for c, v in sorted(ours.real.per_class.items()) if v < WEAK_AP50]
    lines += (
        [
            f"- Weak on real shop fronts (AP50 below {WEAK_AP50}): "
            + ", ".join(
                f"`{c}` {ap_text(ours.real.per_class[c])} ({ours.real.truth_counts[c]} validation boxes)" for c in weak
            )
            + "; boxes of these classes still count for the class-agnostic sign score."
        ]
        if weak
        else []
    )
    return "\n".join([*lines, ""])
