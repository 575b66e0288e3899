"""The training set a recipe builds: class-mapped sources with the base model's pseudo-labels, synthetic
stalls / goods displays / lightboxes on street backgrounds, and patrol-scale tiles, written as a YOLO dataset."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from vision import Detections, Detector, iou_matrix
from vision.training.evaluate import LabeledSplit, read_image
from vision.training.recipe import Recipe, RecipeError
from vision.training.synth import Composer, PatrolLook, load_cutouts, patrol_tile, sign_faces

log = logging.getLogger(__name__)


def merge_labels(labels: Detections, extra: Detections, iou: float) -> Detections:
    """``labels`` plus the ``extra`` boxes that overlap none of them by IoU >= ``iou`` (no object twice)."""
    if not len(labels) or not len(extra):
        return Detections.concat([labels, extra])
    fresh = iou_matrix(extra.xyxy, labels.xyxy).max(axis=1) < iou
    return Detections.concat([labels, extra[fresh]])


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

    def add(self, image: np.ndarray, boxes: Detections, origin: str, split: str = "train") -> Path:
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
    backgrounds: list[tuple[Path, Detections]] = []

    def add(image: np.ndarray, boxes: Detections, origin: str) -> Path:
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
                    boxes = merge_labels(boxes, det, pseudo_iou)
                path = add(image, boxes, source.name)
                if source.backgrounds and path.parent.name == "train":
                    backgrounds.append((path, boxes))
        log.info("source %s: %d images", source.name, len(split))
    if not backgrounds:
        raise RecipeError(f"{recipe.path}: no source gives backgrounds for synthetic images")

    face_images = [backgrounds[i] for i in rng.permutation(len(backgrounds))[:40]]
    composer = street_composer(
        recipe, recipe.synthetic["cutouts_split"], names, ((read_image(p), b) for p, b in face_images)
    )
    street = list(backgrounds)
    for _ in range(recipe.synthetic["images"]):
        path, boxes = backgrounds[rng.integers(len(backgrounds))]
        sample = composer.compose(read_image(path), boxes, rng)
        street.append((add(sample.image, sample.boxes, "synthetic"), sample.boxes))

    patrol = recipe.patrol
    prng = np.random.default_rng(patrol["seed"])
    look = patrol_look(patrol)
    per_tile = 2 * max(patrol["size"] // 640, 1) ** 2  # street photos to pick from per tile
    for _ in range(patrol["images"]):
        picks = [street[i] for i in prng.integers(len(street), size=per_tile)]
        items = [(read_image(p), b) for p, b in picks]
        image, boxes = patrol_tile(items, prng, patrol["size"], tuple(patrol["scale"]), look)
        add(image, boxes, "patrol-scale")
    return Built(writer.write_yaml(), dict(writer.images), dict(writer.boxes))


def patrol_look(patrol: dict[str, Any]) -> PatrolLook:
    """The recipe's ``patrol.look`` (dashcam-like degradations of patrol-scale images); none when absent."""
    look: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in (patrol.get("look") or {}).items()}
    try:
        return PatrolLook(**look)
    except TypeError as exc:
        raise RecipeError(f"patrol.look: {exc}") from exc


def street_composer(
    recipe: Recipe, split: str, names: Sequence[str], backgrounds: Iterable[tuple[np.ndarray, Detections]]
) -> Composer:
    """A Composer with the recipe's cut-outs of ``split``, and lightbox faces cut from the backgrounds' signs."""
    cutouts = load_cutouts(LabeledSplit.open(recipe.synthetic["cutouts"], split, same_names=names))
    faces = [face for image, boxes in backgrounds for face in sign_faces(image, boxes, recipe.synthetic["faces"])]
    return Composer(cutouts, faces)
