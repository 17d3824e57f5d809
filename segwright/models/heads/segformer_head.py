"""SegFormer's all-MLP decoder ``SegformerHead``: per-level 1x1 convs, resize, fuse, classify."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, resize
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class SegformerHead(BaseDecodeHead):
    """SegFormer decode head (always ``input_transform='multiple_select'``).

    Each selected level goes through its own 1x1 ConvModule (``convs.{i}``, to ``channels``)
    and is resized to the first level's size; the concatenation is fused by a 1x1
    ``fusion_conv`` (norm + ReLU, as in MMSeg) and classified by ``conv_seg``.

    Args:
        interpolate_mode: Resize mode of the levels (``'bilinear'``).
        **kwargs: :class:`BaseDecodeHead` arguments; ``in_channels``/``in_index`` are lists.

    Shapes:
        Output logits have the size of the first selected input (1/4 of the image for MiT).
    """

    def __init__(self, interpolate_mode: str = "bilinear", **kwargs: Any) -> None:
        transform = kwargs.pop("input_transform", "multiple_select")
        if transform != "multiple_select":
            raise ConfigError(
                f"SegformerHead always uses input_transform='multiple_select', got {transform!r}."
            )
        super().__init__(input_transform="multiple_select", **kwargs)
        self.interpolate_mode = interpolate_mode
        in_channels: list[int] = self.in_channels  # type: ignore[assignment]
        self.convs = nn.ModuleList(
            ConvModule(
                channels,
                self.channels,
                1,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
            )
            for channels in in_channels
        )
        self.fusion_conv = ConvModule(
            self.channels * len(in_channels), self.channels, 1, norm_cfg=self.norm_cfg
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        feats = self._transform_inputs(inputs)
        size = feats[0].shape[2:]
        outs = [
            resize(
                conv(feat), size=size, mode=self.interpolate_mode, align_corners=self.align_corners
            )
            for conv, feat in zip(self.convs, feats)
        ]
        return self.cls_seg(self.fusion_conv(torch.cat(outs, dim=1)))
