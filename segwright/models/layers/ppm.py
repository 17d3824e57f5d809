"""Pyramid pooling (PSPNet's PPM), shared by the PSP and UPer heads and by ICNet/Fast-SCNN."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers.conv import ConvModule
from segwright.models.layers.wrappers import resize


class PPM(nn.ModuleList):
    """Pyramid pooling: per scale, adaptive average pooling then a 1x1 ConvModule, upsampled.

    Keys: ``{i}.1.conv.weight`` for scale ``i`` (index 0 is the pooling layer).
    """

    def __init__(
        self,
        pool_scales: Sequence[int],
        in_channels: int,
        channels: int,
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
        align_corners: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.pool_scales = tuple(pool_scales)
        self.align_corners = align_corners
        for scale in self.pool_scales:
            self.append(
                nn.Sequential(
                    nn.AdaptiveAvgPool2d(scale),
                    ConvModule(
                        in_channels, channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                        act_cfg=act_cfg, **kwargs,
                    ),
                )
            )  # fmt: skip

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # type: ignore[override]
        size = x.shape[2:]
        return [
            resize(branch(x), size=size, mode="bilinear", align_corners=self.align_corners)
            for branch in self
        ]
