"""The forward-drive check: its frames show each labeled sign exactly where its ground truth says, signs
shrink with distance, and the clip, GPS track and truth file agree."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.frames import iter_frames, probe
from vision.geo import destination, haversine_m, load_track
from vision.training.forward_drive import (
    HEIGHT,
    DriveSettings,
    DriveTruth,
    Renderer,
    drive_frames,
    lay_out,
    open_split,
    sign_corners,
    sign_views,
    write_drive,
)

SMALL = DriveSettings(size=(480, 270), focal_px=250.0, fps=10, seconds=2.0, noise=0.0, first_m=20.0, far_m=120.0)


@pytest.fixture()
def red_signs(tmp_path: Path) -> Path:
    """A dataset of two grey shop fronts, each with one pure red signboard and a (not sign) window."""
    (tmp_path / "images" / "val").mkdir(parents=True)
    (tmp_path / "labels" / "val").mkdir(parents=True)
    for k, (x1, y1, x2, y2) in enumerate([(100, 120, 260, 170), (60, 90, 300, 140)]):
        image = np.full((300, 400, 3), 128, np.uint8)
        image[y1:y2, x1:x2] = (0, 0, 255)
        cv2.imwrite(str(tmp_path / "images" / "val" / f"front{k}.png"), image)
        cx, cy, w, h = (x1 + x2) / 800, (y1 + y2) / 600, (x2 - x1) / 400, (y2 - y1) / 300
        lines = f"3 {cx} {cy} {w} {h}\n0 0.9 0.9 0.1 0.1\n"  # signboard; a window, not a sign
        (tmp_path / "labels" / "val" / f"front{k}.txt").write_text(lines)
    (tmp_path / "data.yaml").write_text("path: .\nval: images/val\nnames: {0: window, 3: signboard}\n")
    return tmp_path / "data.yaml"


def test_each_sign_is_drawn_where_its_truth_box_says(red_signs: Path) -> None:
    split = open_split(red_signs, "val")
    facades, signs = lay_out(split, SMALL)
    assert [s.label for s in signs] == ["shop_sign", "shop_sign"]  # the window is not a sign
    assert [f.side for f in facades] == [1, -1]  # alternately right and left of the road
    renderer, corners = Renderer(facades, SMALL), sign_corners(signs, SMALL)
    checked = 0
    for camera_z in (0.0, 4.0, 8.0):
        image = renderer.frame(camera_z)
        xyxy, distance, visible = sign_views(corners, camera_z, SMALL)
        red = (image[..., 2] > 150) & (image[..., 1] < 90) & (image[..., 0] < 90)
        for box in xyxy[visible & (xyxy[:, 3] - xyxy[:, 1] >= 8)]:
            x1, y1, x2, y2 = box
            near = red[max(int(y1) - 3, 0) : int(y2) + 4, max(int(x1) - 3, 0) : int(x2) + 4]
            ys, xs = np.nonzero(near)
            drawn = (
                np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
                + [max(int(x1) - 3, 0), max(int(y1) - 3, 0)] * 2
            )
            np.testing.assert_allclose(drawn, box, atol=2.5)
            checked += 1
        assert np.all(distance[visible] > 0)
    assert checked >= 4


def test_signs_shrink_toward_the_vanishing_point(red_signs: Path, tmp_path: Path) -> None:
    files = write_drive(open_split(red_signs, "val"), tmp_path / "drive", SMALL)
    truth = json.loads(files.truth.read_text())
    assert truth["frame_fields"] == ["frame", "x1", "y1", "x2", "y2", "distance_m", "height_px"]
    for sign in truth["signs"]:
        rows = np.array(sign["frames"])
        assert len(rows) >= 5
        assert np.all(np.diff(rows[:, 0]) >= 1)
        assert np.all(np.diff(rows[:, 5]) < 0)  # the camera comes closer every frame
        assert np.all(np.diff(rows[:, 6]) > 0)  # and the sign grows
        # pinhole: height ~ focal length x sign height / depth, depth <= distance
        size_m = sign["y1"] - sign["y0"]
        assert np.all(rows[:, 6] >= SMALL.focal_px * size_m / rows[:, 5] * 0.95)
        center_x = (rows[:, 1] + rows[:, 3]) / 2
        moving_out = np.diff(center_x) > 0 if sign["side"] == "right" else np.diff(center_x) < 0
        assert moving_out.all()  # away from the vanishing point, toward the side it stands on


def test_clip_gps_and_truth_agree(red_signs: Path, tmp_path: Path) -> None:
    files = write_drive(open_split(red_signs, "val"), tmp_path / "drive", SMALL)
    info = probe(files.video)
    assert (info.width, info.height, info.fps, info.codec) == (480, 270, 10.0, "h264")
    assert info.start_time is not None and info.start_time.isoformat() == "2025-06-02T08:00:00+00:00"
    assert sum(1 for _ in iter_frames(files.video, fps=None)) == SMALL.frames
    track = load_track(files.gps)
    here, later = track.at(track.start), track.at(track.start + timedelta(seconds=2))
    assert haversine_m(here.lat, here.lon, later.lat, later.lon) == pytest.approx(2 * SMALL.speed_mps, rel=0.01)
    truth = json.loads(files.truth.read_text())
    assert truth["settings"]["speed_mps"] == SMALL.speed_mps and len(truth["signs"]) == 2
    for sign in truth["signs"]:  # a sign stands beside the road, on its side of the track
        z = (sign["z0"] + sign["z1"]) / 2
        lat, lon = destination(here.lat, here.lon, 90.0, z)  # the track heads east
        lateral = SMALL.right_m if sign["side"] == "right" else SMALL.left_m
        assert haversine_m(sign["lat"], sign["lon"], lat, lon) == pytest.approx(lateral, abs=0.5)
        assert (sign["lat"] < lat) == (sign["side"] == "right")  # heading east, right is south


def test_evaluation_frames_keep_signs_large_enough(red_signs: Path) -> None:
    frames = list(drive_frames(open_split(red_signs, "val"), SMALL, every=5, min_height=10.0))
    assert len(frames) == SMALL.frames // 5
    assert all(image.shape == (270, 480, 3) for image, _ in frames)
    boxes = np.concatenate([b.xyxy for _, b in frames])
    assert len(boxes) and np.all(boxes[:, 3] - boxes[:, 1] >= 10.0)


def test_observations_are_scored_against_the_truth(red_signs: Path, tmp_path: Path) -> None:
    files = write_drive(open_split(red_signs, "val"), tmp_path / "drive", SMALL)
    truth = DriveTruth(files.truth)
    right = next(i for i, s in enumerate(truth.signs) if s["side"] == "right")
    rows = truth.rows[right]
    frame, box = rows[len(rows) // 2, 0], rows[len(rows) // 2, 1:5]
    t = frame / SMALL.fps

    def observation(label: str, bbox: list[float], t_first: float, t_last: float) -> dict:
        return {"label": label, "bbox": bbox, "t_best": t, "t_first": t_first, "t_last": t_last}

    near_miss = (box + np.array([0, 0, box[2] - box[0], 0])).tolist()  # twice as wide: IoU 0.5
    far_off = (box + np.array([200, 0, 200, 0])).tolist()
    found = [observation("shop_sign", near_miss, t - 0.2, t + 0.2), observation("window_ad", far_off, t, t)]
    matched, unmatched = truth.matched([*found, observation("person", box.tolist(), t, t)])
    assert list(matched) == [right] and unmatched == 1  # people are not signs
    # followed in the height band it had at t, not in bands it passed through before the track began
    height = rows[len(rows) // 2, HEIGHT]
    assert truth.followed(matched, HEIGHT, height - 1, height + 30)[0] == 1
    assert truth.followed(matched, HEIGHT, 0, rows[0, HEIGHT] + 0.5) == (0, 0)  # under MIN_SPAN_S: not counted
    early = rows[rows[:, 0] / SMALL.fps < t - 0.5, HEIGHT]
    assert truth.followed(matched, HEIGHT, early.min(), early.max() + 0.01) == (0, 1)
