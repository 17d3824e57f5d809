"""SETR-MLA's ``SETRMLAHead``: two 3x3 convs and an upsampling per level, concatenated."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule
from segwright.models.layers.upsample import Upsample
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class SETRMLAHead(BaseDecodeHead):
    """Multi-level head (always ``input_transform='multiple_select'``).

    ``up_convs.{i}`` = 3x3 ConvModule to ``mla_channels``, another 3x3 ConvModule, bilinear
    upsampling by ``up_scale``; the levels are concatenated (``channels`` must be
    ``len(in_channels) * mla_channels``) and classified.

    Args:
        mla_channels: Channels of each level's branch.
        up_scale: Upsampling factor of each branch.
        **kwargs: :class:`BaseDecodeHead` arguments; ``in_channels``/``in_index`` are lists.
    """

    def __init__(self, mla_channels: int = 128, up_scale: int = 4, **kwargs: Any) -> None:
        transform = kwargs.pop("input_transform", "multiple_select")
        if transform != "multiple_select":
            raise ConfigError(
                f"SETRMLAHead always uses input_transform='multiple_select', got {transform!r}."
            )
        super().__init__(input_transform="multiple_select", **kwargs)
        self.mla_channels = mla_channels
        in_channels: list[int] = self.in_channels  # type: ignore[assignment]
        if self.channels != len(in_channels) * mla_channels:
            raise ConfigError(
                f"SETRMLAHead channels ({self.channels}) must be len(in_channels) * "
                f"mla_channels = {len(in_channels)} * {mla_channels}."
            )
        layer_args = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.up_convs = nn.ModuleList(
            nn.Sequential(
                ConvModule(c, mla_channels, 3, padding=1, **layer_args),
                ConvModule(mla_channels, mla_channels, 3, padding=1, **layer_args),
                Upsample(scale_factor=up_scale, mode="bilinear", align_corners=self.align_corners),
            )
            for c in in_channels
        )

    def forward(self, inputs: Any) -> torch.Tensor:
        levels = self._transform_inputs(inputs)
        return self.cls_seg(torch.cat([up(x) for x, up in zip(levels, self.up_convs)], dim=1))
