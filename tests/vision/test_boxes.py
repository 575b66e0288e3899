"""The one box type: labelled boxes, selection and concatenation, YOLO label text, the tracker's view,
and the IoU and area helpers on plain arrays."""

from __future__ import annotations

import numpy as np
import pytest

from vision.boxes import Detections, box_area, box_overlaps, iou_matrix


def test_labelled_boxes_number_their_labels_and_keep_them_through_selection() -> None:
    boxes = Detections.labeled([[0, 0, 10, 10], [5, 5, 25, 15], [30, 0, 40, 20]], ["sign", "person", "sign"])
    assert list(boxes.class_id) == [0, 1, 0] and boxes.names == {0: "sign", 1: "person"}
    assert list(boxes.confidence) == [1.0, 1.0, 1.0] and list(boxes.tracker_id) == [-1, -1, -1]
    assert list(boxes[boxes.labels == "sign"].labels) == ["sign", "sign"]
    assert list(boxes.area) == [100.0, 200.0, 200.0]
    with pytest.raises(ValueError, match="same length"):
        Detections([[0, 0, 1, 1]], [0.5, 0.4], [0])


def test_concat_keeps_labels_and_confidences_across_label_sets() -> None:
    a = Detections.labeled([[0, 0, 10, 10]], ["sign"], confidence=[0.7])
    b = Detections([[1, 1, 5, 5], [2, 2, 8, 8]], [0.9, 0.4], [3, 0], names={0: "person", 3: "tv"})
    both = Detections.concat([a, Detections.empty(), b])
    assert list(both.labels) == ["sign", "tv", "person"]
    assert both.confidence == pytest.approx([0.7, 0.9, 0.4])
    assert len(Detections.concat([])) == 0


def test_scaled_and_yolo_text() -> None:
    boxes = Detections.labeled([[10.0, 20, 30, 60], [-5.0, 0, 0.5, 10]], ["sign", "tv"]).scaled(2.0, dx=1, dy=-2)
    assert boxes.xyxy.tolist() == [[21, 38, 61, 118], [-9, -2, 2, 18]]
    text = boxes.to_yolo((200, 100, 3), {"sign": 4, "tv": 7})  # H 200, W 100
    assert text == "4 0.410000 0.390000 0.400000 0.400000\n7 0.010000 0.045000 0.020000 0.090000\n"


def test_ultralytics_tracker_view() -> None:
    det = Detections([[10, 20, 30, 60]], [0.8], [2])
    assert det.xywh.tolist() == [[20, 40, 20, 40]]
    assert det.conf.tolist() == pytest.approx([0.8]) and det.cls.dtype == np.float32 and det.cls.tolist() == [2.0]


def test_overlaps_of_plain_arrays() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 4, 4]], dtype=np.float32)
    b = np.array([[5, 0, 15, 10], [100, 100, 110, 110]], dtype=np.float32)
    iou, inside = box_overlaps(a, b)
    assert iou[0].tolist() == pytest.approx([50 / 150, 0.0])
    assert inside[0, 0] == pytest.approx(0.5)
    assert box_overlaps(a, a)[1][0, 1] == pytest.approx(1.0)  # the small box lies inside the large one
    assert np.array_equal(iou_matrix(a, b), iou)
    assert box_area(np.array([[0, 0, -3, 5]])).tolist() == [0.0]  # an inverted box has no area
