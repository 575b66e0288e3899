"""Rendered shop-sign crops with known text, for measuring sign OCR where no labelled Chinese signs exist.

Each sample is a shop name of the kind Chinese street fronts carry (店招: a trade name, what is sold, a
shop word), sometimes with a phone number or a second line, drawn with a CJK font on a coloured board,
horizontal (shop signs, lightboxes) or vertical (projecting signs, 竖招). The board is then seen as a
patrol camera sees it: warped by a small perspective, shrunk to 30-300 pixels wide, blurred, brightened or
darkened, and JPEG-compressed, inside a margin of wall like the scanner's crops.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

CJK_FONT_DIR = Path("/usr/share/fonts/opentype/noto")
"""Where Debian's ``fonts-noto-cjk`` puts its fonts."""
CJK_FONTS = ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", "NotoSerifCJK-Regular.ttc", "NotoSerifCJK-Bold.ttc")
SC_FACE = 2
"""Face index of Simplified Chinese in the Noto CJK collections (JP, KR, SC, TC, HK)."""

NAMES = (
    "金城",
    "泽州",
    "凤台",
    "太行",
    "晋城",
    "老王",
    "小李",
    "鑫源",
    "福满",
    "好又多",
    "家家乐",
    "百姓",
    "华联",
    "阳光",
    "兴旺",
    "永和",
    "佳美",
    "万达",
    "新世纪",
    "红旗",
    "东方",
    "大唐",
    "顺发",
    "旺角",
)
GOODS = (
    "牛肉面",
    "刀削面",
    "烟酒",
    "五金",
    "水果",
    "超市",
    "便利",
    "理发",
    "美容",
    "药房",
    "手机",
    "家电",
    "烧烤",
    "火锅",
    "包子",
    "饺子",
    "蛋糕",
    "茶叶",
    "服装",
    "鞋业",
    "眼镜",
    "建材",
    "电动车",
    "干洗",
    "口腔",
    "书店",
    "花店",
    "粮油",
    "肉铺",
    "早餐",
    "奶茶",
    "快递",
    "彩票",
    "不锈钢",
    "装饰",
)
SHOP_WORDS = ("店", "行", "馆", "坊", "部", "中心", "商行", "专卖店", "超市", "门诊", "有限公司", "")
SLOGANS = ("欢迎光临", "诚信经营", "品质保证", "特价优惠", "全场八折", "外卖送餐", "批发零售", "新店开业")
BOARDS = (  # (board BGR, text BGR): colour pairs of real signboards
    ((40, 40, 200), (80, 230, 255)),
    ((40, 40, 200), (255, 255, 255)),
    ((160, 60, 20), (255, 255, 255)),
    ((30, 120, 30), (255, 255, 255)),
    ((20, 20, 20), (60, 200, 250)),
    ((245, 245, 245), (30, 30, 200)),
    ((40, 200, 250), (30, 30, 180)),
    ((230, 230, 230), (20, 20, 20)),
    ((90, 40, 120), (240, 240, 240)),
)


@dataclass(frozen=True)
class RenderedSign:
    """One rendered crop: BGR pixels (h, w, 3) uint8 and the text on it (lines joined by a space)."""

    image: np.ndarray
    text: str
    vertical: bool


def default_fonts(folder: Path = CJK_FONT_DIR) -> list[Path]:
    """The Noto CJK fonts of ``folder``; a clear error when none is installed."""
    fonts = [folder / name for name in CJK_FONTS if (folder / name).is_file()]
    if not fonts:
        raise FileNotFoundError(f"no Noto CJK font in {folder}: install Debian's fonts-noto-cjk")
    return fonts


def sign_texts(rng: np.random.Generator) -> list[str]:
    """One sign's text lines: a shop name, sometimes a slogan or phone number under it."""
    name = rng.choice(NAMES) + rng.choice(GOODS) + rng.choice(SHOP_WORDS)
    extra = rng.random()
    if extra < 0.2:
        return [name, "电话" + "1" + "".join(str(d) for d in rng.integers(0, 10, 10))]
    if extra < 0.35:
        return [name, str(rng.choice(SLOGANS))]
    return [name]


def draw_board(
    lines: Sequence[str],
    font_path: Path,
    vertical: bool,
    colors: tuple[tuple[int, int, int], tuple[int, int, int]],
    rng: np.random.Generator,
) -> np.ndarray:
    """The flat board at a large size (text about 96 px high), BGR uint8."""
    size = 96
    font = ImageFont.truetype(str(font_path), size, index=SC_FACE)
    small = ImageFont.truetype(str(font_path), size // 2, index=SC_FACE)
    fonts = [font] + [small] * (len(lines) - 1)
    pad = int(size * rng.uniform(0.25, 0.6))
    if vertical:  # one line, characters stacked
        chars = list(lines[0])
        w, h = size + 2 * pad, len(chars) * int(size * 1.1) + 2 * pad
    else:
        widths = [int(f.getlength(t)) for f, t in zip(fonts, lines)]
        w = max(widths) + 2 * pad
        h = sum(int(f.size * 1.25) for f in fonts) + 2 * pad
    board = Image.new("RGB", (w, h), tuple(int(c) for c in colors[0][::-1]))
    draw = ImageDraw.Draw(board)
    ink = tuple(int(c) for c in colors[1][::-1])
    if vertical:
        for i, ch in enumerate(lines[0]):
            draw.text((w / 2, pad + i * size * 1.1 + size / 2), ch, font=font, fill=ink, anchor="mm")
    else:
        y = pad
        for f, text in zip(fonts, lines):
            draw.text((w / 2, y + f.size * 0.6), text, font=f, fill=ink, anchor="mm")
            y += int(f.size * 1.25)
    return cv2.cvtColor(np.asarray(board), cv2.COLOR_RGB2BGR)


def _perspective(board: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """The board seen slightly from the side, above or below; corners moved by up to ``amount`` of its size,
    set into a wall-coloured margin of 10% as the scanner crops."""
    h, w = board.shape[:2]
    mx, my = int(0.1 * w), int(0.1 * h)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    jitter = rng.uniform(-amount, amount, (4, 2)) * [w, h]
    dst = (src + jitter + [mx, my]).astype(np.float32)
    wall = tuple(int(c) for c in rng.integers(60, 200, 3))
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(board, matrix, (w + 2 * mx, h + 2 * my), borderValue=wall)


def camera_view(image: np.ndarray, width: int, rng: np.random.Generator) -> np.ndarray:
    """What a camera makes of ``image`` at ``width`` pixels: area-shrunk, slightly blurred, lit brighter or
    darker, with sensor noise, then JPEG-compressed at quality 35-90."""
    h, w = image.shape[:2]
    out = cv2.resize(image, (width, max(8, round(h * width / w))), interpolation=cv2.INTER_AREA)
    sigma = rng.uniform(0.0, 0.9)
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    gain, bias = rng.uniform(0.6, 1.25), rng.uniform(-30, 30)
    noisy = out.astype(np.float32) * gain + bias + rng.normal(0, rng.uniform(1, 6), out.shape)
    out = np.clip(noisy, 0, 255).astype(np.uint8)
    quality = int(rng.integers(35, 91))
    _, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR))


def render_signs(
    n: int,
    seed: int = 0,
    fonts: Sequence[Path] | None = None,
    widths: tuple[int, int] = (30, 300),
    vertical_share: float = 0.15,
) -> Iterator[RenderedSign]:
    """``n`` reproducible sign crops; horizontal ones ``widths`` pixels wide (log-uniform), vertical ones a
    third of that (a projecting sign is narrow)."""
    rng = np.random.default_rng(seed)
    fonts = list(fonts) if fonts is not None else default_fonts()
    for _ in range(n):
        lines = sign_texts(rng)
        vertical = bool(rng.random() < vertical_share)
        if vertical:
            lines = lines[:1]
        colors = BOARDS[int(rng.integers(len(BOARDS)))]
        board = draw_board(lines, fonts[int(rng.integers(len(fonts)))], vertical, colors, rng)
        yield RenderedSign(seen(board, vertical, widths, rng), " ".join(lines), vertical)


def seen(board: np.ndarray, vertical: bool, widths: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """One camera's crop of a flat board: slight perspective, then ``camera_view`` at a width drawn
    log-uniformly from ``widths`` (a third of it for a vertical sign, at least 20 px)."""
    warped = _perspective(board, rng, amount=0.06)
    width = float(np.exp(rng.uniform(np.log(widths[0]), np.log(widths[1]))))
    return camera_view(warped, max(20, round(width / 3)) if vertical else round(width), rng)
