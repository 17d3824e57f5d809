"""``Scale``: one learnable factor (MMCV's name, so ``<name>.scale`` keys load)."""

from __future__ import annotations

import torch
from torch import nn


class Scale(nn.Module):
    """Multiply the input by a learnable scalar.

    Attention heads start their residual branches at ``scale=0`` so the block begins as the
    identity and learns how much of the attended context to add.

    Args:
        scale: Initial value of the factor.
    """

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale
