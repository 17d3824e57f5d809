"""``Upsample``: MMSeg's ``resize`` as a module (UNet's ``InterpConv``, HRNet's fuse layers,
the SETR heads)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers.wrappers import resize
from segwright.utils.errors import ConfigError


class Upsample(nn.Module):
    """``resize`` as a module: to a fixed ``size`` or by ``scale_factor``."""

    def __init__(
        self,
        size: Sequence[int] | None = None,
        scale_factor: float | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
    ) -> None:
        super().__init__()
        if size is None and not scale_factor:
            raise ConfigError("Upsample needs size or scale_factor.")
        self.size = tuple(size) if size is not None else None
        self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size: Any = self.size
        if size is None:
            scale = self.scale_factor
            if torch.jit.is_tracing():  # keep H and W symbolic in an exported graph
                size = [torch.floor(s * scale).long() for s in x.shape[-2:]]  # type: ignore[operator]
            else:
                size = [int(s * scale) for s in x.shape[-2:]]  # type: ignore[operator]
        return resize(x, size, None, self.mode, self.align_corners)
