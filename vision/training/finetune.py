"""Fine-tuning the base model: growing its class list, BatchNorm calibration, the Ultralytics training run,
and the shipped weights (grafted with the base model's own layers, naming no machine's folders).

torch and Ultralytics are imported inside the functions that use them.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

CALIBRATION_IMAGES = 64  # training images whose statistics the BatchNorm layers get before fine-tuning


def checkpoint_model(ckpt: dict[str, Any]) -> Any:
    """The model of an Ultralytics checkpoint: its EMA weights where it has them."""
    return ckpt["ema"] if ckpt.get("ema") is not None else ckpt["model"]


def expand_model(
    base: Path, names: Sequence[str], out: Path, calibration: Sequence[np.ndarray] = (), imgsz: int = 640
) -> Path:
    """Save the base model with its class list grown to ``names`` (base classes first) as ``out``.

    Every base weight is kept. Where the detection head widens (its class branch is max(channels, nc)
    wide), the base block keeps its place, the new input columns of base outputs are zero and the new
    class outputs start at zero weight with the prior bias: the grown model scores every base class
    exactly as the base does and the new classes near zero. With ``calibration`` images (BGR) its
    BatchNorm layers get their statistics (see ``calibrate_batchnorm``).
    """
    import torch
    from ultralytics.nn.tasks import DetectionModel

    ckpt = torch.load(base, map_location="cpu", weights_only=False)
    old = checkpoint_model(ckpt).float()
    cfg = copy.deepcopy(old.yaml)
    cfg["nc"] = len(names)
    new = DetectionModel(cfg, nc=len(names), verbose=False)
    state, old_state = new.state_dict(), old.state_dict()
    with torch.no_grad():
        for key, value in state.items():
            src = old_state[key]
            if src.shape == value.shape:
                value.copy_(src)
                continue
            value[tuple(slice(0, n) for n in src.shape)] = src
            if value.ndim >= 2 and value.shape[1] > src.shape[1]:
                value[: src.shape[0], src.shape[1] :] = 0
        new.load_state_dict(state)
        head, n_old = new.model[-1], old.model[-1].nc
        for branches in (head.cv3, getattr(head, "one2one_cv3", None)):
            for branch in branches or ():
                branch[-1].weight[n_old:] = 0
    if len(calibration):
        calibrate_batchnorm(new, calibration, imgsz)
    new.names = dict(enumerate(names))
    new.args = _portable(getattr(old, "args", {}) or {})
    meta = {k: ckpt[k] for k in ("date", "version", "license", "docs") if k in ckpt}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**meta, "model": new, "ema": None, "train_args": {}}, out)
    return out


def letterboxed(images: Sequence[np.ndarray], imgsz: int) -> Any:
    """(N, 3, imgsz, imgsz) float RGB tensor in 0..1 of BGR images scaled to fit and padded grey, as trained."""
    import torch

    batch = np.full((len(images), imgsz, imgsz, 3), 114, np.uint8)
    for k, image in enumerate(images):
        scale = imgsz / max(image.shape[:2])
        h, w = (min(round(n * scale), imgsz) for n in image.shape[:2])
        top, left = (imgsz - h) // 2, (imgsz - w) // 2
        batch[k, top : top + h, left : left + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(batch[..., ::-1].transpose(0, 3, 1, 2).copy()).float() / 255.0


def calibrate_batchnorm(model: Any, images: Sequence[np.ndarray], imgsz: int = 640, chunk: int = 16) -> None:
    """Give every BatchNorm layer the statistics of its inputs on ``images`` without changing what the
    model computes in eval mode.

    Weights folded from an exported graph carry identity BatchNorm layers (mean 0, variance 1). Training
    normalizes by batch statistics instead, so every unfrozen layer would compute something else from
    the first step and the running statistics would drift there: the base classes would be lost. Here
    each layer's running mean and variance become those of its inputs, and its scale and shift absorb
    the change, so train-mode outputs start out as the eval-mode outputs.
    """
    import torch

    norms: list[Any] = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    moments: dict[Any, list[Any]] = {m: [0, 0.0, 0.0] for m in norms}

    def record(module: Any, inputs: tuple[Any, ...], _output: Any) -> None:
        x = inputs[0].double()
        acc = moments[module]
        acc[0] += x.numel() // x.shape[1]
        acc[1] = acc[1] + x.sum(dim=(0, 2, 3))
        acc[2] = acc[2] + (x * x).sum(dim=(0, 2, 3))

    hooks = [m.register_forward_hook(record) for m in norms]
    model.eval()
    with torch.no_grad():
        for start in range(0, len(images), chunk):
            model(letterboxed(images[start : start + chunk], imgsz))
        for hook in hooks:
            hook.remove()
        for m in norms:
            n, total, squares = moments[m]
            mean = (total / n).float()
            var = (squares / n - (total / n) ** 2).clamp(min=0).float()
            std = (m.running_var + m.eps).sqrt()
            m.bias += m.weight * (mean - m.running_mean) / std
            m.weight *= (var + m.eps).sqrt() / std
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)


def _portable(args: Any) -> dict[str, Any]:
    """Training arguments with absolute paths cut to their file name, so weights name no machine's folders."""
    args = dict(args if isinstance(args, dict) else vars(args))
    return {k: Path(v).name if isinstance(v, str) and os.path.isabs(v) else v for k, v in args.items()}


def fit(init: Path, data_yaml: Path, args: dict[str, Any], work: Path, device: str) -> Path:
    """Fine-tune ``init`` with Ultralytics; returns the last weights."""
    from ultralytics import YOLO

    run = {"project": str(work), "name": "fit", "exist_ok": True, "plots": False, "val": False, "device": device}
    YOLO(str(init)).train(data=str(data_yaml), **run, **args)
    return work / "fit" / "weights" / "last.pt"


def finalize(trained: Path, base: Path, shared: int, out: Path) -> Path:
    """Save the fine-tuned weights grafted with the ``base`` model's own layers after the ``shared`` frozen
    ones (see ``vision.training.graft``) to ``out``, without optimizer state or any path of the machine that
    trained them."""
    import torch

    from vision.training.graft import graft

    ckpt = torch.load(trained, map_location="cpu", weights_only=False)
    tuned = checkpoint_model(ckpt)
    model = graft(checkpoint_model(torch.load(base, map_location="cpu", weights_only=False)), tuned, shared)
    model.args = _portable(getattr(tuned, "args", {}) or {})
    model.pt_path = None  # where the weights were loaded from while training
    meta = {k: ckpt[k] for k in ("date", "version", "license", "docs") if k in ckpt}
    torch.save({**meta, "model": model.half(), "ema": None, "train_args": _portable(ckpt.get("train_args", {}))}, out)
    return out
