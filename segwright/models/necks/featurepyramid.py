"""``Feature2Pyramid``: a plain backbone's same-stride outputs rescaled into a pyramid (BEiT, MAE)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers import build_norm_layer
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_SYNCBN = dict(type="SyncBN", requires_grad=True)
RESCALES = (4, 2, 1, 0.5, 0.25)


@MODELS.register_module()
class Feature2Pyramid(nn.Module):
    """Rescale input ``i`` by ``rescales[i]``, with learned upsampling and max-pool downsampling.

    x4 is ``upsample_4x`` (ConvTranspose 2x2/2, norm, GELU, ConvTranspose 2x2/2), x2
    ``upsample_2x`` (one ConvTranspose), x1 the identity, x0.5 and x0.25 max pooling. The
    inputs take the operations in the order 4, 2, 1, 0.5 when ``rescales`` has a 4, else
    2, 1, 0.5, 0.25 (MMSeg's rule).

    Args:
        embed_dim: Channels of every input (and output).
        rescales: Scale of each output.
        norm_cfg: Norm inside ``upsample_4x``.
    """

    def __init__(
        self,
        embed_dim: int,
        rescales: Sequence[float] = (4, 2, 1, 0.5),
        norm_cfg: Mapping[str, Any] = _SYNCBN,
    ) -> None:
        super().__init__()
        bad = [k for k in rescales if k not in RESCALES]
        if bad:
            raise ConfigError(f"Feature2Pyramid rescales must be among {RESCALES}, got {bad}.")
        self.rescales = list(rescales)
        self.upsample_4x: nn.Module | None = None
        for k in self.rescales:
            if k == 4:
                self.upsample_4x = nn.Sequential(
                    nn.ConvTranspose2d(embed_dim, embed_dim, kernel_size=2, stride=2),
                    build_norm_layer(norm_cfg, embed_dim)[1],
                    nn.GELU(),
                    nn.ConvTranspose2d(embed_dim, embed_dim, kernel_size=2, stride=2),
                )
            elif k == 2:
                self.upsample_2x = nn.Sequential(
                    nn.ConvTranspose2d(embed_dim, embed_dim, kernel_size=2, stride=2)
                )
            elif k == 1:
                self.identity = nn.Identity()
            elif k == 0.5:
                self.downsample_2x = nn.MaxPool2d(kernel_size=2, stride=2)
            else:
                self.downsample_4x = nn.MaxPool2d(kernel_size=4, stride=4)
        scales: tuple[float, ...] = (4, 2, 1, 0.5)
        order = ("upsample_4x", "upsample_2x", "identity", "downsample_2x")
        if self.upsample_4x is None:
            scales, order = (
                (2, 1, 0.5, 0.25),
                ("upsample_2x", "identity", "downsample_2x", "downsample_4x"),
            )
        if tuple(self.rescales) != scales[: len(self.rescales)]:
            # MMSeg applies the operations in this fixed order whatever the list says
            raise ConfigError(
                f"Feature2Pyramid applies the scales {list(scales)} to its inputs in turn; "
                f"rescales must list them in that order, got {self.rescales}."
            )
        self._ops = order[: len(self.rescales)]

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if len(inputs) != len(self.rescales):
            raise ValueError(
                f"Feature2Pyramid expects {len(self.rescales)} inputs, got {len(inputs)}."
            )
        return tuple(getattr(self, name)(x) for name, x in zip(self._ops, inputs))
