"""PSPNet's pyramid pooling head (``PSPHead``) and its pooling module ``PPM``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, resize
from segwright.registry import MODELS


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


@MODELS.register_module()
class PSPHead(BaseDecodeHead):
    """Pyramid Scene Parsing head: ``[x, PPM(x)]`` -> 3x3 ``bottleneck`` -> ``conv_seg``.

    Args:
        pool_scales: Output sizes of the adaptive poolings.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, pool_scales: Sequence[int] = (1, 2, 3, 6), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_scales = tuple(pool_scales)
        self.psp_modules = PPM(
            self.pool_scales,
            self.in_channels,  # type: ignore[arg-type]
            self.channels,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            align_corners=self.align_corners,
        )
        self.bottleneck = ConvModule(
            self.in_channels + len(self.pool_scales) * self.channels,  # type: ignore[operator]
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        return self.bottleneck(torch.cat([x, *self.psp_modules(x)], dim=1))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._forward_feature(inputs))
