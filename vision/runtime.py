"""A faster runtime for the same detector: the weights exported to OpenVINO, quantised to int8.

``streetscan export-model`` (``vision/export_model.py``) writes ``<weights stem>_int8_openvino_model/``
beside a ``.pt`` file, recording the sha256 of the weights it was built from. ``runtime_weights`` picks
that folder in place of the ``.pt`` only while the digest still matches, so a changed ``.pt`` is never
shadowed by a stale export; without the folder the ``.pt`` runs through PyTorch as before.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

EXPORT_SUFFIX = "_int8_openvino_model"  # Ultralytics recognises OpenVINO folders by the "_openvino_model" ending
SOURCE_DIGEST = "source.sha256"
_COMPILING = threading.Lock()  # one thread at a time adds its settings to OpenVINO compiles
OPENVINO_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "streetscan" / "openvino"


def export_dir(weights: Path) -> Path:
    """Where the OpenVINO export of ``weights`` (a ``.pt`` file) lives: beside it."""
    return weights.with_name(weights.stem + EXPORT_SUFFIX)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def runtime_weights(weights: Path) -> Path:
    """The model to load for ``weights``: its OpenVINO export when one built from these very weights is
    beside it (and ``STREETSCAN_RUNTIME`` is not ``torch``), else ``weights`` itself."""
    folder = export_dir(weights)
    if os.environ.get("STREETSCAN_RUNTIME", "auto") == "torch" or weights.suffix != ".pt" or not folder.is_dir():
        return weights
    recorded = folder / SOURCE_DIGEST
    if not recorded.is_file() or recorded.read_text().strip() != sha256(weights):
        log.warning(
            "%s was built from other weights than %s; using the .pt (rebuild: streetscan export-model)", folder, weights
        )
        return weights
    return folder


def compile_openvino(model: Any, threads: int | None = None) -> bool:
    """Set up the predictor of ``model`` (a YOLO); when it runs an OpenVINO folder, its compiled form is kept in
    ``OPENVINO_CACHE`` (the next load takes a fraction of the time) and, with ``threads``, each inference runs
    on that many CPU threads: several single-threaded models side by side use two cores better than one model
    spread over both, whose threads wait for each other at every layer. Ultralytics compiles the model with
    its own fixed settings; these are added while it does. Returns False when the model is not OpenVINO."""
    import openvino as ov

    original = ov.Core.compile_model
    extra: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads} if threads else {}
    try:
        OPENVINO_CACHE.mkdir(parents=True, exist_ok=True)
        extra["CACHE_DIR"] = str(OPENVINO_CACHE)
    except OSError as exc:
        log.warning("OpenVINO model cache off: %s", exc)

    def compile_model(
        core: Any, model: Any, device_name: Any = None, config: dict[str, Any] | None = None, **kw: Any
    ) -> Any:
        return original(core, model, device_name, {**(config or {}), **extra}, **kw)

    with _COMPILING:
        ov.Core.compile_model = compile_model
        try:
            model.predict(np.zeros((32, 32, 3), dtype=np.uint8), device="cpu", verbose=False)  # sets up the backend
        finally:
            ov.Core.compile_model = original
    backend: Any = getattr(getattr(model.predictor, "model", None), "backend", None)
    if getattr(backend, "ov_compiled_model", None) is None:
        return False
    backend.compile_model = functools.partial(backend.compile_model, config={"PERFORMANCE_HINT": "LATENCY", **extra})
    return True
