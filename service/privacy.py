"""Privacy-blurred copies of evidence images: every image that leaves the reviewer and admin roles
(share links, reports for other roles, exports) goes through ``blurred_key``.

The copy has faces and number plates blurred (``vision.find_private_regions`` with the scene model's
person and vehicle boxes, then ``vision.blur_regions``), is stored in the evidence store like any
image, and is found again by (image SHA-256, ``vision.BLUR_VERSION``) through a small index file
``blurred/v<BLUR_VERSION>/<sha256>.key`` in the store: a new blur version makes new copies.
"""

from __future__ import annotations

import os
import tempfile
import threading
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from service.evidence import is_key, store_bytes, stored_file
from vision import BLUR_VERSION, Detector, blur_regions, find_private_regions

BLURRED_DIR = "blurred"
"""The store folder of the index of blurred copies."""
SCENE_CONF = 0.25
"""Confidence of the scene model's person and vehicle boxes (the one the blur recall was measured at)."""
JPEG_QUALITY = 90

_scene_lock = threading.Lock()


@cache
def _scene_model(weights: Path) -> Detector:
    return Detector(weights, conf=SCENE_CONF)


def index_path(evidence_dir: Path, key: str) -> Path:
    """The index file naming the blurred copy of image ``key`` under the current blur version."""
    return evidence_dir / BLURRED_DIR / f"v{BLUR_VERSION}" / f"{Path(key).stem}.key"


def blur_image(image: np.ndarray, scene_model: Path) -> np.ndarray:
    """A BGR uint8 image (H, W, 3) with its faces and number plates blurred; the scene model at
    ``scene_model`` gives the person and vehicle boxes."""
    with _scene_lock:
        detections = _scene_model(scene_model).detect([image])[0]
    return blur_regions(image, find_private_regions(image, detections))


def blurred_key(evidence_dir: Path, key: str, scene_model: Path) -> str:
    """The store key of the privacy-blurred copy of image ``key`` in the evidence store at
    ``evidence_dir``, made (and kept) on first use; LookupError when the store has no such image."""
    path = stored_file(evidence_dir, key)
    if path is None:
        raise LookupError(f"no image {key} in the evidence store")
    index = index_path(evidence_dir, key)
    if index.is_file():
        known = index.read_text(encoding="ascii").strip()
        if is_key(known) and stored_file(evidence_dir, known) is not None:
            return known
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise LookupError(f"image {key} cannot be decoded")
    suffix = path.suffix
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if suffix == ".jpg" else []
    ok, data = cv2.imencode(suffix, blur_image(image, scene_model), params)
    if not ok:
        raise LookupError(f"image {key} cannot be encoded again")
    copy = store_bytes(evidence_dir, data.tobytes())
    index.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=index.parent, prefix=".partial-")
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(copy)
    os.replace(partial, index)
    return copy
