"""Text on signs: PP-OCR text detection + recognition (RapidOCR on OpenVINO), on CPU, offline.

The models are the PP-OCRv6 small detector and recogniser shipped inside the installed ``rapidocr``
wheel (Chinese, English letters and digits); they are loaded by path, so nothing is downloaded. The
engine loads on first use, so a scan that meets no sign never pays for it. README "Signs: text and appearance" gives
the measured accuracy and cost and why this engine was chosen.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vision.identity import edit_distance, normalize_text

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
MIN_SIDE_PX = 10
"""Crops with a side shorter than this hold no legible text; they are not read."""
GOOD_CONFIDENCE = 0.9
"""A reading at least this confident is kept without reading the track's second crop."""


class OcrError(RuntimeError):
    """The OCR engine cannot be loaded (package missing or broken); the message says what to install."""


@dataclass(frozen=True)
class SignText:
    """What one crop says: its text lines joined by a space, top to bottom, and the recogniser's
    confidence (0..1, the line scores averaged over their characters)."""

    text: str
    confidence: float


def _model_dir() -> Path:
    try:
        import rapidocr
    except ImportError as exc:
        raise OcrError("sign OCR needs the rapidocr and openvino packages: pip install rapidocr openvino") from exc
    return Path(rapidocr.__file__).resolve().parent / "models"


class SignReader:
    """Reads sign crops. ``threads`` caps the CPU threads inference uses (None: all cores);
    ``min_score`` drops text lines the recogniser is less sure of (0..1); ``runtime`` is "openvino"
    (shipped) or "onnxruntime" (same models, needs the onnxruntime package; for comparison).
    ``crops_read`` and ``seconds`` count the work done so far."""

    def __init__(self, threads: int | None = None, min_score: float = 0.5, runtime: str = "openvino") -> None:
        if runtime not in ("openvino", "onnxruntime"):
            raise ValueError(f"unknown OCR runtime {runtime!r}: openvino or onnxruntime")
        self.threads = threads
        self.min_score = min_score
        self.runtime = runtime
        self.crops_read = 0
        self.seconds = 0.0
        self._engine: Any = None

    def _load(self) -> Any:
        models = _model_dir()
        missing = [m for m in (DET_MODEL, REC_MODEL, CLS_MODEL) if not (models / m).is_file()]
        if missing:
            raise OcrError(f"the installed rapidocr has no {', '.join(missing)} in {models}; install rapidocr>=3.10")
        from rapidocr import EngineType, RapidOCR  # importable: _model_dir imported the package

        params: dict[str, Any] = {
            "Global.log_level": "error",  # an empty crop is no warning
            "Global.use_cls": False,  # signs hang upright: the 180-degree classifier only costs time
            "Global.text_score": self.min_score,
            "Det.limit_type": "max",  # crops are read at their own size (scaling small ones up misleads)
            "Det.limit_side_len": 960,
            "EngineConfig.openvino.inference_num_threads": self.threads or -1,
            "EngineConfig.onnxruntime.intra_op_num_threads": self.threads or -1,
        }
        engine = EngineType.OPENVINO if self.runtime == "openvino" else EngineType.ONNXRUNTIME
        for part, model in (("Det", DET_MODEL), ("Rec", REC_MODEL), ("Cls", CLS_MODEL)):
            params[f"{part}.engine_type"] = engine
            params[f"{part}.model_path"] = str(models / model)
        try:
            return RapidOCR(params=params)
        except ImportError as exc:
            raise OcrError(f"sign OCR needs the {self.runtime} package: {exc}") from exc

    @property
    def engine(self) -> Any:
        """The loaded RapidOCR engine (loaded on first access)."""
        if self._engine is None:
            self._engine = self._load()
        return self._engine

    def read(self, crop: np.ndarray) -> SignText | None:
        """The text on one (h, w, 3) BGR crop; None when nothing legible is found."""
        if crop.ndim != 3 or min(crop.shape[:2]) < MIN_SIDE_PX:
            return None
        engine = self.engine
        began = time.perf_counter()
        result = engine(np.ascontiguousarray(crop))
        self.crops_read += 1
        self.seconds += time.perf_counter() - began
        lines = [(t.strip(), float(s)) for t, s in zip(result.txts or (), result.scores or ()) if t.strip()]
        if not lines:
            return None
        chars = sum(len(t) for t, _ in lines)
        confidence = sum(len(t) * s for t, s in lines) / chars
        return SignText(" ".join(t for t, _ in lines), round(confidence, 4))

    def read_best(self, crops: Sequence[np.ndarray]) -> SignText | None:
        """The best reading of one sign from its best crops, best first: the next crop is read only
        while no reading reaches ``GOOD_CONFIDENCE``; the most confident reading wins."""
        best: SignText | None = None
        for crop in crops:
            found = self.read(crop)
            if found is not None and (best is None or found.confidence > best.confidence):
                best = found
            if best is not None and best.confidence >= GOOD_CONFIDENCE:
                break
        return best


def character_accuracy(pairs: Iterable[tuple[str | None, str]]) -> float:
    """1 - character error rate over (read, truth) text pairs, compared after ``normalize_text``:
    edit distance summed over the pairs / truth characters summed; each pair's errors are capped at its
    truth length (a long wrong reading counts as missing the text, no worse)."""
    errors = total = 0
    for read, truth in pairs:
        want = normalize_text(truth)
        errors += min(edit_distance(normalize_text(read or ""), want), len(want))
        total += len(want)
    if total == 0:
        raise ValueError("no truth characters to score against")
    return 1.0 - errors / total
