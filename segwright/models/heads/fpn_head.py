"""Semantic FPN's ``FPNHead``: one upsampling conv tower per pyramid level, summed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, resize
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


class _Upsample2x(nn.Module):
    """Bilinear x2 upsampling; a parameter-free slot in a tower so its conv indices match MMSeg."""

    def __init__(self, align_corners: bool) -> None:
        super().__init__()
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = [int(s * 2.0) for s in x.shape[-2:]]
        return resize(x, size=size, mode="bilinear", align_corners=self.align_corners)


@MODELS.register_module()
class FPNHead(BaseDecodeHead):
    """Panoptic FPN's semantic branch (always ``input_transform='multiple_select'``).

    Level ``i`` gets ``max(1, log2(stride_i / stride_0))`` 3x3 ConvModules, each followed by a
    x2 bilinear upsampling unless it is the finest level; the towers' outputs are summed at the
    finest size and classified.

    Args:
        feature_strides: Stride of each input, finest first (powers of 2).
        **kwargs: :class:`BaseDecodeHead` arguments; ``in_channels``/``in_index`` are lists.

    Shapes:
        Output logits have the size of the first (finest) input.
    """

    def __init__(self, feature_strides: Sequence[int], **kwargs: Any) -> None:
        transform = kwargs.pop("input_transform", "multiple_select")
        if transform != "multiple_select":
            raise ConfigError(
                f"FPNHead always uses input_transform='multiple_select', got {transform!r}."
            )
        super().__init__(input_transform="multiple_select", **kwargs)
        in_channels: list[int] = self.in_channels  # type: ignore[assignment]
        strides = list(feature_strides)
        if len(strides) != len(in_channels):
            raise ConfigError(
                f"FPNHead: feature_strides {strides} and in_channels {in_channels} must have "
                "the same length (one stride per input)."
            )
        if min(strides) != strides[0]:
            raise ConfigError(
                f"FPNHead: the first feature stride must be the smallest, got {strides}."
            )
        self.feature_strides = strides
        layer_args = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.scale_heads = nn.ModuleList()
        for i, stride in enumerate(strides):
            length = max(1, int(math.log2(stride) - math.log2(strides[0])))
            tower: list[nn.Module] = []
            for k in range(length):
                tower.append(
                    ConvModule(
                        in_channels[i] if k == 0 else self.channels, self.channels, 3,
                        padding=1, **layer_args,
                    )
                )  # fmt: skip
                if stride != strides[0]:
                    tower.append(_Upsample2x(self.align_corners))
            self.scale_heads.append(nn.Sequential(*tower))

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        out = self.scale_heads[0](x[0])
        for i in range(1, len(self.feature_strides)):
            out = out + resize(
                self.scale_heads[i](x[i]), size=out.shape[2:], mode="bilinear",
                align_corners=self.align_corners,
            )  # fmt: skip
        return out

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._forward_feature(inputs))
