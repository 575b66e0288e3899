"""The shipped detector's two branches: the untouched base model for its own classes, and the fine-tuned
layers for the new classes, grafted onto the backbone both share.

Fine-tuning the layers after the frozen backbone makes the base classes drift however the training is
weighted. A grafted model runs the frozen backbone once, then both the base model's neck and head (its
classes, exactly as the base scores them) and the fine-tuned neck and head (only the new classes). It
costs the fine-tuned layers once more (about 1.6 times the time of one model, ``bench/detector.py``).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class TwoHeads(nn.Module):
    """Last layer of a grafted model: the fine-tuned head on the first three feature maps, the base head on
    the last three.

    In inference the heads' decoded outputs, (B, 4 + nc, A) and (B, 4 + n_base, A) for A anchors, are
    stacked along the anchors into (B, 4 + nc, 2A) (box xywh in input pixels, then class scores 0..1): the base head's anchors score the base classes (ids below ``n_base``), the fine-tuned
    head's anchors only the classes from ``n_base`` on. Training a grafted model is not supported: train
    from the base model and graft again.
    """

    end2end = False

    def __init__(self, tuned: nn.Module, base: nn.Module) -> None:
        super().__init__()
        self.tuned, self.base = tuned, base
        self.nc, self.n_base = tuned.nc, base.nc
        self.stride = tuned.stride
        self.export = False

    def forward(self, x: list[Any]) -> Any:
        """x: the tuned branch's three feature maps, then the base branch's; returns (y, raw tuned outputs), or y
        alone when exporting (the exporter sets ``export`` on both heads, which then return their y alone)."""
        if self.training:
            raise RuntimeError("a grafted model cannot be trained; fine-tune the base model and graft again")
        exporting = self.export or self.tuned.export
        tuned, base = self.tuned(x[:3]), self.base(x[3:])
        if not exporting:
            (tuned, raw), base = tuned, base[0]
        tuned = torch.cat([tuned[:, :4], torch.zeros_like(tuned[:, 4 : 4 + self.n_base]), tuned[:, 4 + self.n_base :]], 1)
        pad = torch.zeros_like(tuned[:, : self.nc - self.n_base])
        y = torch.cat([torch.cat([base, pad], 1), tuned], 2)
        return y if exporting else (y, raw)


def graft(base: Any, tuned: Any, shared: int) -> Any:
    """The fine-tuned DetectionModel ``tuned`` (base classes first) with the layers of the ``base``
    DetectionModel after its first ``shared`` layers appended as a second branch, and both heads joined in
    a ``TwoHeads`` layer. The first ``shared`` layers must compute the same in both models (frozen while
    fine-tuning); the result keeps ``tuned``'s.
    """
    model = copy.deepcopy(tuned).float()
    base = copy.deepcopy(base).float().eval()
    tuned_layers, base_layers = list(model.model), list(base.model)
    tuned_head, base_head = tuned_layers[-1], base_layers[-1]
    if base_head.nc > tuned_head.nc:
        raise ValueError("the fine-tuned model must have the base model's classes first")
    branch = base_layers[shared:-1]
    offset = len(tuned_layers) - 1 - shared  # where the base branch's layers land, relative to their old index

    def moved(j: int, first: bool = False) -> int:
        """Index ``j`` of the base model in the grafted one; "previous layer" (-1) stays so but for the
        branch's first layer, whose previous layer is the base's last shared one."""
        if j == -1:
            return shared - 1 if first else -1
        return j if j < shared else j + offset

    layers = tuned_layers[:-1]
    for k, m in enumerate(branch):
        m.i += offset
        m.f = moved(m.f, k == 0) if isinstance(m.f, int) else [moved(j, k == 0) for j in m.f]
        layers.append(m)
    heads = TwoHeads(tuned_head, base_head)
    heads.i, heads.type = len(layers), "vision.graft.TwoHeads"
    heads.f = list(tuned_head.f) + [moved(j) for j in base_head.f]
    layers.append(heads)
    model.model = nn.Sequential(*layers)
    model.save = sorted({j for m in layers for j in ([m.f] if isinstance(m.f, int) else m.f) if j != -1})
    return model.eval()
