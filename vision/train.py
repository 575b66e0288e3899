"""``streetscan train``: build a dataset from labeled sources, pseudo-labels and synthetic images, fine-tune
the base model with our classes appended to its own, evaluate, and write the weights and a model card.

The class list is the base model's classes in its order (80 COCO classes) followed by the recipe's new
classes, and the new model starts with every base weight, so it first detects exactly what the base
detects. Images from sources that do not label the base classes get them from the base model itself
(pseudo-labels), so no image teaches that a person or a car is background.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from vision.detector import Detector
from vision.evaluate import Boxes, DatasetError, LabeledSplit, Score, iou_matrix, score
from vision.synth import SYNTH_CLASSES, Composer, load_cutouts, patrol_frame, patrol_tile, sign_faces
from vision.taxonomy import Taxonomy

log = logging.getLogger(__name__)

CALIBRATION_IMAGES = 64  # training images whose statistics the BatchNorm layers get before fine-tuning


def default_data_root() -> Path:
    """Where recipe paths point into: ``STREETSCAN_SHARED``, else ``shared/`` beside the checkout."""
    return Path(os.environ.get("STREETSCAN_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))


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
    """How a model is trained and evaluated; read from YAML (see ``models/streetscan-v1.recipe.yaml``)."""

    name: str
    base: Path
    classes: list[str]
    sources: list[Source]
    pseudo_label: dict[str, float]
    distill_base: float
    synthetic: dict[str, Any]
    patrol: dict[str, Any]
    holdout_every: int
    train: dict[str, Any]
    evaluate: dict[str, Any]
    path: Path | None = None

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
        return recipe

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise RecipeError(f"{self.path}: no source named {name!r}")

    def add_export(self, folder: Path) -> None:
        """Train also on a reviewers' export: ``folder/data.yaml`` naming our classes, images/, labels/."""
        self.sources.append(
            Source(f"export:{folder.name}", folder / "data.yaml", same_names=True, pseudo_label=True)
        )

    def limit(self, n: int) -> None:
        """Shrink every source, generated set and evaluation set to about ``n`` images (smoke runs)."""
        for s in self.sources:
            s.limit = min(s.limit or n, n)
        for section in (self.synthetic, self.patrol):
            section["images"] = min(section["images"], n)
        self.evaluate["limit"] = n
        self.evaluate["synthetic"]["images"] = min(self.evaluate["synthetic"]["images"], n)


def class_names(base_names: dict[int, str], new: Sequence[str]) -> list[str]:
    """The trained model's classes: the base model's, in its order, then ``new``."""
    names = [base_names[i] for i in range(len(base_names))]
    clash = set(names) & set(new)
    if clash:
        raise RecipeError(f"new classes already in the base model: {sorted(clash)}")
    return names + list(new)


def expand_model(
    base: Path, names: Sequence[str], out: Path, calibration: Sequence[np.ndarray] = (), imgsz: int = 640
) -> Path:
    """Save the base model with its class list grown to ``names`` (base classes first) as ``out``.

    Every base weight is kept. Where the detection head widens (its class branch is max(channels, nc)
    wide), the base block keeps its place, the new input columns of base outputs are zero and the new
    class outputs start at zero weight with the prior bias: the grown model scores every base class
    exactly as the base does and the new classes near zero. With ``calibration`` images (BGR) its
    BatchNorm layers get their statistics (see ``calibrate_batchnorm``).
    """
    import torch
    from ultralytics.nn.tasks import DetectionModel

    ckpt = torch.load(base, map_location="cpu", weights_only=False)
    old = (ckpt["ema"] if ckpt.get("ema") is not None else ckpt["model"]).float()
    cfg = copy.deepcopy(old.yaml)
    cfg["nc"] = len(names)
    new = DetectionModel(cfg, nc=len(names), verbose=False)
    state, old_state = new.state_dict(), old.state_dict()
    with torch.no_grad():
        for key, value in state.items():
            src = old_state[key]
            if src.shape == value.shape:
                value.copy_(src)
                continue
            value[tuple(slice(0, n) for n in src.shape)] = src
            if value.ndim >= 2 and value.shape[1] > src.shape[1]:
                value[: src.shape[0], src.shape[1] :] = 0
        new.load_state_dict(state)
        head, n_old = new.model[-1], old.model[-1].nc
        for branches in (head.cv3, getattr(head, "one2one_cv3", None)):
            for branch in branches or ():
                branch[-1].weight[n_old:] = 0
    if len(calibration):
        calibrate_batchnorm(new, calibration, imgsz)
    new.names = dict(enumerate(names))
    new.args = _portable(getattr(old, "args", {}) or {})
    meta = {k: ckpt[k] for k in ("date", "version", "license", "docs") if k in ckpt}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**meta, "model": new, "ema": None, "train_args": {}}, out)
    return out


def letterboxed(images: Sequence[np.ndarray], imgsz: int) -> Any:
    """(N, 3, imgsz, imgsz) float RGB tensor in 0..1 of BGR images scaled to fit and padded grey, as trained."""
    import torch

    batch = np.full((len(images), imgsz, imgsz, 3), 114, np.uint8)
    for k, image in enumerate(images):
        scale = imgsz / max(image.shape[:2])
        h, w = (min(round(n * scale), imgsz) for n in image.shape[:2])
        top, left = (imgsz - h) // 2, (imgsz - w) // 2
        batch[k, top : top + h, left : left + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(batch[..., ::-1].transpose(0, 3, 1, 2).copy()).float() / 255.0


def calibrate_batchnorm(model: Any, images: Sequence[np.ndarray], imgsz: int = 640, chunk: int = 16) -> None:
    """Give every BatchNorm layer the statistics of its inputs on ``images`` without changing what the
    model computes in eval mode.

    Weights folded from an exported graph carry identity BatchNorm layers (mean 0, variance 1). Training
    normalizes by batch statistics instead, so every unfrozen layer would compute something else from
    the first step and the running statistics would drift there: the base classes would be lost. Here
    each layer's running mean and variance become those of its inputs, and its scale and shift absorb
    the change, so train-mode outputs start out as the eval-mode outputs.
    """
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    moments: dict[Any, list[Any]] = {m: [0, 0.0, 0.0] for m in norms}

    def record(module: Any, inputs: tuple[Any, ...], _output: Any) -> None:
        x = inputs[0].double()
        acc = moments[module]
        acc[0] += x.numel() // x.shape[1]
        acc[1] = acc[1] + x.sum(dim=(0, 2, 3))
        acc[2] = acc[2] + (x * x).sum(dim=(0, 2, 3))

    hooks = [m.register_forward_hook(record) for m in norms]
    model.eval()
    with torch.no_grad():
        for start in range(0, len(images), chunk):
            model(letterboxed(images[start : start + chunk], imgsz))
        for hook in hooks:
            hook.remove()
        for m in norms:
            n, total, squares = moments[m]
            mean = (total / n).float()
            var = (squares / n - (total / n) ** 2).clamp(min=0).float()
            std = (m.running_var + m.eps).sqrt()
            m.bias += m.weight * (mean - m.running_mean) / std
            m.weight *= (var + m.eps).sqrt() / std
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)


def _portable(args: Any) -> dict[str, Any]:
    """Training arguments with absolute paths cut to their file name, so weights name no machine's folders."""
    args = dict(args if isinstance(args, dict) else vars(args))
    return {k: Path(v).name if isinstance(v, str) and os.path.isabs(v) else v for k, v in args.items()}


def merge_labels(labels: Boxes, extra: Boxes, iou: float) -> Boxes:
    """``labels`` plus the ``extra`` boxes that overlap none of them by IoU >= ``iou`` (no object twice)."""
    if not len(labels) or not len(extra):
        return Boxes.concat([labels, extra])
    fresh = iou_matrix(extra.xyxy, labels.xyxy).max(axis=1) < iou
    return Boxes.concat([labels, extra[fresh]])


class DatasetWriter:
    """Writes a YOLO dataset: ``root/images/<split>/NNNNNN.jpg``, label files beside, and ``data.yaml``."""

    def __init__(self, root: Path, names: Sequence[str]) -> None:
        self.root = root
        self.names = list(names)
        self.ids = {n: i for i, n in enumerate(names)}
        self.images: Counter[tuple[str, str]] = Counter()  # (origin, split) -> images
        self.boxes: Counter[tuple[str, str]] = Counter()  # (origin, label) -> boxes
        self.count = 0
        for split in ("train", "val"):
            (root / "images" / split).mkdir(parents=True, exist_ok=True)
            (root / "labels" / split).mkdir(parents=True, exist_ok=True)

    def add(self, image: np.ndarray, boxes: Boxes, origin: str, split: str = "train") -> Path:
        """Write one image and its boxes; returns the image path."""
        path = self.root / "images" / split / f"{self.count:06d}.jpg"
        self.count += 1
        if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise OSError(f"cannot write {path}")
        text = boxes.to_yolo(image.shape, self.ids)
        (self.root / "labels" / split / f"{path.stem}.txt").write_text(text)
        self.images[origin, split] += 1
        self.boxes.update((origin, str(label)) for label in boxes.labels)
        return path

    def write_yaml(self) -> Path:
        path = self.root / "data.yaml"
        data = {"path": str(self.root.resolve()), "train": "images/train", "val": "images/val"}
        path.write_text(yaml.safe_dump({**data, "names": dict(enumerate(self.names))}, sort_keys=False))
        return path

    def split(self, view: str = "val") -> LabeledSplit:
        """The written images of one split, read back as ground truth."""
        return LabeledSplit.open(self.write_yaml(), view, same_names=self.names, name=self.root.name)


@dataclass
class Built:
    """What ``build_dataset`` wrote: the ``data.yaml``, and image / box counts per origin."""

    data_yaml: Path
    images: dict[tuple[str, str], int]
    boxes: dict[tuple[str, str], int]


def _chunks(items: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), n):
        yield items[start : start + n]


def check_sources(recipe: Recipe, names: Sequence[str]) -> list[LabeledSplit]:
    """Open every source; refuse any whose images lie in a folder the recipe evaluates on."""
    held_out = {
        recipe.source(recipe.evaluate[key]["source"]).open(names, recipe.evaluate[key]["split"]).folder
        for key in ("real", "coco")
    }
    splits = []
    for source in recipe.sources:
        split = source.open(names)
        for folder in held_out:
            if split.folder == folder or folder in split.folder.parents or split.folder in folder.parents:
                raise RecipeError(f"source {source.name!r} reads {split.folder}, which is kept for evaluation")
        splits.append(split.head(source.limit))
    return splits


def build_dataset(recipe: Recipe, names: Sequence[str], base: Detector, out: Path) -> Built:
    """Write the training dataset under ``out``.

    Sources (class-mapped, pseudo-labeled where the recipe says), then synthetic stalls / goods displays /
    lightboxes on the sources' street backgrounds, then patrol-scale tiles of shrunk street photos.
    Every ``holdout_every``-th image goes to a small val split for the trainer's own final check.
    """
    writer = DatasetWriter(out, names)
    rng = np.random.default_rng(recipe.synthetic["seed"])
    backgrounds: list[tuple[Path, Boxes]] = []

    def add(image: np.ndarray, boxes: Boxes, origin: str) -> Path:
        view = "val" if writer.count % recipe.holdout_every == 0 else "train"
        return writer.add(image, boxes, origin, view)

    pseudo_conf, pseudo_iou = recipe.pseudo_label["conf"], recipe.pseudo_label["iou"]
    for source, split in zip(recipe.sources, check_sources(recipe, names)):
        for paths in _chunks(split.images, 8):
            loaded = [split.read(p) for p in paths]
            found = base.detect([image for image, _ in loaded]) if source.pseudo_label else []
            for k, (image, boxes) in enumerate(loaded):
                if source.pseudo_label:
                    det = found[k][found[k].confidence >= pseudo_conf]
                    boxes = merge_labels(boxes, Boxes.from_detections(det), pseudo_iou)
                path = add(image, boxes, source.name)
                if source.backgrounds and path.parent.name == "train":
                    backgrounds.append((path, boxes))
        log.info("source %s: %d images", source.name, len(split))
    if not backgrounds:
        raise RecipeError(f"{recipe.path}: no source gives backgrounds for synthetic images")

    face_images = [backgrounds[i] for i in rng.permutation(len(backgrounds))[:40]]
    composer = _composer(
        recipe, recipe.synthetic["cutouts_split"], names, ((cv2.imread(str(p)), b) for p, b in face_images)
    )
    street = list(backgrounds)
    for _ in range(recipe.synthetic["images"]):
        path, boxes = backgrounds[rng.integers(len(backgrounds))]
        sample = composer.compose(cv2.imread(str(path)), boxes, rng)
        street.append((add(sample.image, sample.boxes, "synthetic"), sample.boxes))

    patrol = recipe.patrol
    prng = np.random.default_rng(patrol["seed"])
    for _ in range(patrol["images"]):
        picks = [street[i] for i in prng.integers(len(street), size=2)]
        items = [(cv2.imread(str(p)), b) for p, b in picks]
        image, boxes = patrol_tile(items, prng, patrol["size"], tuple(patrol["scale"]))
        add(image, boxes, "patrol-scale")
    return Built(writer.write_yaml(), dict(writer.images), dict(writer.boxes))


def _composer(
    recipe: Recipe, split: str, names: Sequence[str], backgrounds: Iterable[tuple[np.ndarray, Boxes]]
) -> Composer:
    """A Composer with the recipe's cut-outs of ``split``, and lightbox faces cut from the backgrounds' signs."""
    cutouts = load_cutouts(LabeledSplit.open(recipe.synthetic["cutouts"], split, same_names=names))
    faces = [face for image, boxes in backgrounds for face in sign_faces(image, boxes, recipe.synthetic["faces"])]
    return Composer(cutouts, faces)


class KeepBaseLoss:
    """The Ultralytics detection loss plus distillation of the base classes from the frozen base model.

    On every training image the student's logits of the first ``n`` classes (the base model's) are pulled
    towards the base model's scores (Bernoulli KL divergence summed over anchors and classes, divided by
    the base's score mass as the class loss is by its target mass, times ``weight`` and the class gain).
    What the base sees keeps its confidence, including the faint detections no pseudo-label carries.
    ``shared``: the first layers are frozen and compute the same in both models, so the base model runs
    on from the student's outputs of them instead of recomputing them.
    """

    def __init__(self, student: Any, teacher: Any, weight: float, shared: int = 0) -> None:
        from ultralytics.utils.loss import v8DetectionLoss

        self.detection = v8DetectionLoss(student)
        self.teacher = teacher.float().eval().to(next(student.parameters()).device)
        self.teacher.requires_grad_(False)
        self.n = teacher.model[-1].nc
        self.weight = weight
        self.shared = shared
        self.outputs: dict[int, Any] = {}
        for i in range(shared):
            student.model[i].register_forward_hook(partial(self._record, i))

    def _record(self, i: int, _module: Any, _inputs: Any, output: Any) -> None:
        self.outputs[i] = output

    def _teacher_scores(self, images: Any) -> Any:
        """(B, n, anchors) base-model class logits, continuing from the student's shared layers."""
        if not self.shared:
            return self.teacher(images)[1]["scores"]
        y = [self.outputs[i] for i in range(self.shared)]
        x = y[-1]
        for m in self.teacher.model[self.shared :]:
            if m.f != -1:
                x = y[m.f] if isinstance(m.f, int) else [x if j == -1 else y[j] for j in m.f]
            x = m(x)
            y.append(x)
        return x[1]["scores"]

    def __call__(self, preds: Any, batch: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """(box, cls, dfl) loss times batch size, with distillation added to cls; and the detached items."""
        import torch
        from torch.nn.functional import binary_cross_entropy_with_logits as bce

        loss, items = self.detection(preds, batch)
        student = self.detection.parse_output(preds)["scores"][:, : self.n]
        with torch.no_grad():
            logits = self._teacher_scores(batch["img"])
            target = logits.sigmoid()
        kl = bce(student, target, reduction="sum") - bce(logits, target, reduction="sum")
        keep = self.weight * self.detection.hyp.cls * kl / target.sum().clamp(min=1)
        loss = loss + torch.stack([torch.zeros_like(keep), keep * len(student), torch.zeros_like(keep)])
        return loss, {**items, "cls_loss": items["cls_loss"] + keep.detach()}


def fit(
    init: Path, data_yaml: Path, args: dict[str, Any], work: Path, device: str, teacher: Path, distill: float
) -> Path:
    """Fine-tune ``init`` with Ultralytics, distilling the base classes from ``teacher`` with weight
    ``distill`` (0: plain fine-tuning); returns the last weights."""
    from ultralytics import YOLO

    model = YOLO(str(init))
    if distill:
        base = YOLO(str(teacher)).model

        def keep_base(trainer: Any) -> None:
            frozen = args.get("freeze")
            shared = frozen if isinstance(frozen, int) else 0
            trainer.model.criterion = KeepBaseLoss(trainer.model, base, distill, shared)

        model.add_callback("on_train_start", keep_base)
    run = {"project": str(work), "name": "fit", "exist_ok": True, "plots": False, "val": False, "device": device}
    model.train(data=str(data_yaml), **run, **args)
    return work / "fit" / "weights" / "last.pt"


def finalize(trained: Path, out: Path) -> Path:
    """Copy trained weights to ``out`` without optimizer state or any path of the machine that trained them."""
    import torch

    ckpt = torch.load(trained, map_location="cpu", weights_only=False)
    model = ckpt["ema"] if ckpt.get("ema") is not None else ckpt["model"]
    model.args = _portable(getattr(model, "args", {}) or {})
    model.pt_path = None  # where the weights were loaded from while training
    meta = {k: ckpt[k] for k in ("date", "version", "license", "docs") if k in ckpt}
    torch.save({**meta, "model": model.half(), "ema": None, "train_args": _portable(ckpt.get("train_args", {}))}, out)
    return out


@dataclass
class Evaluation:
    """Scores of one model: real shop fronts, patrol-scale frames (per inference mode), COCO, synthetic."""

    real: Score
    patrol: dict[str, Score]
    coco: Score
    synthetic: Score


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
    composer = _composer(recipe, spec["cutouts_split"], names, backgrounds)
    writer = DatasetWriter(out, names)
    rng = np.random.default_rng(spec["seed"])
    for image, boxes in backgrounds:
        sample = composer.compose(image, boxes, rng)
        writer.add(sample.image, sample.boxes, "synthetic", "val")
    return writer.split("val")


def patrol_scores(
    weights: Path, split: LabeledSplit, recipe: Recipe, rename: dict[str, str] | None = None
) -> dict[str, Score]:
    """Sign AP50 on the patrol-scale set, for each inference mode of ``evaluate.patrol.modes``."""
    conf, groups = recipe.evaluate["conf"], sign_groups(recipe)
    return {
        mode: score(Detector(weights, conf=conf, **options), split, groups, rename)
        for mode, options in recipe.evaluate["patrol"]["modes"].items()
    }


def sign_groups(recipe: Recipe) -> dict[str, list[str]]:
    """The class-agnostic group scored on shop fronts: "sign" = every sign class."""
    return {"sign": list(recipe.evaluate["sign_group"])}


def evaluate_model(recipe: Recipe, weights: Path, names: Sequence[str], work: Path) -> Evaluation:
    """Score ``weights`` through the product's Detector on every evaluation set of the recipe."""
    real = evaluation_split(recipe, "real", names)
    detector = Detector(weights, conf=recipe.evaluate["conf"], imgsz=recipe.evaluate["imgsz"])
    patrol = patrol_set(real, recipe.evaluate["patrol"], work / "patrol-scale", names)
    return Evaluation(
        real=score(detector, real, sign_groups(recipe)),
        patrol=patrol_scores(weights, patrol, recipe),
        coco=score(detector, evaluation_split(recipe, "coco", names)),
        synthetic=score(detector, synthetic_set(recipe, names, work / "synthetic")),
    )


def kept_classes(names: Sequence[str], recipe: Recipe, taxonomy: Taxonomy) -> list[str]:
    """Base classes the taxonomy uses: the ones fine-tuning must not lose."""
    used = taxonomy.relevant_labels()
    return [n for n in names if n in used and n not in recipe.classes]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _best_mode(recipe: Recipe, ours: Evaluation) -> str:
    """The patrol inference mode with the highest sign AP50, with its Detector options."""
    mode = max(ours.patrol, key=lambda m: np.nan_to_num(ours.patrol[m].groups["sign"], nan=-1.0))
    options = ", ".join(f"{k}={v}" for k, v in recipe.evaluate["patrol"]["modes"][mode].items())
    return f"{mode}: `{options}`"


def _mapping(source: Source) -> str:
    """How a source's classes become ours, in words."""
    parts = [f"{a} -> `{b}`" for a, b in source.rename.items()]
    parts += ["those named like ours keep their name"] if source.same_names else []
    return ", ".join(parts)


def _ap(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"


def model_card(
    recipe: Recipe,
    names: Sequence[str],
    built: Built,
    weights: Path,
    ours: Evaluation,
    base_coco: Score,
    taxonomy: Taxonomy,
    train_s: float,
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
        f"- trained: {datetime.now(timezone.utc):%Y-%m-%d} with `streetscan train --recipe {recipe.path.name}`, "
        f"{train_s / 60:.0f} min of training",
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
            f"`{c}` " + ", ".join(f"{o} {built.boxes[o, c]}" for o in origins if built.boxes.get((o, c)))
            for c in new
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
        "backgrounds; see `vision/synth.py`), not from photos of real stalls, goods or lightboxes. Expect "
        "misses and false alarms on real video until reviewers' confirmed cases are exported and trained on.",
        f"- Patrol-scale images: training street photos shrunk to {recipe.patrol['scale'][0]}-"
        f"{recipe.patrol['scale'][1]} of their size in {recipe.patrol['size']}-px windows, as a tile of a "
        "1080p patrol frame shows them.",
        "",
        "## Training",
        "",
        "Ultralytics arguments: " + ", ".join(f"`{k}={v}`" for k, v in recipe.train.items()) + ".",
        "",
        f"- Before fine-tuning, the BatchNorm layers get the statistics of {CALIBRATION_IMAGES} training images "
        "(the base weights carry identity statistics folded from an export); what the model computes does not change.",
        f"- Base classes are distilled from the base model on every training image (weight "
        f"{recipe.distill_base}), so their scores stay where the base had them.",
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
    lines += [f"| `{c}` | {ours.real.truth_counts[c]} | {_ap(v)} |" for c, v in sorted(ours.real.per_class.items())]
    lines += [
        f"| any sign (`{'` + `'.join(recipe.evaluate['sign_group'])}`), class-agnostic | | "
        f"**{_ap(ours.real.groups['sign'])}** |",
        "",
        f"Patrol scale: the same images at {recipe.evaluate['patrol']['scale']:.3g} of their size on a "
        f"{recipe.evaluate['patrol']['canvas'][0]}x{recipe.evaluate['patrol']['canvas'][1]} grey canvas; "
        "class-agnostic sign AP50 by inference mode:",
        "",
        "| inference | sign AP50 |",
        "| --- | --- |",
    ]
    lines += [f"| {mode} | **{_ap(s.groups['sign'])}** |" for mode, s in ours.patrol.items()]
    lines += [
        "",
        f"Base classes the taxonomy uses, on `{recipe.evaluate['coco']['source']}` "
        f"{recipe.evaluate['coco']['split']} ({ours.coco.images} images), AP50 of this model vs. the base:",
        "",
        "| class | boxes | base | this model |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{c}` | {ours.coco.truth_counts[c]} | {_ap(base_coco.per_class[c])} | {_ap(ours.coco.per_class[c])} |"
        for c in kept
        if c in ours.coco.per_class
    ]
    lines += [
        f"| mean | | {_ap(base_coco.mean(kept))} | **{_ap(ours.coco.mean(kept))}** |",
        "",
        f"Synthetic (reported apart: composed images, cut-outs of the `{recipe.evaluate['synthetic']['cutouts_split']}`"
        f" split, {ours.synthetic.images} images; says the generator's classes are learned, not how they "
        "fare on real streets):",
        "",
        "| class | boxes | AP50 |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| `{c}` | {ours.synthetic.truth_counts.get(c, 0)} | {_ap(ours.synthetic.per_class.get(c, float('nan')))} |"
        for c in SYNTH_CLASSES
    ]
    lines += [
        "",
        "## Limits",
        "",
        "- Stalls, goods displays and lightboxes are learned from synthetic images only (see above).",
        f"- Far, small signs in 1080p frames: use the inference mode that scores best above "
        f"({_best_mode(recipe, ours)}); `Detector` takes `imgsz` and `tile`.",
        "- Shop-front photos come from one public dataset; other cities' signage may score lower.",
        "",
    ]
    return "\n".join(lines)


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
    except (RecipeError, DatasetError, OSError) as exc:
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
    trained = fit(init, built.data_yaml, recipe.train, work, device, recipe.base, recipe.distill_base)
    train_s = time.monotonic() - t1
    weights = finalize(trained, out / f"{recipe.name}.pt")
    ours = evaluate_model(recipe, weights, names, work)
    reference = Detector(recipe.base, conf=recipe.evaluate["conf"], imgsz=recipe.evaluate["imgsz"])
    base_coco = score(reference, evaluation_split(recipe, "coco", names))
    card = model_card(recipe, names, built, weights, ours, base_coco, rules, train_s)
    (out / f"{recipe.name}.md").write_text(card, encoding="utf-8")
    kept = kept_classes(names, recipe, rules)
    print(
        f"{weights}: sign AP50 real {_ap(ours.real.groups['sign'])}, patrol "
        + ", ".join(f"{m} {_ap(s.groups['sign'])}" for m, s in ours.patrol.items())
        + f"; kept COCO classes mAP50 {_ap(ours.coco.mean(kept))} (base {_ap(base_coco.mean(kept))})",
        file=sys.stderr,
    )
    return weights
