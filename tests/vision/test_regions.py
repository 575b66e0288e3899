"""Focus windows: where each camera mount looks again, and what looking again at full resolution finds."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.images import read_image
from vision.cli import add_scan_parser
from vision.detector import Detector
from vision.regions import WINDOWS, FocusedDetector, FocusPolicy, focus_policy, parse_band, parse_width


def test_each_mount_has_one_window_inside_the_frame_in_its_sign_band() -> None:
    for mount, policy in WINDOWS.items():
        for shape in ((1080, 1920), (720, 1280), (2160, 3840)):
            ((x, y, w, h),) = policy.windows(shape, 640)
            assert x >= 0 and x + w <= shape[1] and y >= 0 and y + h <= shape[0], mount
            assert (y, y + h) == (round(policy.band[0] * shape[0]), round(policy.band[1] * shape[0]))
    # forward: around the vanishing point, with the rows of far facades above and below the horizon
    forward = focus_policy("forward")
    assert forward is not None and focus_policy(None) == forward  # a dashcam unless told
    ((x, y, w, h),) = forward.windows((1080, 1920), 640)
    assert (x, w) == (480, 960) and y < 540 < y + h
    # side-looking: no window unless asked for; then across the facade band, up to above the middle
    assert focus_policy("right") is None and focus_policy("left") is None
    side = focus_policy("right", width=0.4)
    assert side is not None and side.width == 0.4
    ((_, y, _, h),) = side.windows((1080, 1920), 640)
    assert y < 100 and y + h > 540
    assert focus_policy("left", band=(0.1, 0.5)) == WINDOWS["left"].adjusted((0.1, 0.5))


def test_frames_at_full_resolution_already_get_no_window() -> None:
    assert FocusPolicy().windows((480, 640), 640) == []
    assert FocusPolicy().windows((1080, 1920), 1920) == []


def test_bands_and_mounts_are_checked() -> None:
    assert FocusPolicy().adjusted((0.2, 0.5)) == FocusPolicy(band=(0.2, 0.5))
    assert FocusPolicy().adjusted(width=0.7) == FocusPolicy(width=0.7)
    assert FocusPolicy().adjusted() == FocusPolicy()
    assert parse_band("0.3,0.6") == (0.3, 0.6)
    for bad in ((0.6, 0.2), (-0.1, 0.5), (0.2, 1.5)):
        with pytest.raises(ValueError, match="focus band"):
            FocusPolicy(band=bad)
    with pytest.raises(ValueError, match="TOP,BOTTOM"):
        parse_band("0.3")
    with pytest.raises(ValueError, match="focus band"):
        parse_band("0.6,0.3")
    assert parse_width("0.4") == 0.4
    for text in ("wide", "0", "1.5"):
        with pytest.raises(ValueError, match="focus width"):
            parse_width(text)
    with pytest.raises(ValueError, match="mount"):
        focus_policy("up")
    parser = argparse.ArgumentParser()
    add_scan_parser(parser.add_subparsers())
    assert parser.parse_args(["scan", "v.mp4", "--focus-band", "0.3,0.6"]).focus_band == (0.3, 0.6)
    assert parser.parse_args(["scan", "v.mp4"]).focus is True
    assert parser.parse_args(["scan", "v.mp4", "--no-focus"]).focus is False
    assert parser.parse_args(["scan", "v.mp4", "--focus-width", "0.7"]).focus_width == 0.7
    for args in (["--focus-band", "0.6,0.3"], ["--focus-width", "1.5"], ["--focus-width", "wide"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["scan", "v.mp4", *args])


def far_people(shared_dir: Path, x: int, y: int) -> np.ndarray:
    """A 1080p frame with a street photo of several people shrunk to a quarter, its centre at (x, y)."""
    photo = read_image(shared_dir / "datasets" / "coco128" / "images" / "val" / "000000001000.jpg")
    small = cv2.resize(photo, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    frame = np.full((1080, 1920, 3), 114, np.uint8)
    h, w = small.shape[:2]
    frame[y - h // 2 : y - h // 2 + h, x - w // 2 : x - w // 2 + w] = small
    return frame


def test_looking_closer_finds_what_one_pass_misses_for_the_labels_asked(coco_weights: Path, shared_dir: Path) -> None:
    detector = Detector(coco_weights)
    far = far_people(shared_dir, 960, 540)  # at the vanishing point of a forward camera
    assert "person" not in detector.detect([far])[0].labels  # a third of 30 px is too small for the model
    people = FocusedDetector(detector, FocusPolicy(labels=frozenset({"person"}))).detect([far])[0]
    assert list(people.labels).count("person") >= 3
    (x, y, w, h), boxes = FocusPolicy().windows(far.shape[:2], 640)[0], people.xyxy
    assert np.all((boxes[:, 0] >= x) & (boxes[:, 2] <= x + w) & (boxes[:, 1] >= y) & (boxes[:, 3] <= y + h))
    # other labels only: the second pass keeps nothing of people
    assert "person" not in FocusedDetector(detector, FocusPolicy(labels=frozenset({"tv"}))).detect([far])[0].labels
    # outside the band nobody looks again
    sky = far_people(shared_dir, 960, 120)
    assert "person" not in FocusedDetector(detector, FocusPolicy(labels=frozenset({"person"}))).detect([sky])[0].labels
    # no policy: the whole-frame pass alone
    assert list(FocusedDetector(detector, None).detect([far])[0].labels) == list(detector.detect([far])[0].labels)
