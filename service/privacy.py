"""Privacy-blurred copies of evidence images: every image that leaves the reviewer and admin roles
(share links, reports for other roles, exports) goes through ``blurred_key``.

The copy has faces and number plates blurred (``vision.find_private_regions`` with the scene model's
person and vehicle boxes, then ``vision.blur_regions``), is stored in the evidence store like any
image, and is found again by (image SHA-256, ``vision.BLUR_VERSION``) through a small index object
``blurred/v<BLUR_VERSION>/<sha256>.key`` in the store (naming the copy's key): a new blur version makes
new copies.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path, PurePath

import cv2
import numpy as np

from service.evidence import has_image, is_key, read_image, store_bytes
from service.storage import ObjectStore
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


def index_name(key: str) -> str:
    """The store name of the index object naming the blurred copy of image ``key`` under the current
    blur version."""
    return f"{BLURRED_DIR}/v{BLUR_VERSION}/{PurePath(key).stem}.key"


def blur_image(image: np.ndarray, scene_model: Path) -> np.ndarray:
    """A BGR uint8 image (H, W, 3) with its faces and number plates blurred; the scene model at
    ``scene_model`` gives the person and vehicle boxes."""
    with _scene_lock:
        detections = _scene_model(scene_model).detect([image])[0]
    return blur_regions(image, find_private_regions(image, detections))


def blurred_key(store: ObjectStore, key: str, scene_model: Path) -> str:
    """The key of the privacy-blurred copy of image ``key`` in the evidence store ``store``, made (and
    kept) on first use; LookupError when the store has no such image."""
    if not has_image(store, key):
        raise LookupError(f"no image {key} in the evidence store")
    index = index_name(key)
    known = (store.read(index) or b"").decode("ascii", "replace").strip()
    if is_key(known) and store.exists(known):
        return known
    data = read_image(store, key)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise LookupError(f"image {key} cannot be decoded")
    suffix = PurePath(key).suffix
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if suffix == ".jpg" else []
    ok, encoded = cv2.imencode(suffix, blur_image(image, scene_model), params)
    if not ok:
        raise LookupError(f"image {key} cannot be encoded again")
    copy = store_bytes(store, encoded.tobytes())
    store.put_bytes(index, copy.encode("ascii"), "text/plain")
    return copy
