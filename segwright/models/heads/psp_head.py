"""PSPNet's pyramid pooling head (``PSPHead``) and its pooling module ``PPM``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule
from segwright.models.layers.ppm import PPM
from segwright.registry import MODELS


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
