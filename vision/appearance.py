"""Appearance signatures: a short, fixed-length description of a sign's look, for telling neighbouring
signs apart and finding the same sign on another day (other light, size, slight angle, JPEG noise).

Three blocks, each scaled to unit length, so the cosine similarity of two signatures is the mean of the
blocks' cosines:

- lettering and outline: gradient-orientation histograms (8 unsigned orientations) in 8 x 4 cells of the
  grey box region resized to 96 x 32 pixels, each cell normalised (lighting-proof);
- colour layout: the CIELAB colour of 8 x 2 cells, lightness standardised over the cells;
- shape: the box's log aspect ratio, soft-binned over 10 centres (a sign keeps its proportions).

Measured against colour histograms and the detector's own backbone features on the shop-front validation
signs and the patrol clip (``bench/signatures.py``; figures in README "Signs: text and appearance"). It costs well
under a millisecond per crop and needs no model.
"""

from __future__ import annotations

import base64

import cv2
import numpy as np

SIGNATURE_VERSION = "s1"
"""Prefix of encoded signatures; signatures of another version are not compared."""
GRADIENT_SIZE = (96, 32)  # (w, h) pixels the region is resized to for gradients
GRADIENT_CELLS = (8, 4)  # (columns, rows)
ORIENTATIONS = 8
COLOUR_CELLS = (8, 2)  # (columns, rows)
ASPECT_CENTRES = np.linspace(-1.5, 3.0, 10)  # log(w / h) of a tall projecting sign ... a long shop sign
ASPECT_WIDTH = 0.35
SIGNATURE_LENGTH = (
    GRADIENT_CELLS[0] * GRADIENT_CELLS[1] * ORIENTATIONS + 3 * COLOUR_CELLS[0] * COLOUR_CELLS[1] + len(ASPECT_CENTRES)
)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def box_region(image: np.ndarray, box: np.ndarray | list[float]) -> np.ndarray:
    """The pixels of a (H, W, 3) image inside an x1, y1, x2, y2 box (clipped to the image, at least 1 x 1)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    left, top = int(np.clip(x1, 0, w - 1)), int(np.clip(y1, 0, h - 1))
    right, bottom = int(np.clip(round(x2), left + 1, w)), int(np.clip(round(y2), top + 1, h))
    return image[top:bottom, left:right]


def _gradients(region: np.ndarray) -> np.ndarray:
    """(columns * rows * ORIENTATIONS,) per-cell unit histograms of gradient orientation, weighted by magnitude."""
    grey = cv2.cvtColor(cv2.resize(region, GRADIENT_SIZE, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    grey = grey.astype(np.float32)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    magnitude = np.hypot(gx, gy)
    orientation = np.minimum((np.arctan2(gy, gx) % np.pi / np.pi * ORIENTATIONS).astype(int), ORIENTATIONS - 1)
    cols, rows = GRADIENT_CELLS
    h, w = grey.shape
    cells = []
    for r in range(rows):
        for c in range(cols):
            window = (slice(r * h // rows, (r + 1) * h // rows), slice(c * w // cols, (c + 1) * w // cols))
            hist = np.bincount(orientation[window].ravel(), magnitude[window].ravel(), ORIENTATIONS)
            cells.append(_unit(hist))
    return np.concatenate(cells)


def _colours(region: np.ndarray) -> np.ndarray:
    """(3 * columns * rows,) CIELAB of each cell: lightness standardised over the cells, a/b in units of 32."""
    cols, rows = COLOUR_CELLS
    small = cv2.resize(region, (cols * 8, rows * 8), interpolation=cv2.INTER_AREA)
    lab = cv2.resize(cv2.cvtColor(small, cv2.COLOR_BGR2LAB), (cols, rows), interpolation=cv2.INTER_AREA)
    lab = lab.astype(np.float32)
    lightness = (lab[..., 0] - lab[..., 0].mean()) / (lab[..., 0].std() + 5.0)
    return np.concatenate([lightness.ravel(), ((lab[..., 1:] - 128.0) / 32.0).ravel()])


def _aspect(box: np.ndarray | list[float]) -> np.ndarray:
    x1, y1, x2, y2 = (float(v) for v in box)
    ratio = np.log(max(x2 - x1, 1.0) / max(y2 - y1, 1.0))
    weights: np.ndarray = np.exp(-0.5 * ((ratio - ASPECT_CENTRES) / ASPECT_WIDTH) ** 2)
    return weights


def signature(image: np.ndarray, box: np.ndarray | list[float]) -> np.ndarray:
    """(SIGNATURE_LENGTH,) float32 signature of the object in ``box`` (x1, y1, x2, y2 pixels) of a
    (H, W, 3) BGR image; compare two with ``vision.identity.signature_similarity``."""
    region = box_region(image, box)
    blocks = (_gradients(region), _colours(region), _aspect(box))
    return np.concatenate([_unit(b) for b in blocks]).astype(np.float32)


def encode_signature(vector: np.ndarray) -> str:
    """Compact text form for JSON: ``"s1:"`` + base64 of the values as signed bytes (value x 127; every
    value of a signature lies in -1..1), 423 characters. Decoding gives the vector to within 0.4%."""
    raw = np.clip(np.round(np.asarray(vector, dtype=np.float32) * 127), -127, 127).astype(np.int8).tobytes()
    return f"{SIGNATURE_VERSION}:{base64.b64encode(raw).decode('ascii')}"


def decode_signature(text: str | None) -> np.ndarray | None:
    """The float32 vector of an encoded signature; None for None, another version or a malformed value."""
    if not text or not text.startswith(f"{SIGNATURE_VERSION}:"):
        return None
    try:
        raw = base64.b64decode(text[len(SIGNATURE_VERSION) + 1 :], validate=True)
    except ValueError:
        return None
    if len(raw) != SIGNATURE_LENGTH:
        return None
    return np.frombuffer(raw, dtype=np.int8).astype(np.float32) / 127
