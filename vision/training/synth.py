"""Synthetic training images with exact labels, for what no public dataset shows.

Street stalls (``vendor_stall``), goods displayed outside shops (``goods_display``) and freestanding
lightboxes (``lightbox``) are composed on real street backgrounds: object cut-outs (instance polygons of
umbrellas, tables, chairs, fruit, vegetables, bottles, bicycles, people...) are pasted onto procedural
carts, cloths, crates, racks and sign boxes standing on the lower part of a shop-front photo. Every
pasted cut-out keeps its own COCO label when at least half of it stays visible; each composition gets
one box around all of its visible pixels. This is a bootstrap: the images look composed, and a model
trained on them needs real examples (reviewers' exports) to become dependable.

Patrol-scale images shrink labeled photos onto larger canvases so that signs appear as small and far
away as a patrol camera sees them; optionally seen obliquely (a facade passed by a forward-looking
camera), with unlabeled traffic signs beside them (hard negatives), blurred by motion, noisy and
JPEG-compressed like a dashcam's frames (``PatrolLook``).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vision import Detections, box_area
from vision.training.evaluate import LabeledSplit, read_image

GOODS = (
    "banana",
    "apple",
    "orange",
    "broccoli",
    "carrot",
    "bottle",
    "cup",
    "bowl",
    "vase",
    "donut",
    "cake",
    "book",
    "handbag",
    "teddy bear",
    "potted plant",
    "wine glass",
    "sandwich",
    "suitcase",
    "backpack",
)
SYNTH_CLASSES = ("vendor_stall", "goods_display", "lightbox")


@dataclass
class Cutout:
    """An object cut out of a photo: BGR pixels (h x w x 3 uint8), its mask (h x w uint8, 255 inside) and label."""

    image: np.ndarray
    mask: np.ndarray
    label: str


def load_cutouts(split: LabeledSplit, min_side: int = 24) -> dict[str, list[Cutout]]:
    """Cut-outs of the split's instance polygons (YOLO-seg label files), by label.

    Keeps whole objects only: polygons at least ``min_side`` pixels each way that do not touch the image
    border and fill at least a quarter of their box.
    """
    out: dict[str, list[Cutout]] = {}
    for path in split.images:
        label_file = split.label_path(path)
        if not label_file.is_file():
            continue
        image = None
        for line in label_file.read_text().splitlines():
            values = line.split()
            if len(values) < 7 or int(values[0]) not in split.keep:
                continue
            if image is None:
                image = read_image(path)
            h, w = image.shape[:2]
            poly = (np.array(values[1:], dtype=np.float32).reshape(-1, 2) * [w, h]).round().astype(np.int32)
            x1, y1 = poly.min(axis=0)
            x2, y2 = poly.max(axis=0) + 1
            if min(x2 - x1, y2 - y1) < min_side or x1 <= 1 or y1 <= 1 or x2 >= w - 1 or y2 >= h - 1:
                continue
            mask = np.zeros((y2 - y1, x2 - x1), np.uint8)
            cv2.fillPoly(mask, [poly - [x1, y1]], 255)
            if mask.mean() < 255 / 4:
                continue
            cut = Cutout(image[y1:y2, x1:x2].copy(), mask, split.keep[int(values[0])])
            out.setdefault(cut.label, []).append(cut)
    return out


class Canvas:
    """A background being composed: its pixels, which pasted piece owns each pixel, and each piece's label.

    owner: (H, W) int32 piece index, -1 where the background shows.
    """

    def __init__(self, image: np.ndarray) -> None:
        self.image = image.copy()
        self.owner = np.full(image.shape[:2], -1, np.int32)
        self.labels: list[str | None] = []
        self.sizes: list[int] = []

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[:2]

    def paste(self, pixels: np.ndarray, mask: np.ndarray, x: int, y: int, label: str | None = None) -> int:
        """Alpha-blend pixels (h x w x 3) through mask (h x w, 0..255) with top-left at (x, y); the piece id."""
        piece = len(self.labels)
        H, W = self.shape
        h, w = mask.shape
        x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
        self.labels.append(label)
        self.sizes.append(int((mask > 0).sum()))
        if x2 <= x1 or y2 <= y1:
            return piece
        alpha = mask[y1 - y : y2 - y, x1 - x : x2 - x].astype(np.float32)[..., None] / 255.0
        src = pixels[y1 - y : y2 - y, x1 - x : x2 - x].astype(np.float32)
        region = self.image[y1:y2, x1:x2]
        region[:] = (src * alpha + region * (1.0 - alpha)).round().astype(np.uint8)
        self.owner[y1:y2, x1:x2][alpha[..., 0] > 0] = piece
        return piece

    def box(self, pieces: Sequence[int]) -> np.ndarray | None:
        """Tight xyxy box (pixels) around the visible pixels of ``pieces``; None if none is visible."""
        ys, xs = np.nonzero(np.isin(self.owner, list(pieces)))
        if not len(xs):
            return None
        return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)

    def visible(self, piece: int) -> float:
        """Fraction of a piece's pixels still visible."""
        return float((self.owner == piece).sum()) / max(self.sizes[piece], 1)


def _soft(mask: np.ndarray) -> np.ndarray:
    """A mask with its edge softened over about one pixel."""
    return cv2.GaussianBlur(mask, (3, 3), 0)


def _block(w: float, h: float, color: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """A solid w x h block: pixels and a full mask."""
    w, h = max(int(w), 1), max(int(h), 1)
    return np.full((h, w, 3), color, np.uint8), np.full((h, w), 255, np.uint8)


def _trapezoid(w: float, h: float, top_inset: float, bottom_inset: float) -> np.ndarray:
    """A w x h mask of a trapezoid whose top and bottom edges are inset by the given pixels on each side."""
    w, h = max(int(w), 2), max(int(h), 2)
    corners = [[top_inset, 0], [w - 1 - top_inset, 0], [w - 1 - bottom_inset, h - 1], [bottom_inset, h - 1]]
    return cv2.fillConvexPoly(np.zeros((h, w), np.uint8), np.array(corners, np.int32), 255)


def _color(rng: np.random.Generator, lo: int = 30, hi: int = 230) -> tuple[int, int, int]:
    b, g, r = (int(v) for v in rng.integers(lo, hi, 3))
    return b, g, r


Kind = Callable[[Canvas, float, float, float, np.random.Generator], list[int]]


class Composer:
    """Composes stalls, goods displays and lightboxes onto backgrounds, from cut-outs and sign faces.

    cutouts: label -> cut-outs (see ``load_cutouts``); faces: BGR crops of real signs used as lightbox faces.
    A composition is drawn around a point (x, ground) in pixels, ``size`` pixels tall at most.
    """

    def __init__(self, cutouts: dict[str, list[Cutout]], faces: Sequence[np.ndarray] = ()) -> None:
        upright: dict[str, Callable[[Cutout], bool]] = {  # open umbrellas seen from the side; people standing
            "umbrella": lambda c: c.mask.shape[1] >= 1.3 * c.mask.shape[0],
            "person": lambda c: c.mask.shape[0] >= 1.8 * c.mask.shape[1],
        }
        cutouts = {k: [c for c in v if k not in upright or upright[k](c)] for k, v in cutouts.items()}
        self.cutouts = {k: v for k, v in cutouts.items() if v}
        self.goods = [g for g in GOODS if g in self.cutouts]
        self.faces = [f for f in faces if min(f.shape[:2]) >= 16]
        self.kinds: dict[str, Kind] = {
            "vendor_stall": self._stall,
            "goods_display": self._goods_display,
            "lightbox": self._lightbox,
        }

    def _cutout(
        self, canvas: Canvas, label: str, height: float, x: float, bottom: float, rng: np.random.Generator
    ) -> int | None:
        """Paste a random cut-out of ``label`` scaled to ``height`` px, centred on x, its bottom at ``bottom``."""
        if label not in self.cutouts:
            return None
        cut = self.cutouts[label][rng.integers(len(self.cutouts[label]))]
        w, h = max(int(cut.image.shape[1] * height / cut.image.shape[0]), 2), max(int(height), 2)
        pixels = cv2.resize(cut.image, (w, h), interpolation=cv2.INTER_AREA)
        pixels = np.clip(pixels.astype(np.float32) * rng.uniform(0.8, 1.2), 0, 255).astype(np.uint8)
        mask = cv2.resize(cut.mask, (w, h), interpolation=cv2.INTER_LINEAR)
        if rng.random() < 0.5:
            pixels, mask = np.ascontiguousarray(pixels[:, ::-1]), np.ascontiguousarray(mask[:, ::-1])
        return canvas.paste(pixels, _soft(mask), int(x - w / 2), int(bottom - h), label)

    def _goods_row(
        self, canvas: Canvas, x1: float, x2: float, surface: float, height: float, rng: np.random.Generator
    ) -> list[int]:
        """Goods about ``height`` px tall side by side on a surface from x1 to x2 at y = ``surface``."""
        pieces = []
        step = max(height * 0.7, 4.0)
        for x in np.arange(x1 + step / 2, x2 - step / 4, step) if self.goods else ():
            label = self.goods[rng.integers(len(self.goods))]
            bottom = surface + rng.uniform(0, height * 0.1)
            x_jitter, h = x + rng.normal(0, step / 10), height * rng.uniform(0.7, 1.1)
            piece = self._cutout(canvas, label, h, x_jitter, bottom, rng)
            pieces += [piece] if piece is not None else []
        return pieces

    def _stall(self, canvas: Canvas, x: float, ground: float, size: float, rng: np.random.Generator) -> list[int]:
        """A vendor's cart, table or ground cloth with goods, often under an umbrella or canopy.

        A vendor may stand behind it and a stool beside it: labeled on their own, not part of the stall.
        """
        th = size * 0.45  # table height
        tw = th * rng.uniform(1.6, 2.8)
        if rng.random() < 0.5:
            vendor_x = x + rng.uniform(-0.3, 0.3) * tw
            self._cutout(canvas, "person", th * rng.uniform(2.2, 2.8), vendor_x, ground - th * 0.2, rng)
        if rng.random() < 0.25:
            self._cutout(canvas, "chair", th * 1.2, x + rng.choice([-1, 1]) * tw * 0.7, ground, rng)
        kind = rng.choice(["cart", "table", "cloth"], p=[0.45, 0.25, 0.3])
        if kind == "cloth":
            ch = max(th * 0.18, 3)
            cloth = canvas.paste(
                _block(tw, ch, _color(rng))[0], _trapezoid(tw, ch, ch, 0), int(x - tw / 2), int(ground - ch)
            )
            return [cloth, *self._goods_row(canvas, x - tw / 2, x + tw / 2, ground - ch / 2, th * 0.5, rng)]
        pieces = []
        table = self._cutout(canvas, "dining table", th, x, ground, rng) if kind == "table" else None
        if table is not None:
            pieces.append(table)
        else:
            body, mask = _block(tw, th * 0.6, _color(rng))
            edge = (body.shape[1] - 1, body.shape[0] - 1)
            cv2.rectangle(body, (0, 0), edge, _color(rng, 0, 80), max(int(th / 20), 1))
            pieces.append(canvas.paste(body, mask, int(x - tw / 2), int(ground - th)))
            r = max(int(th * 0.2), 2)
            wheel = _soft(cv2.circle(np.zeros((2 * r, 2 * r), np.uint8), (r, r), r - 1, 255, -1))
            tyre = np.full((2 * r, 2 * r, 3), 25, np.uint8)
            for wx in (x - tw / 2 + r * 1.5, x + tw / 2 - r * 1.5):
                pieces.append(canvas.paste(tyre, wheel, int(wx - r), int(ground - 2 * r)))
        top = ground - th
        if rng.random() < 0.6:
            pole_h = th * rng.uniform(0.8, 1.4)
            pieces.append(canvas.paste(*_block(max(th * 0.04, 2), pole_h, (60, 60, 60)), int(x), int(top - pole_h)))
            roof_w, roof_y = tw * rng.uniform(1.0, 1.4), top - pole_h
            umbrella = self._cutout(canvas, "umbrella", roof_w * 0.4, x, roof_y + roof_w * 0.1, rng)
            if umbrella is None or rng.random() < 0.3:
                roof_h, stripe = max(roof_w * 0.2, 3), max(int(roof_w / 6), 2)
                roof, other = _block(roof_w, roof_h, _color(rng))[0], _color(rng)
                for sx in range(0, roof.shape[1], 2 * stripe):
                    roof[:, sx : sx + stripe] = other
                mask = _trapezoid(roof_w, roof_h, roof_h, 0)
                pieces.append(canvas.paste(roof, mask, int(x - roof_w / 2), int(roof_y - roof_h / 2)))
            else:
                pieces.append(umbrella)
        return pieces + self._goods_row(canvas, x - tw / 2, x + tw / 2, top + th * 0.05, th * 0.45, rng)

    def _goods_display(
        self, canvas: Canvas, x: float, ground: float, size: float, rng: np.random.Generator
    ) -> list[int]:
        """Crates, a rack or a pile of cardboard boxes outside a shop, with goods on them."""
        kind = rng.choice(["crates", "rack", "boxes"], p=[0.4, 0.35, 0.25])
        if kind == "rack":
            return self._rack(canvas, x, ground, size, rng)
        pieces = []
        ch = size * rng.uniform(0.2, 0.3)
        cw = ch * rng.uniform(1.2, 1.8)
        columns = int(rng.integers(2, 5))
        left = x - columns * cw / 2
        line = max(int(ch / 20), 1)
        for c in range(columns):
            stack = int(rng.integers(1, 4))
            color = _color(rng) if kind == "crates" else (int(rng.integers(60, 100)), int(rng.integers(110, 150)), 160)
            for level in range(stack):
                crate, mask = _block(cw, ch, color)
                if kind == "crates":  # slats
                    for k in range(1, 4):
                        cv2.line(crate, (0, int(ch * k / 4)), (int(cw), int(ch * k / 4)), (20, 20, 20), line)
                else:  # tape
                    cv2.line(crate, (int(cw / 2), 0), (int(cw / 2), int(ch)), (200, 200, 200), 2 * line)
                pieces.append(canvas.paste(crate, mask, int(left + c * cw), int(ground - (level + 1) * ch)))
            top = ground - stack * ch
            pieces += self._goods_row(canvas, left + c * cw, left + (c + 1) * cw, top + ch * 0.05, ch * 0.8, rng)
        return pieces

    def _rack(self, canvas: Canvas, x: float, ground: float, size: float, rng: np.random.Generator) -> list[int]:
        """A shelf rack with goods on every shelf."""
        rh, rw = size, size * rng.uniform(0.5, 1.0)
        shelves, frame = int(rng.integers(3, 5)), _color(rng, 90, 200)
        post, left = max(rw * 0.04, 2), x - rw / 2
        pieces = [canvas.paste(*_block(post, rh, frame), int(px), int(ground - rh)) for px in (left, left + rw - post)]
        for k in range(shelves):
            sy = ground - rh * k / shelves - post
            pieces.append(canvas.paste(*_block(rw, post, frame), int(left), int(sy)))
            pieces += self._goods_row(canvas, left + post, left + rw - post, sy, rh / shelves * 0.75, rng)
        return pieces

    def _lightbox(self, canvas: Canvas, x: float, ground: float, size: float, rng: np.random.Generator) -> list[int]:
        """A freestanding lit sign box on a plinth, or an A-frame, on the pavement."""
        h = int(size * rng.uniform(0.6, 1.0))
        w = max(int(h / rng.uniform(1.3, 3.0)), 8)
        lit = np.clip(self._face(w, h, rng) * rng.uniform(1.1, 1.5) + rng.uniform(10, 50), 0, 255).astype(np.uint8)
        border = max(int(w * 0.06), 2)
        framed = cv2.copyMakeBorder(
            lit, border, border, border, border, cv2.BORDER_CONSTANT, value=_color(rng, 20, 200)
        )
        fh, fw = framed.shape[:2]
        if rng.random() < 0.4:  # A-frame: narrower at the top
            inset = fw * rng.uniform(0.1, 0.2)
            quad = np.array([[inset, 0], [fw - inset, 0], [fw, fh], [0, fh]], np.float32)
            warp = cv2.getPerspectiveTransform(np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], np.float32), quad)
            framed = cv2.warpPerspective(framed, warp, (fw, fh))
            return [canvas.paste(framed, _soft(_trapezoid(fw, fh, inset, 0)), int(x - fw / 2), int(ground - fh))]
        base_h = max(fh * 0.06, 2)
        base = canvas.paste(*_block(fw * 1.1, base_h, (40, 40, 40)), int(x - fw * 0.55), int(ground - base_h))
        box = canvas.paste(framed, np.full((fh, fw), 255, np.uint8), int(x - fw / 2), int(ground - base_h - fh))
        return [base, box]

    def _face(self, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
        """A w x h float32 BGR lightbox face: a real sign crop, turned upright, or letters on a bright panel."""
        if self.faces and rng.random() < 0.6:
            face = self.faces[rng.integers(len(self.faces))]
            if face.shape[1] > face.shape[0] and rng.random() < 0.7:
                face = np.rot90(face, 1 if rng.random() < 0.5 else 3)
            return cv2.resize(np.ascontiguousarray(face), (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
        face = np.full((h, w, 3), _color(rng, 120, 255), np.uint8)
        letters = list(string.ascii_uppercase + string.digits)
        for k in range(int(rng.integers(2, 6))):
            text = "".join(rng.choice(letters, int(rng.integers(1, 4))))
            org, scale = (int(w * 0.1), int(h * (k + 1) / 6)), w / 60.0
            cv2.putText(face, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, _color(rng, 0, 120), max(int(scale * 2), 1))
        return face.astype(np.float32)

    def compose(
        self, background: np.ndarray, boxes: Detections, rng: np.random.Generator, count: int | None = None
    ) -> SynthSample:
        """Place 1-3 compositions (``count`` if given) on the lower part of a labeled background.

        Background boxes less than half visible afterwards are dropped; the others are kept as they were.
        """
        canvas = Canvas(background)
        H, W = canvas.shape
        groups: list[tuple[str, list[int]]] = []
        taken: list[tuple[float, float]] = []
        for _ in range(count if count is not None else int(rng.integers(1, 4))):
            kind = str(rng.choice(list(self.kinds), p=[0.4, 0.35, 0.25]))
            size = H * rng.uniform(0.25, 0.5)
            for _try in range(10):  # prefer a free stretch of pavement
                x, ground = rng.uniform(0.15, 0.85) * W, rng.uniform(0.85, 0.99) * H
                span = (x - size * 0.8, x + size * 0.8)
                if all(span[1] < a or span[0] > b for a, b in taken):
                    break
            taken.append(span)
            groups.append((kind, self.kinds[kind](canvas, x, ground, size, rng)))
        out, members = [], []
        for kind, pieces in groups:
            box = canvas.box(pieces)
            if box is not None:
                out.append(Detections.labeled(box[None], [kind]))
                members.append(tuple(pieces))
        for piece, label in enumerate(canvas.labels):
            box = canvas.box([piece])
            if label is not None and box is not None and canvas.visible(piece) >= 0.5:
                out.append(Detections.labeled(box[None], [label]))
                members.append((piece,))
        kept = _visible_fraction(canvas.owner, boxes.xyxy) >= 0.5
        out.append(boxes[kept])
        members += [()] * int(kept.sum())
        return SynthSample(canvas.image, Detections.concat(out), canvas.owner, members)


def _visible_fraction(owner: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """(N,) fraction of each box's pixels where the background still shows."""
    out = np.ones(len(xyxy), np.float32)
    H, W = owner.shape
    for i, (x1, y1, x2, y2) in enumerate(np.round(xyxy).astype(int)):
        region = owner[max(y1, 0) : min(y2, H), max(x1, 0) : min(x2, W)]
        if region.size:
            out[i] = float((region < 0).mean())
    return out


@dataclass
class SynthSample:
    """A composed image (H x W x 3 BGR) and its boxes.

    owner: (H, W) piece index of each pixel (-1: background); members: for each box, the pieces it was
    drawn around (empty for boxes kept from the background).
    """

    image: np.ndarray
    boxes: Detections
    owner: np.ndarray
    members: list[tuple[int, ...]]


def sign_faces(image: np.ndarray, boxes: Detections, labels: Sequence[str]) -> list[np.ndarray]:
    """Crops of the boxes with one of ``labels``, to serve as lightbox faces."""
    out = []
    H, W = image.shape[:2]
    for (x1, y1, x2, y2), label in zip(np.round(boxes.xyxy).astype(int), boxes.labels):
        if label in labels and x2 - x1 >= 16 and y2 - y1 >= 16:
            out.append(image[max(y1, 0) : min(y2, H), max(x1, 0) : min(x2, W)].copy())
    return out


def shrink_paste(canvas: np.ndarray, image: np.ndarray, boxes: Detections, scale: float, x: int, y: int) -> Detections:
    """Paste ``image`` resized by ``scale`` with its top-left at (x, y) on ``canvas`` (in place).

    Returns its boxes in canvas pixels, clipped to the canvas; boxes less than half inside are dropped.
    """
    h, w = (max(round(n * scale), 1) for n in image.shape[:2])
    small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    H, W = canvas.shape[:2]
    x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x2 > x1 and y2 > y1:
        canvas[y1:y2, x1:x2] = small[y1 - y : y2 - y, x1 - x : x2 - x]
    moved = boxes.scaled(scale, x, y)
    clipped = np.clip(moved.xyxy, 0, [W, H, W, H])
    keep = box_area(clipped) >= 0.5 * np.maximum(box_area(moved.xyxy), 1e-6)
    return Detections.labeled(clipped[keep], moved.labels[keep])


def patrol_frame(
    image: np.ndarray,
    boxes: Detections,
    rng: np.random.Generator,
    size: tuple[int, int] = (1920, 1080),
    scale: float = 1 / 3,
) -> tuple[np.ndarray, Detections]:
    """A labeled photo shrunk by ``scale`` at a random place, wholly inside, on a grey W x H canvas."""
    W, H = size
    canvas = np.full((H, W, 3), 114, np.uint8)
    h, w = (round(n * scale) for n in image.shape[:2])
    x, y = int(rng.integers(0, max(W - w, 0) + 1)), int(rng.integers(0, max(H - h, 0) + 1))
    return canvas, shrink_paste(canvas, image, boxes, scale, x, y)


@dataclass(frozen=True)
class PatrolLook:
    """How patrol-scale images are degraded to look like dashcam frames; all off by default.

    oblique: up to this fraction of a photo's far edge is lost to perspective (a facade passed by a
    forward-looking camera), with its width shrunk alike; negatives: chance of 1-3 unlabeled traffic signs
    per image; blur: (min, max) motion blur in pixels; noise: sensor noise, grey levels (standard
    deviation); jpeg: (min, max) JPEG quality the image is re-compressed at (0: not).
    """

    oblique: float = 0.0
    negatives: float = 0.0
    blur: tuple[float, float] = (0.0, 0.0)
    noise: float = 0.0
    jpeg: tuple[int, int] = (0, 0)


def oblique_view(
    image: np.ndarray, boxes: Detections, rng: np.random.Generator, strength: float
) -> tuple[np.ndarray, Detections]:
    """A photo seen from the side: its left or right edge shrunk toward a horizon row by up to ``strength``
    of its height, and its width by as much; boxes follow (bounding boxes of their warped corners).
    Corners the photo no longer covers repeat its edge pixels."""
    h, w = image.shape[:2]
    s = rng.uniform(0, strength)
    horizon = rng.uniform(0.3, 0.8) * h
    new_w = max(round(w * (1 - s)), 2)
    top, bottom = horizon * s, h - (h - horizon) * s  # the far edge's ends
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    far_right = rng.random() < 0.5
    far = (
        [[0, 0], [new_w, top], [new_w, bottom], [0, h]]
        if far_right
        else [[0, top], [new_w, 0], [new_w, h], [0, bottom]]
    )
    dst = np.array(far, dtype=np.float32)
    warp = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(image, warp, (new_w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    if not len(boxes):
        return out, boxes
    x1, y1, x2, y2 = boxes.xyxy.T
    corners = np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1), np.stack([x2, y2], 1), np.stack([x1, y2], 1)], 1)
    moved = cv2.perspectiveTransform(corners.reshape(-1, 1, 2).astype(np.float32), warp).reshape(-1, 4, 2)
    xyxy = np.concatenate([moved.min(axis=1), moved.max(axis=1)], axis=1)
    return out, Detections.labeled(np.clip(xyxy, 0, [new_w, h, new_w, h]), boxes.labels)


def traffic_sign(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A procedural road sign on a pole, about ``size`` pixels tall: pixels (h x w x 3) and mask (h x w).

    Round, triangular, octagonal or rectangular direction signs, in road-sign colours with symbols or
    letters: things a patrol camera passes that are not shop signs or ads.
    """
    face = max(int(size * rng.uniform(0.3, 0.45)), 8)
    kind = rng.choice(["round", "triangle", "octagon", "direction"])
    fw = int(face * rng.uniform(1.6, 2.6)) if kind == "direction" else face
    pixels = np.zeros((face, fw, 3), np.uint8)
    mask = np.zeros((face, fw), np.uint8)
    red, blue, white = (40, 40, 200), (160, 80, 20), (245, 245, 245)
    c, r = (fw // 2, face // 2), face // 2 - 1
    if kind == "round":
        ring = red if rng.random() < 0.6 else blue
        cv2.circle(mask, c, r, 255, -1)
        cv2.circle(pixels, c, r, ring, -1)
        inner = white if ring == red else blue
        cv2.circle(pixels, c, int(r * 0.75), inner, -1)
        if ring == red:
            cv2.putText(
                pixels,
                str(int(rng.choice([20, 30, 40, 60]))),
                (int(fw * 0.2), int(face * 0.65)),
                cv2.FONT_HERSHEY_SIMPLEX,
                face / 60,
                (20, 20, 20),
                max(face // 20, 1),
            )
        else:
            cv2.arrowedLine(
                pixels, (c[0], int(face * 0.8)), (c[0], int(face * 0.2)), white, max(face // 10, 1), tipLength=0.4
            )
    elif kind == "triangle":
        tri = np.array([[c[0], 1], [fw - 2, face - 2], [1, face - 2]], np.int32)
        cv2.fillConvexPoly(mask, tri, 255)
        cv2.fillConvexPoly(pixels, tri, red)
        inset = np.array(
            [[c[0], face // 4], [fw - face // 5, face - face // 8], [face // 5, face - face // 8]], np.int32
        )
        cv2.fillConvexPoly(pixels, inset, (60, 220, 250) if rng.random() < 0.5 else white)
    elif kind == "octagon":
        angles = np.deg2rad(22.5 + 45 * np.arange(8))
        octagon = np.stack([c[0] + r * np.cos(angles), c[1] + r * np.sin(angles)], 1).astype(np.int32)
        cv2.fillConvexPoly(mask, octagon, 255)
        cv2.fillConvexPoly(pixels, octagon, red)
        cv2.putText(
            pixels,
            "STOP",
            (int(fw * 0.12), int(face * 0.6)),
            cv2.FONT_HERSHEY_SIMPLEX,
            face / 110,
            white,
            max(face // 25, 1),
        )
    else:  # a blue or green direction panel: letters and an arrow, the hardest look-alike of a shop sign
        mask[:] = 255
        pixels[:] = blue if rng.random() < 0.6 else (60, 120, 20)
        cv2.rectangle(pixels, (1, 1), (fw - 2, face - 2), white, max(face // 25, 1))
        letters = "".join(rng.choice(list(string.ascii_uppercase), int(rng.integers(3, 8))))
        cv2.putText(
            pixels,
            letters,
            (int(fw * 0.08), int(face * 0.45)),
            cv2.FONT_HERSHEY_SIMPLEX,
            face / 70,
            white,
            max(face // 25, 1),
        )
        cv2.arrowedLine(
            pixels,
            (int(fw * 0.2), int(face * 0.75)),
            (int(fw * 0.8), int(face * 0.75)),
            white,
            max(face // 15, 1),
            tipLength=0.2,
        )
    pole_h = int(size - face)
    pole_w = max(size // 30, 2)
    full = np.zeros((face + pole_h, fw, 3), np.uint8)
    full_mask = np.zeros(full.shape[:2], np.uint8)
    full[:face], full_mask[:face] = pixels, mask
    x = fw // 2 - pole_w // 2
    full[face:, x : x + pole_w] = (110, 110, 110)
    full_mask[face:, x : x + pole_w] = 255
    return full, _soft(full_mask)


def dashcam_look(image: np.ndarray, rng: np.random.Generator, look: PatrolLook) -> np.ndarray:
    """``image`` (H x W x 3 BGR) with motion blur, sensor noise and JPEG compression as ``look`` says."""
    out = image
    length = rng.uniform(*look.blur)
    if length >= 1.5:
        k = int(np.ceil(length)) | 1
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0
        angle = rng.uniform(-20, 20)  # mostly along the road
        rotation = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), angle, 1.0)
        turned = cv2.warpAffine(kernel, rotation, (k, k))
        out = cv2.filter2D(out, -1, (turned / max(float(turned.sum()), 1e-6)).astype(np.float32))
    if look.noise > 0:
        out = np.clip(out + rng.normal(0, look.noise, out.shape), 0, 255).astype(np.uint8)
    if look.jpeg[1] > 0:
        quality = int(rng.integers(look.jpeg[0], look.jpeg[1] + 1))
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            out = decoded
    return out


def patrol_tile(
    items: Sequence[tuple[np.ndarray, Detections]],
    rng: np.random.Generator,
    size: int = 640,
    scale: tuple[float, float] = (0.25, 0.5),
    look: PatrolLook = PatrolLook(),
) -> tuple[np.ndarray, Detections]:
    """A size x size window of a patrol frame: 1-2 labeled photos shrunk by ``scale`` onto a plain,
    coloured or blurred-photo background; a photo may run past the window's edges like in a real tile.
    ``look`` may turn the photos oblique, add unlabeled traffic signs and degrade the result like a dashcam."""
    kind = rng.choice(["grey", "colour", "blur"])
    if kind == "blur":
        back = items[int(rng.integers(len(items)))][0]
        canvas = cv2.GaussianBlur(cv2.resize(back, (size, size)), (0, 0), size / 25)
    else:
        tone = (114, 114, 114) if kind == "grey" else _color(rng)
        canvas = np.full((size, size, 3), tone, np.uint8)
    out: list[Detections] = []
    photos = int(rng.integers(1, 3)) * max(size // 640, 1) ** 2  # as many per 640 x 640 px as in a v1 tile
    for k in range(min(photos, len(items))):
        image, boxes = items[int(rng.integers(len(items)))]
        if look.oblique > 0:
            image, boxes = oblique_view(image, boxes, rng, look.oblique)
        s = rng.uniform(*scale)
        h, w = (int(n * s) for n in image.shape[:2])
        x = int(rng.integers(-w // 4, max(size - 3 * w // 4, -w // 4 + 1)))
        y = int(rng.integers(-h // 4, max(size - 3 * h // 4, -h // 4 + 1)))
        if k and out:  # a later photo hides the boxes of earlier ones it covers
            covered = Detections.concat(out)
            hidden = _covered(covered.xyxy, (x, y, x + w, y + h))
            out = [covered[~hidden]]
        out.append(shrink_paste(canvas, image, boxes, s, x, y))
    boxes = Detections.concat(out)
    if look.negatives > 0 and rng.random() < look.negatives:
        facade = float(np.mean([image.shape[0] for image, _ in items]))  # a photo's height: a facade's
        for _ in range(int(rng.integers(1, 4))):  # a sign on its pole: a quarter to 40% of a facade's height
            height = facade * rng.uniform(*scale) * rng.uniform(0.25, 0.4)
            sign, mask = traffic_sign(rng, max(int(height), 12))
            x, y = int(rng.integers(0, size - sign.shape[1] // 2)), int(rng.integers(0, size - sign.shape[0] // 2))
            holder = Canvas(canvas)
            holder.paste(sign, mask, x, y)
            canvas = holder.image
            hidden = _covered(boxes.xyxy, (x, y, x + sign.shape[1], y + sign.shape[0]))
            boxes = boxes[~hidden]
    if look != PatrolLook():
        canvas = dashcam_look(canvas, rng, look)
    return canvas, boxes


def _covered(xyxy: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """(N,) bool: boxes more than half covered by rect (x1, y1, x2, y2)."""
    inside = np.concatenate([np.maximum(xyxy[:, :2], rect[:2]), np.minimum(xyxy[:, 2:], rect[2:])], axis=1)
    covered: np.ndarray = box_area(inside) > 0.5 * np.maximum(box_area(xyxy), 1e-6)
    return covered
