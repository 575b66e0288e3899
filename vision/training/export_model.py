"""``streetscan export-model``: the int8 OpenVINO export of a ``.pt`` detector, which ``vision/runtime.py``
then loads in its place.

The model is exported by Ultralytics (dynamic input shape, so frames keep their aspect ratio as with the
``.pt``), then its convolutions are quantised to int8 by NNCF post-training quantisation on calibration
images from the recipe's training sources; the detection heads' box decoding and class scores stay in
float. ``bench/runtime.py`` checks the result against the float model.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vision.runtime import SOURCE_DIGEST, export_dir, sha256
from vision.training.recipe import Recipe


def letterbox(image: np.ndarray, size: int = 640) -> np.ndarray:
    """(1, 3, h, w) float32 RGB 0..1 model input of a BGR (H, W, 3) uint8 image, as Ultralytics' predictor
    makes it: longer side to ``size``, padded grey to a multiple of 32 (h, w <= size)."""
    from ultralytics.data.augment import LetterBox

    boxed = LetterBox(new_shape=(size, size), auto=True, stride=32)(image=image)
    return np.ascontiguousarray(boxed[None, :, :, ::-1].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def _head_ops(model: Any) -> list[str]:
    """Names of the operations that decode boxes and scores: every op of the last layer but its convolutions,
    kept in float as Ultralytics does for its int8 exports (a grafted model's last layer holds two heads)."""
    ops = model.get_ordered_ops()
    scopes = {op.get_friendly_name().split("/", 1)[0] for op in ops if op.get_type_name() == "Sigmoid"}
    scopes |= {scope.rsplit(".", 1)[0] for scope in scopes if scope.rsplit(".", 1)[1] in {"tuned", "base"}}
    kept = tuple(f"{scope}/" for scope in scopes) + tuple(f"{scope}.dfl" for scope in scopes)
    return [
        op.get_friendly_name()
        for op in ops
        if op.get_type_name() == "Sigmoid" or op.get_friendly_name().startswith(kept)
    ]


def export_openvino(
    weights: Path, calibration: Iterable[np.ndarray], out: Path | None = None, imgsz: int = 640
) -> Path:
    """Export ``weights`` to an int8 OpenVINO folder (default ``export_dir(weights)``) and return it.

    calibration: BGR (H, W, 3) uint8 images like those the model will see (a few hundred); their activations
    set the int8 ranges. Nothing is downloaded.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import nncf
    import openvino as ov
    from ultralytics import YOLO

    out = out or export_dir(weights)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / weights.name
        shutil.copyfile(weights, source)  # the exporter writes beside its source
        exported = Path(
            YOLO(str(source)).export(format="openvino", imgsz=imgsz, dynamic=True, device="cpu", verbose=False)
        )
        model = ov.Core().read_model(next(exported.glob("*.xml")))
        inputs = [letterbox(image, imgsz) for image in calibration]
        quantized = nncf.quantize(
            model,
            nncf.Dataset(inputs),
            preset=nncf.QuantizationPreset.MIXED,
            subset_size=len(inputs),
            ignored_scope=nncf.IgnoredScope(names=_head_ops(model)),
        )
        staging = out.with_name(out.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        ov.save_model(quantized, staging / f"{weights.stem}.xml", compress_to_fp16=False)
        shutil.copyfile(exported / "metadata.yaml", staging / "metadata.yaml")
    (staging / SOURCE_DIGEST).write_text(sha256(weights) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return out


def calibration_images(recipe: Recipe, count: int, seed: int = 0) -> Iterator[np.ndarray]:
    """About ``count`` BGR training images, drawn evenly from the recipe's sources (never their val splits)."""
    import cv2

    splits = [source.open([]) for source in recipe.sources]
    for split in splits:
        for path in split.head(max(1, count // len(splits)), seed).images:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                yield image
