"""TrackFolder: tracks become observations once, with their best view, and noise is dropped."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vision.boxes import Detections, box_overlaps
from vision.observe import TrackFolder, crop_box, view_score

NAMES = {0: "person", 1: "umbrella"}
IMAGE = np.zeros((480, 640, 3), dtype=np.uint8)


def tracked(rows: Sequence[tuple[int, Sequence[float], float, str | None]], label: int = 0) -> Detections:
    """rows: (track id, xyxy, confidence, category)."""
    return Detections(
        xyxy=np.array([r[1] for r in rows], dtype=np.float32).reshape(-1, 4),
        confidence=[r[2] for r in rows],
        class_id=[label] * len(rows),
        tracker_id=[r[0] for r in rows],
        names=NAMES,
        data={"category": np.array([r[3] for r in rows], dtype=object)},
    )


def test_short_tracks_are_noise_and_long_ones_are_kept() -> None:
    folder = TrackFolder(min_hits=3)
    for i in range(5):
        rows = [(1, [100 + i, 100, 150 + i, 200], 0.8, "street_vendor")]
        if i < 2:
            rows.append((2, [400, 100, 450, 200], 0.9, "street_vendor"))
        assert folder.update(i * 0.2, IMAGE, tracked(rows)) == []
    (record,) = folder.flush()
    assert record.track_id == 1 and record.hits == 5
    assert record.t_first == 0.0 and record.t_last == 0.8
    assert record.category == "street_vendor" and record.label == "person"


def test_never_classified_tracks_are_not_reported() -> None:
    folder = TrackFolder(min_hits=2)
    for i in range(4):
        folder.update(i * 0.2, IMAGE, tracked([(1, [10, 10, 60, 90], 0.8, None)]))
    assert folder.flush() == []


def test_category_is_the_majority_vote() -> None:
    folder = TrackFolder(min_hits=2)
    for i, cat in enumerate(["goods_spill", "street_vendor", "street_vendor", None]):
        folder.update(i * 0.2, IMAGE, tracked([(7, [10, 10, 60, 90], 0.8, cat)]))
    (record,) = folder.flush()
    assert record.category == "street_vendor"


def test_best_view_is_large_confident_and_inside_the_frame() -> None:
    folder = TrackFolder(min_hits=1, min_category_hits=1)
    folder.update(0.0, IMAGE, tracked([(1, [0, 100, 200, 300], 0.9, "street_vendor")]))  # cut by the edge
    folder.update(0.2, IMAGE, tracked([(1, [100, 100, 280, 290], 0.8, "street_vendor")]))
    folder.update(0.4, IMAGE, tracked([(1, [100, 100, 130, 130], 0.95, "street_vendor")]))  # small
    (record,) = folder.flush()
    assert record.best_t == 0.2 and record.best_bbox == [100.0, 100.0, 280.0, 290.0]
    assert record.crop.shape == (228, 216, 3)  # the box grown by 10% on each side


def test_second_best_view_is_kept_as_a_crop_of_its_own_frame() -> None:
    folder = TrackFolder(min_hits=1, min_category_hits=1)
    frames = [np.full((480, 640, 3), shade, np.uint8) for shade in (10, 20, 30, 40)]
    boxes = [[100, 100, 150, 150], [100, 100, 280, 290], [100, 100, 200, 200], [100, 100, 120, 120]]
    for i, (frame, box) in enumerate(zip(frames, boxes)):  # sizes: small, best, second, smallest
        folder.update(i * 0.2, frame, tracked([(1, box, 0.8, "street_vendor")]))
    (record,) = folder.flush()
    best, second = record.crops
    assert best.shape == (228, 216, 3) and (best == 20).all()
    assert second.shape == (120, 120, 3) and (second == 30).all()  # from the third frame, grown by 10%


def test_one_view_has_one_crop() -> None:
    folder = TrackFolder(min_hits=1, min_category_hits=1)
    folder.update(0.0, IMAGE, tracked([(1, [100, 100, 200, 200], 0.8, "street_vendor")]))
    (record,) = folder.flush()
    assert len(record.crops) == 1


def test_finished_tracks_are_handed_back_while_streaming() -> None:
    folder = TrackFolder(min_hits=2, max_idle_s=1.0)
    for i in range(3):
        folder.update(i * 0.2, IMAGE, tracked([(1, [10, 10, 60, 90], 0.8, "outdoor_ad")]))
    assert folder.update(1.0, IMAGE, tracked([])) == []
    done = folder.update(1.5, IMAGE, tracked([]))
    assert [r.track_id for r in done] == [1]
    assert folder.active == {} and folder.flush() == []


def test_one_object_boxed_twice_is_reported_once() -> None:
    folder = TrackFolder(min_hits=3)
    for i in range(6):
        rows = [(1, [100, 100, 160, 260], 0.8, "street_vendor"), (3, [300, 100, 360, 260], 0.7, "street_vendor")]
        if 1 <= i <= 4:  # a second, looser box on the same person
            rows.append((2, [105, 100, 175, 265], 0.5, "street_vendor"))
        folder.update(i * 0.2, IMAGE, tracked(rows))
    assert sorted(r.track_id for r in folder.flush()) == [1, 3]


def test_a_part_boxed_inside_the_whole_is_not_a_second_object() -> None:
    folder = TrackFolder(min_hits=3)
    for i in range(5):
        rows = [(1, [100, 100, 500, 180], 0.8, "outdoor_ad"), (2, [110, 105, 260, 175], 0.7, "outdoor_ad")]
        folder.update(i * 0.2, IMAGE, tracked(rows))
    assert [r.track_id for r in folder.flush()] == [1]


def test_a_smaller_object_of_another_label_inside_a_box_is_kept() -> None:
    folder = TrackFolder(min_hits=3)
    for i in range(5):
        rows = tracked([(1, [100, 100, 500, 400], 0.8, "street_vendor")]).xyxy.tolist()
        det = Detections(
            xyxy=np.vstack([rows, [150, 150, 250, 300]]),
            confidence=[0.8, 0.7],
            class_id=[1, 0],
            tracker_id=[1, 2],
            names=NAMES,
            data={"category": np.array(["street_vendor", "street_vendor"], dtype=object)},
        )
        folder.update(i * 0.2, IMAGE, det)
    assert sorted(r.track_id for r in folder.flush()) == [1, 2]


def test_duplicate_ending_after_its_twin_is_still_dropped() -> None:
    folder = TrackFolder(min_hits=2, max_idle_s=0.3)
    for i in range(5):
        rows = [(2, [105, 100, 175, 265], 0.5, "street_vendor")] if i >= 1 else []
        if i <= 3:
            rows.append((1, [100, 100, 160, 260], 0.8, "street_vendor"))
        folder.update(i * 0.2, IMAGE, tracked(rows))
    done = folder.update(2.0, IMAGE, tracked([])) + folder.flush()
    assert [r.track_id for r in done] == [1]


def test_a_track_taking_over_a_reported_object_is_not_a_second_object() -> None:
    folder = TrackFolder(min_hits=3, max_idle_s=0.3)
    done = []
    for i in range(20):  # a sign pans left; its track is lost after frame 9, a new one took over at 9
        x = 600 - 20 * i
        rows = [(1, [x, 100, x + 200, 160], 0.8, "outdoor_ad")] if i <= 9 else []
        if i >= 9:
            rows.append((2, [x + 15, 102, x + 215, 158], 0.6, "outdoor_ad"))
        rows.append((3, [10, 300, 60, 350], 0.7, "outdoor_ad"))  # another sign, in view all along
        done += folder.update(i * 0.2, IMAGE, tracked(rows))
    done += folder.flush()
    assert sorted(r.track_id for r in done) == [1, 3]


def test_geometry_helpers() -> None:
    a = np.array([[0, 0, 10, 10]], dtype=np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=np.float32)
    iou, inside = box_overlaps(a, b)
    assert np.allclose(iou, [[1.0, 1 / 3, 0.0]]) and np.allclose(inside, [[1.0, 0.5, 0.0]])
    assert crop_box(IMAGE, np.array([600, 400, 700, 500])).shape == (90, 50, 3)  # grown, then clipped to the frame
    assert view_score(np.array([100, 100, 200, 200]), 0.5, (480, 640)) == 50.0
