"""Rendered Chinese mainland number plates set into real photos of vehicles, with their true boxes, for
measuring plate recall where no labelled plates of our streets exist.

Plates follow GA 36 in look: blue with white characters (small cars, 440 x 140 mm), yellow with black
(large vehicles: buses, trucks), gradient green with black (new-energy cars, 480 x 140 mm, 8 characters),
a province character, the issuing office's letter, a dot, then the serial ("晋E·12345", "晋E·D12345").
Each is drawn with a CJK font, warped as a camera sees a plate on a vehicle's front or back (turned up to
about 40 degrees, tilted a little), shrunk to 0.12-0.3 of the vehicle's width, placed low and near the
middle of the vehicle's box, blurred to the scene's sharpness and JPEG-compressed with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vision.sign_render import SC_FACE, default_fonts

PROVINCES = "晋京津冀蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
SERIAL = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Serial characters: digits and letters without I and O."""
STYLES = {  # kind: (board BGR top, board BGR bottom, ink BGR, serial length, width mm)
    "blue": ((160, 60, 10), (160, 60, 10), (255, 255, 255), 5, 440),
    "yellow": ((20, 190, 245), (20, 190, 245), (10, 10, 10), 5, 440),
    "green": ((235, 250, 235), (90, 200, 60), (10, 10, 10), 6, 480),
}
PLATE_HEIGHT_PX = 140
"""Drawn plates are 1 px per millimetre before being warped into a scene."""


@dataclass(frozen=True)
class PlacedPlate:
    """One plate set into a scene: its text, style, and xyxy box (pixels) in the scene."""

    text: str
    kind: str
    box: tuple[float, float, float, float]


def plate_text(kind: str, rng: np.random.Generator) -> str:
    """A plate number of ``kind``: mostly 晋 (the city's province), "·" after the office letter."""
    province = "晋" if rng.random() < 0.6 else str(rng.choice(list(PROVINCES)))
    office = str(rng.choice(list(SERIAL[10:])))
    serial = "".join(rng.choice(list(SERIAL), STYLES[kind][3]))
    if kind == "green":  # new-energy: D (electric) or F (hybrid) first
        serial = str(rng.choice(["D", "F"])) + serial[1:]
    return f"{province}{office}·{serial}"


def draw_plate(text: str, kind: str, font_path: Path) -> np.ndarray:
    """The flat plate (140 px high, 440 or 480 wide), BGR uint8, with its rim and characters."""
    top, bottom, ink, _, width = STYLES[kind]
    h = PLATE_HEIGHT_PX
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    board = (np.array(top, np.float32) * (1 - ramp) + np.array(bottom, np.float32) * ramp) * np.ones(
        (1, width, 1), np.float32
    )
    image = Image.fromarray(cv2.cvtColor(board.astype(np.uint8), cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(image)
    rgb_ink = tuple(int(c) for c in ink[::-1])
    draw.rounded_rectangle((5, 5, width - 6, h - 6), radius=10, outline=rgb_ink, width=3)
    font = ImageFont.truetype(str(font_path), 100, index=SC_FACE)
    glyphs = [c for c in text if c != "·"]
    glyph_w, dot_gap = (45 if len(glyphs) == 7 else 43), 34  # millimetres, as on real plates
    gap = (width - 30 - len(glyphs) * glyph_w - dot_gap) / (len(glyphs) - 2)
    x = 15.0
    for i, glyph in enumerate(glyphs):
        tile = Image.new("L", (140, 140), 0)
        ImageDraw.Draw(tile).text((70, 70), glyph, font=font, fill=255, anchor="mm")
        left, upper, right, lower = tile.getbbox() or (0, 0, 140, 140)
        shape = tile.crop((left, upper, right, lower)).resize((glyph_w, 90))
        image.paste(Image.new("RGB", shape.size, rgb_ink), (round(x), 25), shape)
        x += glyph_w + (dot_gap if i == 1 else gap)
        if i == 1:
            dot = x - dot_gap / 2 - gap / 2
            draw.ellipse((dot - 5, h / 2 - 5, dot + 5, h / 2 + 5), fill=rgb_ink)
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def _plate_quad(vehicle: np.ndarray, plate_shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Where a plate of (h, w) pixels lands in a vehicle box (x1, y1, x2, y2): its 4 corners (4, 2), seen
    turned (one side shorter), tilted and low in the box."""
    x1, y1, x2, y2 = (float(v) for v in vehicle)
    vw, vh = x2 - x1, y2 - y1
    ph, pw = plate_shape
    width = max(14.0, vw * rng.uniform(0.12, 0.3))
    height = width * ph / pw
    cx = (x1 + x2) / 2 + rng.uniform(-0.2, 0.2) * vw
    cy = y1 + rng.uniform(0.6, 0.88) * vh
    turn = rng.uniform(0.55, 1.0)  # the far side's height over the near side's (turned up to ~40 degrees)
    width *= 0.5 + 0.5 * turn
    near, far = height / 2, height * turn / 2
    left, right = (near, far) if rng.random() < 0.5 else (far, near)
    quad = np.array([[-width / 2, -left], [width / 2, -right], [width / 2, right], [-width / 2, left]], np.float32)
    angle = np.deg2rad(rng.uniform(-6, 6))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    return np.asarray(quad @ rotation.T + [cx, cy], dtype=np.float32)


def place_plates(
    scene: np.ndarray, vehicles: np.ndarray, rng: np.random.Generator, font_paths: list[Path] | None = None
) -> tuple[np.ndarray, list[PlacedPlate]]:
    """``scene`` (BGR, H x W x 3 uint8) with one rendered plate on each vehicle box (N, 4) xyxy: yellow on
    most large vehicles, else blue or green; then the whole image is JPEG-compressed (quality 60-92)."""
    fonts = font_paths or default_fonts()
    out = scene.copy()
    h, w = scene.shape[:2]
    placed = []
    for vehicle in vehicles:
        large = (vehicle[3] - vehicle[1]) > 0.9 * (vehicle[2] - vehicle[0])  # buses and trucks stand tall
        kind = "yellow" if large and rng.random() < 0.7 else str(rng.choice(["blue", "blue", "green"]))
        text = plate_text(kind, rng)
        plate = draw_plate(text, kind, fonts[int(rng.integers(len(fonts)))])
        quad = _plate_quad(vehicle, plate.shape[:2], rng)
        ph, pw = plate.shape[:2]
        source = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
        matrix = cv2.getPerspectiveTransform(source, quad)
        warped = cv2.warpPerspective(plate, matrix, (w, h), flags=cv2.INTER_AREA)
        mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), matrix, (w, h), flags=cv2.INTER_AREA)
        sharpness = rng.uniform(0.3, 1.2)
        warped = cv2.GaussianBlur(warped, (0, 0), sharpness)
        light = rng.uniform(0.6, 1.1)
        alpha = mask.astype(np.float32)[..., None] / 255
        out = (out * (1 - alpha) + warped.astype(np.float32) * light * alpha).clip(0, 255).astype(np.uint8)
        x1, y1 = np.clip(quad.min(axis=0), 0, [w, h])
        x2, y2 = np.clip(quad.max(axis=0), 0, [w, h])
        placed.append(PlacedPlate(text, kind, (float(x1), float(y1), float(x2), float(y2))))
    _, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 93))])
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)), placed
