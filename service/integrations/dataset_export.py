"""Reviewers' decisions as training data: ``streetscan export-dataset`` writes the keyframes of reviewed
observations as a YOLO dataset that ``streetscan train --export DIR`` reads.

Per keyframe (one image, shared by every observation whose best frame it was):
- observations of confirmed or recategorised cases become boxes of the model class of the case's
  category (their own label when it is that category's class);
- observations of rejected cases, and sightings a reviewer rejected on their own, get no box: the
  image teaches that what they boxed is background (a hard negative);
- observations nobody decided on are painted grey (114, the letterbox colour), except where they
  overlap a box, so the image teaches nothing about them either way.
Keyframes with no decided observation are left out. ``DIR/observations.csv`` lists what each image holds.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml
from sqlmodel import Session, col, select

from service.evidence import evidence_store, read_image
from service.models.base import row_id
from service.models.cases import Case, CaseAction, CaseEvent, CaseStatus
from service.models.observations import ObservationRow
from service.settings import Settings
from vision import Detections, Taxonomy

POSITIVE = frozenset(
    {CaseStatus.confirmed, CaseStatus.dispatched, CaseStatus.resolved, CaseStatus.closed, CaseStatus.reopened}
)
GREY = 114


class ExportError(ValueError):
    """An export that cannot be written (the message says why)."""


@dataclass
class Decided:
    """One observation on a keyframe: ``decision`` "box", "negative" or "unreviewed"; ``label`` the class
    of a box; ``bbox`` [x1, y1, x2, y2] pixels."""

    observation_id: int
    case_id: int | None
    decision: str
    label: str | None
    bbox: list[float]


@dataclass
class ExportSummary:
    """What an export wrote: images, boxes per class, hard negatives, greyed observations, and the
    observations left out with why."""

    images: int = 0
    boxes: Counter[str] = field(default_factory=Counter)
    negatives: int = 0
    greyed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def text(self) -> str:
        boxes = ", ".join(f"{label} {n}" for label, n in sorted(self.boxes.items())) or "none"
        line = f"{self.images} images; boxes: {boxes}; hard negatives {self.negatives}; greyed {self.greyed}"
        if self.skipped:
            line += "; left out: " + ", ".join(f"{why} {n}" for why, n in sorted(self.skipped.items()))
        return line


def category_classes(taxonomy: Taxonomy) -> dict[str, str]:
    """Category -> the model class a reviewer's decision trains: the first label the taxonomy maps to it."""
    out: dict[str, str] = {}
    for label, category in taxonomy.labels.items():
        out.setdefault(category, label)
    return out


def training_label(label: str, category: str, taxonomy: Taxonomy, classes: dict[str, str]) -> str | None:
    """The class of an observation decided to be ``category``: its own ``label`` when the taxonomy maps it
    there directly, else the category's class in ``classes`` (see ``category_classes``; None when the
    taxonomy maps no label to it)."""
    if taxonomy.labels.get(label) == category:
        return label
    return classes.get(category)


def decisions(session: Session, taxonomy: Taxonomy, summary: ExportSummary) -> dict[str, list[Decided]]:
    """Keyframe key -> its observations with the reviewers' decision on each."""
    classes = category_classes(taxonomy)
    recategorised = set(session.exec(select(CaseEvent.case_id).where(CaseEvent.action == CaseAction.recategorize)))
    rows = session.exec(
        select(ObservationRow, Case)
        .join(Case, col(ObservationRow.case_id) == Case.id, isouter=True)
        .order_by(col(ObservationRow.id))
    )
    frames: dict[str, list[Decided]] = defaultdict(list)
    for obs, case in rows:
        if not obs.keyframe:
            summary.skipped["no keyframe"] += 1
            continue
        decision, label = "unreviewed", None
        if obs.rejected or (case is not None and case.status == CaseStatus.rejected):
            decision = "negative"
        elif case is not None and (case.status in POSITIVE or case.id in recategorised):
            label = training_label(obs.label, case.category, taxonomy, classes)
            decision = "box" if label else "unreviewed"
            if not label:
                summary.skipped[f"no class for category {case.category}"] += 1
        frames[obs.keyframe].append(Decided(row_id(obs), obs.case_id, decision, label, list(obs.bbox)))
    return frames


def _region(bbox: list[float]) -> tuple[slice, slice]:
    """Rows and columns of an image that the box [x1, y1, x2, y2] (pixels) covers."""
    x1, y1, x2, y2 = (max(round(v), 0) for v in bbox)
    return slice(y1, y2), slice(x1, x2)


def grey_out(image: np.ndarray, unreviewed: Iterable[Decided], boxes: Iterable[Decided]) -> None:
    """Paint the unreviewed boxes of ``image`` (H x W x 3, in place) grey, except where a box lies."""
    mask = np.zeros(image.shape[:2], dtype=bool)
    for d in unreviewed:
        mask[_region(d.bbox)] = True
    for d in boxes:
        mask[_region(d.bbox)] = False
    image[mask] = GREY


def export_dataset(session: Session, settings: Settings, out: Path, taxonomy: Taxonomy) -> ExportSummary:
    """Write the reviewed keyframes to ``out`` (new or empty): images/, labels/, data.yaml, observations.csv."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty folder")
    names = list(taxonomy.labels)
    ids = {label: i for i, label in enumerate(names)}
    summary = ExportSummary()
    frames = decisions(session, taxonomy, summary)
    store = evidence_store(settings)
    (out / "images").mkdir(parents=True)
    (out / "labels").mkdir()
    with open(out / "observations.csv", "w", newline="", encoding="utf-8") as f:
        table = csv.writer(f)
        table.writerow(["image", "observation_id", "case_id", "decision", "class"])
        for key, group in frames.items():
            if all(d.decision == "unreviewed" for d in group):
                continue
            stored = read_image(store, key)
            image = cv2.imdecode(np.frombuffer(stored, np.uint8), cv2.IMREAD_COLOR) if stored else None
            if stored is None or image is None:
                summary.skipped["keyframe missing or unreadable"] += len(group)
                continue
            boxes = [d for d in group if d.decision == "box"]
            unreviewed = [d for d in group if d.decision == "unreviewed"]
            name = Path(key).stem + ".jpg"
            grey_out(image, unreviewed, boxes)
            if unreviewed or Path(key).suffix != ".jpg":
                cv2.imwrite(str(out / "images" / name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            else:
                (out / "images" / name).write_bytes(stored)
            labels = [d.label for d in boxes if d.label]
            labelled = Detections.labeled([d.bbox for d in boxes], labels)
            (out / "labels" / name).with_suffix(".txt").write_text(labelled.to_yolo(image.shape, ids), encoding="utf-8")
            summary.images += 1
            summary.greyed += len(unreviewed)
            summary.boxes.update(labels)
            summary.negatives += sum(d.decision == "negative" for d in group)
            for d in group:
                table.writerow([name, d.observation_id, d.case_id, d.decision, d.label or ""])
    data = {"path": ".", "names": dict(enumerate(names))}
    (out / "data.yaml").write_text(
        "# Reviewers' decisions exported by streetscan export-dataset; train with streetscan train --export DIR\n"
        + yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return summary
