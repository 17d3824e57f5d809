"""UPerNet's ``UPerHead``: a PPM on the last level plus an FPN over all levels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, resize
from segwright.models.layers.ppm import PPM
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class UPerHead(BaseDecodeHead):
    """Unified Perceptual Parsing head (always ``input_transform='multiple_select'``).

    Args:
        pool_scales: PPM scales on the last input.
        **kwargs: :class:`BaseDecodeHead` arguments; ``in_channels``/``in_index`` are lists.

    Shapes:
        Output logits have the size of the first selected input.
    """

    def __init__(self, pool_scales: Sequence[int] = (1, 2, 3, 6), **kwargs: Any) -> None:
        transform = kwargs.pop("input_transform", "multiple_select")
        if transform != "multiple_select":
            raise ConfigError(
                f"UPerHead always uses input_transform='multiple_select', got {transform!r}."
            )
        super().__init__(input_transform="multiple_select", **kwargs)
        in_channels: list[int] = self.in_channels  # type: ignore[assignment]
        layer_args = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.psp_modules = PPM(
            pool_scales, in_channels[-1], self.channels, align_corners=self.align_corners,
            **layer_args,
        )  # fmt: skip
        self.bottleneck = ConvModule(
            in_channels[-1] + len(tuple(pool_scales)) * self.channels,
            self.channels, 3, padding=1, **layer_args,
        )  # fmt: skip
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for channels in in_channels[:-1]:
            self.lateral_convs.append(
                ConvModule(channels, self.channels, 1, inplace=False, **layer_args)
            )
            self.fpn_convs.append(
                ConvModule(self.channels, self.channels, 3, padding=1, inplace=False, **layer_args)
            )
        self.fpn_bottleneck = ConvModule(
            len(in_channels) * self.channels, self.channels, 3, padding=1, **layer_args
        )

    def psp_forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = inputs[-1]
        return self.bottleneck(torch.cat([x, *self.psp_modules(x)], dim=1))

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        inputs = self._transform_inputs(inputs)
        laterals = [conv(inputs[i]) for i, conv in enumerate(self.lateral_convs)]
        laterals.append(self.psp_forward(inputs))
        levels = len(laterals)
        for i in range(levels - 1, 0, -1):  # top-down: add the upsampled coarser level
            laterals[i - 1] = laterals[i - 1] + resize(
                laterals[i], size=laterals[i - 1].shape[2:], mode="bilinear",
                align_corners=self.align_corners,
            )  # fmt: skip
        outs = [self.fpn_convs[i](laterals[i]) for i in range(levels - 1)]
        outs.append(laterals[-1])
        size = outs[0].shape[2:]
        outs = [outs[0]] + [
            resize(o, size=size, mode="bilinear", align_corners=self.align_corners)
            for o in outs[1:]
        ]
        return self.fpn_bottleneck(torch.cat(outs, dim=1))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._forward_feature(inputs))
