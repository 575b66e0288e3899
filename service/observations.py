"""Observations as the API takes and serves them: ``POST /api/observations`` items validated into
``vision.Observation`` (each on its own, so one bad item spoils nothing else), and the evidence
images of stored observations, which the API and the web view serve alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import ValidationError
from sqlmodel import Session

from service.evidence import has_image, read_image
from service.ingest import Rejected
from service.models.base import validation_message
from service.models.observations import ObservationCreate, ObservationRow
from service.storage import ObjectStore
from vision import Observation

EvidenceImage = Literal["crop", "keyframe"]
EVIDENCE_IMAGES: tuple[EvidenceImage, ...] = ("crop", "keyframe")


def parse_item(raw: Any, categories: Iterable[str], evidence: ObjectStore) -> Observation:
    """One API item as a validated observation whose images are in the evidence store
    ``evidence``; raises ValueError with a readable reason."""
    try:
        item = ObservationCreate.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(validation_message(exc)) from None
    if item.category not in categories:
        raise ValueError(f"category: unknown category {item.category!r} (known: {', '.join(sorted(categories))})")
    for field in EVIDENCE_IMAGES:
        key = getattr(item, field)
        if key is not None and not has_image(evidence, key):
            raise ValueError(f"{field}: no image {key} in the evidence store: send it to POST /api/evidence first")
    return item.observation()


def parse_items(raws: Sequence[Any], categories: Iterable[str], evidence: ObjectStore) -> list[Observation | Rejected]:
    """Each API item parsed (``parse_item``), or Rejected with why, in order."""
    categories = frozenset(categories)
    parsed: list[Observation | Rejected] = []
    for raw in raws:
        try:
            parsed.append(parse_item(raw, categories, evidence))
        except ValueError as exc:
            track_id = raw.get("track_id") if isinstance(raw, dict) else None
            parsed.append(Rejected(track_id if isinstance(track_id, str) else None, str(exc)))
    return parsed


def observation_image(
    session: Session, evidence: ObjectStore, observation_id: int, image: str
) -> tuple[str, bytes] | None:
    """The key and bytes of a stored observation's ``crop`` or ``keyframe`` in the evidence store;
    None when the observation, or that image of it, does not exist."""
    if image not in EVIDENCE_IMAGES:
        return None
    row = session.get(ObservationRow, observation_id)
    key = getattr(row, image) if row else None
    data = read_image(evidence, key) if key else None
    return (key, data) if key and data is not None else None


BOX_COLOUR = (40, 40, 230)
"""The box drawn on a keyframe (BGR: red), with a white rim so it shows on dark and red scenes alike."""


def boxed_keyframe(data: bytes, bbox: list[float]) -> bytes:
    """The keyframe image ``data`` as a JPEG with ``bbox`` [x1, y1, x2, y2] (pixels) drawn on it, the line
    about 1/250 of the image's long side thick (at least 2 px). ValueError for an unreadable image."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("cannot read the keyframe")
    thick = max(2, round(max(image.shape[:2]) / 250))
    x1, y1, x2, y2 = (round(v) for v in bbox)
    cv2.rectangle(image, (x1 - thick, y1 - thick), (x2 + thick, y2 + thick), (255, 255, 255), thick)
    cv2.rectangle(image, (x1, y1), (x2, y2), BOX_COLOUR, thick)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError("cannot encode the keyframe")
    return np.asarray(encoded).tobytes()
