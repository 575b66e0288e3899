"""Fine-tuning the base model: growing its class list, BatchNorm calibration, distillation of the base
classes, the Ultralytics training run, and weights that name no machine's folders.

torch and Ultralytics are imported inside the functions that use them.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

CALIBRATION_IMAGES = 64  # training images whose statistics the BatchNorm layers get before fine-tuning


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
    old = (ckpt["ema"] if ckpt.get("ema") is not None else ckpt["model"]).float()
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

    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
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


class KeepBaseLoss:
    """The Ultralytics detection loss plus distillation of the base classes from the frozen base model.

    On every training image the student's logits of the first ``n`` classes (the base model's) are pulled
    towards the base model's scores (Bernoulli KL divergence summed over anchors and classes, divided by
    the base's score mass as the class loss is by its target mass, times ``weight`` and the class gain).
    What the base sees keeps its confidence, including the faint detections no pseudo-label carries.
    ``shared``: the first layers are frozen and compute the same in both models, so the base model runs
    on from the student's outputs of them instead of recomputing them.
    """

    def __init__(self, student: Any, teacher: Any, weight: float, shared: int = 0) -> None:
        from ultralytics.utils.loss import v8DetectionLoss

        self.detection = v8DetectionLoss(student)
        self.teacher = teacher.float().eval().to(next(student.parameters()).device)
        self.teacher.requires_grad_(False)
        self.n = teacher.model[-1].nc
        self.weight = weight
        self.shared = shared
        self.outputs: dict[int, Any] = {}
        for i in range(shared):
            student.model[i].register_forward_hook(partial(self._record, i))

    def _record(self, i: int, _module: Any, _inputs: Any, output: Any) -> None:
        self.outputs[i] = output

    def _teacher_scores(self, images: Any) -> Any:
        """(B, n, anchors) base-model class logits, continuing from the student's shared layers."""
        if not self.shared:
            return self.teacher(images)[1]["scores"]
        y = [self.outputs[i] for i in range(self.shared)]
        x = y[-1]
        for m in self.teacher.model[self.shared :]:
            if m.f != -1:
                x = y[m.f] if isinstance(m.f, int) else [x if j == -1 else y[j] for j in m.f]
            x = m(x)
            y.append(x)
        return x[1]["scores"]

    def __call__(self, preds: Any, batch: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """(box, cls, dfl) loss times batch size, with distillation added to cls; and the detached items."""
        import torch
        from torch.nn.functional import binary_cross_entropy_with_logits as bce

        loss, items = self.detection(preds, batch)
        student = self.detection.parse_output(preds)["scores"][:, : self.n]
        with torch.no_grad():
            logits = self._teacher_scores(batch["img"])
            target = logits.sigmoid()
        kl = bce(student, target, reduction="sum") - bce(logits, target, reduction="sum")
        keep = self.weight * self.detection.hyp.cls * kl / target.sum().clamp(min=1)
        loss = loss + torch.stack([torch.zeros_like(keep), keep * len(student), torch.zeros_like(keep)])
        return loss, {**items, "cls_loss": items["cls_loss"] + keep.detach()}


def fit(
    init: Path, data_yaml: Path, args: dict[str, Any], work: Path, device: str, teacher: Path, distill: float
) -> Path:
    """Fine-tune ``init`` with Ultralytics, distilling the base classes from ``teacher`` with weight
    ``distill`` (0: plain fine-tuning); returns the last weights."""
    from ultralytics import YOLO

    model = YOLO(str(init))
    if distill:
        base = YOLO(str(teacher)).model

        def keep_base(trainer: Any) -> None:
            frozen = args.get("freeze")
            shared = frozen if isinstance(frozen, int) else 0
            trainer.model.criterion = KeepBaseLoss(trainer.model, base, distill, shared)

        model.add_callback("on_train_start", keep_base)
    run = {"project": str(work), "name": "fit", "exist_ok": True, "plots": False, "val": False, "device": device}
    model.train(data=str(data_yaml), **run, **args)
    return work / "fit" / "weights" / "last.pt"


def finalize(trained: Path, out: Path) -> Path:
    """Copy trained weights to ``out`` without optimizer state or any path of the machine that trained them."""
    import torch

    ckpt = torch.load(trained, map_location="cpu", weights_only=False)
    model = ckpt["ema"] if ckpt.get("ema") is not None else ckpt["model"]
    model.args = _portable(getattr(model, "args", {}) or {})
    model.pt_path = None  # where the weights were loaded from while training
    meta = {k: ckpt[k] for k in ("date", "version", "license", "docs") if k in ckpt}
    torch.save({**meta, "model": model.half(), "ema": None, "train_args": _portable(ckpt.get("train_args", {}))}, out)
    return out
