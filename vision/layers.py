"""Custom model layers that shipped weights files pickle by module path, so this module never moves.

``TwoHeads`` joins the two branches of a grafted model (built by ``vision.training.graft``). Weights
saved before it lived here name it ``vision.graft.TwoHeads``; ``legacy_module_names`` lets them load.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

LEGACY_MODULES = ("vision.graft",)
"""Module paths older weights files give for the layers of this module."""

_loading = threading.Lock()


@contextmanager
def legacy_module_names() -> Iterator[None]:
    """While the block runs (loading weights), the ``LEGACY_MODULES`` resolve to this module.

    The names are removed afterwards; the lock keeps two loads in different threads from removing them
    under each other.
    """
    with _loading:
        saved = {name: sys.modules.get(name) for name in LEGACY_MODULES}
        sys.modules.update(dict.fromkeys(LEGACY_MODULES, sys.modules[__name__]))
        try:
            yield
        finally:
            for name, module in saved.items():
                if module is None:
                    del sys.modules[name]
                else:
                    sys.modules[name] = module


class TwoHeads(nn.Module):
    """Last layer of a grafted model: the fine-tuned head on the first three feature maps, the base head on
    the last three.

    In inference the heads' decoded outputs, (B, 4 + nc, A) and (B, 4 + n_base, A) for A anchors, are
    stacked along the anchors into (B, 4 + nc, 2A) (box xywh in input pixels, then class scores 0..1): the
    base head's anchors score the base classes (ids below ``n_base``), the fine-tuned head's anchors only
    the classes from ``n_base`` on. Training a grafted model is not supported: train from the base model
    and graft again.
    """

    end2end = False

    def __init__(self, tuned: Any, base: Any) -> None:
        """tuned, base: the two Ultralytics ``Detect`` heads (``nc`` classes each, the base's first)."""
        super().__init__()
        self.tuned, self.base = tuned, base
        self.nc: int = tuned.nc
        self.n_base: int = base.nc
        self.stride = tuned.stride
        self.export = False

    def forward(self, x: list[torch.Tensor]) -> Any:
        """x: the tuned branch's three feature maps, then the base branch's; returns (y, raw tuned outputs), or y
        alone when exporting (the exporter sets ``export`` on both heads, which then return their y alone)."""
        if self.training:
            raise RuntimeError("a grafted model cannot be trained; fine-tune the base model and graft again")
        exporting = self.export or self.tuned.export
        tuned, base = self.tuned(x[:3]), self.base(x[3:])
        if not exporting:
            (tuned, raw), base = tuned, base[0]
        tuned = torch.cat(
            [tuned[:, :4], torch.zeros_like(tuned[:, 4 : 4 + self.n_base]), tuned[:, 4 + self.n_base :]], 1
        )
        pad = torch.zeros_like(tuned[:, : self.nc - self.n_base])
        y = torch.cat([torch.cat([base, pad], 1), tuned], 2)
        return y if exporting else (y, raw)
