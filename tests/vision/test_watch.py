"""A fixed camera after detection: taxonomy, tracking and dwell turn detections into observations."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.images import read_image
from vision.appearance import decode_signature
from vision.boxes import Detections
from vision.dwell import DwellRules
from vision.geo import haversine_m
from vision.identity import TEXT_SAME, text_similarity
from vision.sign_render import render_signs
from vision.streams import LiveFrame
from vision.taxonomy import Taxonomy
from vision.watch import CameraPlace, CameraWatch

PERSON_TAXONOMY = Path(__file__).parent / "data" / "person-taxonomy.yaml"
IMAGE = np.zeros((720, 1280, 3), np.uint8)


def person(x: float) -> Detections:
    return Detections([[x, 300, x + 80, 560]], [0.9], [0], names={0: "person", 1: "car"})


def test_camera_place_offsets_along_the_heading() -> None:
    place = CameraPlace(30.0, 120.0, heading_deg=90.0, offset_m=20.0)
    lat, lon = place.position()
    assert haversine_m(30.0, 120.0, lat, lon) == pytest.approx(20.0, abs=0.01)
    assert lon > 120.0 and lat == pytest.approx(30.0, abs=1e-6)  # east
    assert CameraPlace(30.0, 120.0).position() == (30.0, 120.0)


def test_a_standing_person_becomes_one_observation_after_the_dwell() -> None:
    watch = CameraWatch(
        CameraPlace(30.0, 120.0), DwellRules(dwell_s={"street_vendor": 2.0}), Taxonomy.load(PERSON_TAXONOMY), fps=2
    )
    start = 1_747_000_000.0
    found = []
    for k in range(12):  # 6 s at 2 frames/s, standing still
        found += watch.update(LiveFrame(start + k / 2, IMAGE), person(400))
    assert len(found) == 1
    obs = found[0]
    assert obs.category == "street_vendor" and obs.label == "person"
    assert (obs.lat, obs.lon) == (30.0, 120.0) and obs.crop is None and obs.keyframe is None  # no out_dir
    assert obs.text is None and obs.signature is None  # not a sign
    assert obs.t_first == 0.0 and obs.t_last >= 2.0 and obs.t_first <= obs.t_best <= obs.t_last
    assert obs.track_id.startswith(f"{round(start * 1000)}-")
    best = datetime.fromisoformat(obs.observed_at.replace("Z", "+00:00")).timestamp()
    assert best == pytest.approx(start + obs.t_best, abs=1e-3)


def test_labels_outside_the_taxonomy_are_ignored() -> None:
    watch = CameraWatch(
        CameraPlace(30.0, 120.0), DwellRules(dwell_s={"street_vendor": 0.0}), Taxonomy.load(PERSON_TAXONOMY), fps=2
    )
    car = Detections([[100, 300, 400, 560]], [0.9], [1], names={0: "person", 1: "car"})
    assert [watch.update(LiveFrame(float(k), IMAGE), car) for k in range(4)] == [[], [], [], []]


def test_with_an_out_dir_the_best_view_is_written(tmp_path: Path) -> None:
    watch = CameraWatch(
        CameraPlace(30.0, 120.0),
        DwellRules(dwell_s={"street_vendor": 1.0}),
        Taxonomy.load(PERSON_TAXONOMY),
        fps=2,
        out_dir=tmp_path,
    )
    found = [o for k in range(6) for o in watch.update(LiveFrame(100.0 + k / 2, IMAGE), person(400))]
    assert len(found) == 1
    assert found[0].crop and found[0].keyframe
    crop, keyframe = read_image(tmp_path / found[0].crop), read_image(tmp_path / found[0].keyframe)
    assert keyframe.shape == IMAGE.shape
    assert 260 <= crop.shape[0] <= 320 and 80 <= crop.shape[1] <= 100  # the box, grown by up to 10% a side


def test_a_sign_in_view_gets_its_text_and_signature() -> None:
    sign = next(s for s in render_signs(10, seed=2, widths=(240, 300), vertical_share=0.0) if " " not in s.text)
    image = IMAGE.copy()
    h, w = sign.image.shape[:2]
    image[100 : 100 + h, 500 : 500 + w] = sign.image
    box = [
        500 + 0.1 * w / 1.2,
        100 + 0.1 * h / 1.2,
        500 + w - 0.1 * w / 1.2,
        100 + h - 0.1 * h / 1.2,
    ]  # inside the margin
    watch = CameraWatch(CameraPlace(30.0, 120.0), DwellRules(dwell_s={"outdoor_ad": 1.0}), Taxonomy.load(), fps=2)
    board = Detections([box], [0.9], [0], names={0: "shop_sign"})
    found = [o for k in range(6) for o in watch.update(LiveFrame(100.0 + k / 2, image), board)]
    assert len(found) == 1 and found[0].category == "outdoor_ad"
    assert (text_similarity(found[0].text, sign.text) or 0) >= TEXT_SAME, (found[0].text, sign.text)
    assert decode_signature(found[0].signature) is not None
