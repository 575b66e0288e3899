"""What an observation of a sign adds: the text read on it and its appearance signature.

Shared by the patrol scanner and the fixed-camera watch, so every source describes signs the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vision.appearance import encode_signature, signature
from vision.ocr import OcrError, SignReader
from vision.taxonomy import Taxonomy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignLook:
    """The sign fields of an observation (see ``vision.observe.Observation``)."""

    text: str | None = None
    text_confidence: float | None = None
    signature: str | None = None


class SignDescriber:
    """Describes the observations whose label the taxonomy lists as a sign; ``ocr=False`` reads no text.
    The OCR engine loads on the first sign read; if it cannot load, that is logged once and text stays off."""

    def __init__(self, taxonomy: Taxonomy, ocr: bool = True) -> None:
        self.taxonomy = taxonomy
        self.reader: SignReader | None = SignReader() if ocr else None

    def describe(
        self, label: str, frame: np.ndarray | None, box: Sequence[float], crops: Sequence[np.ndarray]
    ) -> SignLook:
        """Text of the ``crops`` (best first, a second read only if the first is unsure) and the signature
        of ``box`` (x1, y1, x2, y2 pixels) in the (H, W, 3) BGR ``frame``; empty for labels that are no sign."""
        if not self.taxonomy.is_sign(label) or frame is None:
            return SignLook()
        found = None
        if self.reader is not None:
            try:
                found = self.reader.read_best(crops)
            except OcrError as exc:
                log.error("sign text is not read: %s", exc)
                self.reader = None
        return SignLook(
            text=found.text if found else None,
            text_confidence=found.confidence if found else None,
            signature=encode_signature(signature(frame, np.asarray(box, dtype=float))),
        )
