"""FastFCN's Joint Pyramid Upsampling neck (``JPU``) with MMSeg's arguments and keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers import ConvModule, DepthwiseSeparableConvModule, resize
from segwright.models.utils import BaseModule
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class JPU(BaseModule):
    """Joint Pyramid Upsampling: a stride-8 map with stride-32 context, without dilated stages.

    Each used level gets a 3x3 ConvModule to ``mid_channels`` (``conv_layers``); all are
    resized to the first used level and concatenated; depthwise-separable 3x3 convs at each
    dilation (``dilation_layers``) read that and are concatenated again.

    Args:
        in_channels: Channels of each input level.
        mid_channels: Width of every conv; the JPU map has ``mid_channels * len(dilations)``.
        start_level: First input level used.
        end_level: Input level after the last one used (-1: all).
        dilations: Dilations of the separable convs.
        align_corners: ``align_corners`` of the bilinear resizes.
        conv_cfg, norm_cfg, act_cfg: Layer configs (``conv_cfg`` of the ``conv_layers``).
        init_cfg: Initialisation config.

    Shapes:
        inputs (one per ``in_channels``) -> the inputs ``start_level .. end_level - 2``
        unchanged, then the JPU map ``(N, out_channels[-1], H_s, W_s)`` at the size of input
        ``start_level``; ``out_channels`` lists every output's channels.
    """

    def __init__(
        self,
        in_channels: Sequence[int] = (512, 1024, 2048),
        mid_channels: int = 512,
        start_level: int = 0,
        end_level: int = -1,
        dilations: Sequence[int] = (1, 2, 4, 8),
        align_corners: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: Mapping[str, Any] | None = dict(type="ReLU"),  # noqa: B006 - MMSeg default
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.in_channels = tuple(in_channels)
        self.mid_channels = mid_channels
        self.start_level = start_level
        self.num_ins = len(self.in_channels)
        if end_level == -1:
            end_level = self.num_ins
        if not 0 <= start_level < end_level <= self.num_ins:
            raise ConfigError(
                f"JPU needs 0 <= start_level < end_level <= len(in_channels)={self.num_ins}, "
                f"got start_level={start_level}, end_level={end_level}."
            )
        self.backbone_end_level = end_level
        self.dilations = tuple(dilations)
        self.align_corners = align_corners
        levels = range(start_level, end_level)
        self.conv_layers = nn.ModuleList(
            nn.Sequential(
                ConvModule(
                    self.in_channels[i], mid_channels, 3, padding=1, conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg, act_cfg=act_cfg,
                )
            )
            for i in levels
        )  # fmt: skip
        self.dilation_layers = nn.ModuleList(
            nn.Sequential(
                DepthwiseSeparableConvModule(
                    len(levels) * mid_channels, mid_channels, 3, stride=1, padding=d,
                    dilation=d, dw_norm_cfg=norm_cfg, dw_act_cfg=None, pw_norm_cfg=norm_cfg,
                    pw_act_cfg=act_cfg,
                )
            )
            for d in self.dilations
        )  # fmt: skip
        #: Channels of each output (pass-through levels, then the JPU map).
        self.out_channels = self.in_channels[start_level : end_level - 1] + (
            mid_channels * len(self.dilations),
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if len(inputs) != self.num_ins:
            raise ValueError(
                f"JPU was built for {self.num_ins} input levels (in_channels={self.in_channels}) "
                f"but got {len(inputs)}; check the backbone's out_indices."
            )
        levels = range(self.start_level, self.backbone_end_level)
        feats = [conv(inputs[i]) for conv, i in zip(self.conv_layers, levels)]
        size = feats[0].shape[2:]
        feats = [feats[0]] + [
            resize(f, size=size, mode="bilinear", align_corners=self.align_corners)
            for f in feats[1:]
        ]
        feat = torch.cat(feats, dim=1)
        jpu = torch.cat([layer(feat) for layer in self.dilation_layers], dim=1)
        return (*inputs[self.start_level : self.backbone_end_level - 1], jpu)
