"""The OpenVINO runtime: which model file loads, the grafted model's export computing what PyTorch computes,
and the shipped int8 export finding what the float model finds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vision.boxes import box_overlaps
from vision.defaults import default_model
from vision.detector import Detector
from vision.frames import iter_frames
from vision.runtime import SOURCE_DIGEST, export_dir, runtime_weights, sha256

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    path = tmp_path / "model.pt"
    path.write_bytes(b"weights")
    return path


def test_the_pt_loads_without_an_export(weights: Path) -> None:
    assert runtime_weights(weights) == weights


def test_an_export_of_these_weights_loads_instead(weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = export_dir(weights)
    assert folder.name == "model_int8_openvino_model"
    folder.mkdir()
    (folder / SOURCE_DIGEST).write_text(sha256(weights) + "\n")
    assert runtime_weights(weights) == folder
    monkeypatch.setenv("STREETSCAN_RUNTIME", "torch")
    assert runtime_weights(weights) == weights


def test_a_stale_export_is_not_used(weights: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = export_dir(weights)
    folder.mkdir()
    (folder / SOURCE_DIGEST).write_text(sha256(weights) + "\n")
    weights.write_bytes(b"retrained weights")
    assert runtime_weights(weights) == weights
    assert "other weights" in caplog.text


def test_export_model_without_weights_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "export-model", "--model", str(tmp_path / "none.pt")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "none.pt" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_grafted_model_exports_and_computes_the_same(tmp_path: Path, patrol_dir: Path) -> None:
    """Both heads of the shipped (grafted) model go through the OpenVINO export: raw outputs as PyTorch's."""
    import openvino as ov
    import torch
    from ultralytics import YOLO

    from vision.training.export_model import letterbox

    source = tmp_path / default_model().name
    shutil.copyfile(default_model(), source)
    exported = Path(YOLO(str(source)).export(format="openvino", imgsz=640, dynamic=True, device="cpu", verbose=False))
    core = ov.Core()
    compiled = core.compile_model(next(exported.glob("*.xml")), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    frame = next(iter_frames(patrol_dir / "patrol.mp4", 1.0)).image
    x = letterbox(frame)
    model = YOLO(str(default_model())).model.float().eval()
    with torch.no_grad():
        expected = model(torch.from_numpy(x))[0].numpy()
    got = next(iter(compiled(x).values()))
    assert got.shape == expected.shape == (1, 4 + len(model.names), got.shape[2])
    np.testing.assert_allclose(got[:, 4:], expected[:, 4:], atol=2e-3)  # class scores 0..1
    np.testing.assert_allclose(got[:, :4], expected[:, :4], atol=0.1)  # boxes, input pixels


@pytest.mark.slow
def test_int8_export_finds_what_the_float_model_finds(patrol_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if runtime_weights(default_model()) == default_model():
        pytest.skip("no int8 export beside the shipped model: run `make model` (streetscan export-model)")
    frames = [f.image for _, f in zip(range(8), iter_frames(patrol_dir / "patrol.mp4", 0.25))]
    int8 = Detector(default_model(), conf=0.4, threads=1)
    assert int8.runtime == "openvino"
    monkeypatch.setenv("STREETSCAN_RUNTIME", "torch")
    float_model = Detector(default_model(), conf=0.4)
    assert float_model.runtime == "torch"
    found = total = 0
    for a, b in zip(float_model.detect(frames), int8.detect(frames)):
        total += len(a)
        if len(a) and len(b):
            iou, _ = box_overlaps(a.xyxy, b.xyxy)
            same = a.class_id[:, None] == b.class_id[None, :]
            found += int(((iou >= 0.7) & same).any(axis=1).sum())
    assert total >= 20
    assert found >= 0.9 * total, f"int8 found {found} of the float model's {total} boxes"
