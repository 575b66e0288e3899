"""Appearance signatures: fixed length, small in JSON, alike for one sign seen again, apart for neighbours."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from vision.appearance import SIGNATURE_LENGTH, box_region, decode_signature, encode_signature, signature
from vision.identity import SIGNATURE_SAME, Basis, same_appearance, signature_similarity
from vision.sign_render import BOARDS, default_fonts, draw_board

RED_YELLOW = BOARDS[0]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    value = signature_similarity(a, b)
    assert value is not None
    return value


def facade(boards: list[np.ndarray], gap: int = 60) -> tuple[np.ndarray, list[np.ndarray]]:
    """A grey wall with the boards side by side; (H, W, 3) image and each board's box."""
    height = max(b.shape[0] for b in boards) + 2 * gap
    width = sum(b.shape[1] for b in boards) + (len(boards) + 1) * gap
    wall = np.full((height, width, 3), (120, 130, 140), np.uint8)
    boxes, x = [], gap
    for board in boards:
        h, w = board.shape[:2]
        wall[gap : gap + h, x : x + w] = board
        boxes.append(np.array([x, gap, x + w, gap + h], dtype=float))
        x += w + gap
    return wall, boxes


def another_day(
    image: np.ndarray, box: np.ndarray, scale: float, gain: float, quality: int, shift: float
) -> tuple[np.ndarray, np.ndarray]:
    """The scene smaller, darker and JPEG-compressed, its box off by ``shift`` of its size."""
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    dark = np.clip(small.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    _, jpeg = cv2.imencode(".jpg", dark, [cv2.IMWRITE_JPEG_QUALITY, quality])
    w, h = box[2] - box[0], box[3] - box[1]
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)), (box + shift * np.array([w, h, -w, h])) * scale


def street(names: list[str], boards: list[tuple], vertical: list[bool]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Neighbouring signs drawn in one bold font, half size, on one wall."""
    rng = np.random.default_rng(3)
    font = default_fonts()[1]
    drawn = [draw_board([n], font, v, c, rng) for n, c, v in zip(names, boards, vertical)]
    return facade([cv2.resize(b, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA) for b in drawn])


@pytest.fixture(scope="module")
def mixed_street() -> tuple[np.ndarray, list[np.ndarray]]:
    """Three neighbours of different colours, one of them a vertical projecting sign."""
    return street(
        ["金城烟酒超市", "鑫源五金建材", "老王牛肉面"], [RED_YELLOW, BOARDS[2], BOARDS[3]], [False, False, True]
    )


@pytest.fixture(scope="module")
def uniform_street() -> tuple[np.ndarray, list[np.ndarray]]:
    """Two neighbours of one mandated style (统一店招): same colours, font and size, other characters."""
    return street(["金城烟酒超市", "鑫源五金建材"], [RED_YELLOW, RED_YELLOW], [False, False])


def test_signature_is_fixed_length_and_finite(mixed_street: tuple[np.ndarray, list[np.ndarray]]) -> None:
    image, boxes = mixed_street
    for box in boxes:
        vector = signature(image, box)
        assert vector.shape == (SIGNATURE_LENGTH,) and vector.dtype == np.float32
        assert np.linalg.norm(vector) == pytest.approx(np.sqrt(3), rel=1e-3)  # three unit blocks
        assert np.abs(vector).max() <= 1.0
    tiny = signature(image, np.array([0, 0, 3, 2.0]))  # a plain patch of wall: no gradients, no contrast
    assert tiny.shape == (SIGNATURE_LENGTH,) and np.isfinite(tiny).all()


def test_same_sign_another_day_is_alike_and_neighbours_are_not(
    mixed_street: tuple[np.ndarray, list[np.ndarray]],
) -> None:
    image, boxes = mixed_street
    first = [signature(image, b) for b in boxes]
    for scale, gain, quality, shift in [(0.5, 0.7, 40, 0.05), (0.35, 1.2, 60, -0.04), (0.8, 0.55, 30, 0.0)]:
        for i, box in enumerate(boxes):
            later = signature(*another_day(image, box, scale, gain, quality, shift))
            assert similarity(first[i], later) >= SIGNATURE_SAME, (i, scale, gain, quality)
            for j in range(len(boxes)):
                if j != i:
                    assert similarity(first[j], later) < SIGNATURE_SAME, (i, j, scale)


def test_uniform_style_neighbours_look_alike_so_their_text_decides(
    uniform_street: tuple[np.ndarray, list[np.ndarray]],
) -> None:
    image, boxes = uniform_street
    a, b = (signature(image, box) for box in boxes)
    assert similarity(a, b) >= SIGNATURE_SAME  # the signature alone cannot tell them apart
    verdict = same_appearance("金城烟酒超市", "鑫源五金建材", a, b)
    assert not verdict.same and verdict.basis is Basis.TEXT
    later = signature(*another_day(image, boxes[0], 0.5, 0.7, 40, 0.05))
    assert same_appearance("金城烟酒超市", "金城烟洒超市", a, later).same  # one character misread


def test_encoded_signature_is_short_text_that_decodes_back(mixed_street: tuple[np.ndarray, list[np.ndarray]]) -> None:
    image, boxes = mixed_street
    vector = signature(image, boxes[0])
    text = encode_signature(vector)
    assert text.startswith("s1:") and len(text) < 500 and text.isascii()
    back = decode_signature(text)
    assert back is not None and back.dtype == np.float32
    np.testing.assert_allclose(back, vector, atol=0.5 / 127 + 1e-6)  # signed bytes
    assert signature_similarity(back, vector) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "s0:" + base64.b64encode(bytes(SIGNATURE_LENGTH)).decode(),  # another version
        "s1:" + base64.b64encode(bytes(SIGNATURE_LENGTH - 1)).decode(),  # wrong length
        "s1:" + base64.b64encode(bytes(2 * SIGNATURE_LENGTH)).decode(),
        "s1:not base64!",
        "[0.1, 0.2]",
    ],
)
def test_unusable_signatures_decode_to_none(text: str | None) -> None:
    assert decode_signature(text) is None


@pytest.mark.parametrize(
    ("box", "shape"),
    [
        ([10, 20, 50, 40], (20, 40)),
        ([-30, -10, 20, 15], (15, 20)),  # clipped at the top left
        ([90, 50, 400, 300], (50, 10)),  # clipped at the bottom right
        ([30, 30, 30, 30], (1, 1)),  # empty box: one pixel
        ([200, 200, 300, 300], (1, 1)),  # outside: the nearest pixel
    ],
)
def test_box_region_clips_to_the_image(box: list[float], shape: tuple[int, int]) -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    assert box_region(image, box).shape[:2] == shape
