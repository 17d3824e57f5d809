"""DeepLabV3+'s ``DepthwiseSeparableASPPHead``: separable ASPP plus a low-level skip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.aspp_head import ASPPHead, ASPPModule
from segwright.models.layers import ConvModule, DepthwiseSeparableConvModule, resize
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


class DepthwiseSeparableASPPModule(ASPPModule):
    """ASPP whose dilated (3x3) branches are depthwise-separable convs."""

    def __init__(
        self,
        dilations: Sequence[int],
        in_channels: int,
        channels: int,
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> None:
        super().__init__(dilations, in_channels, channels, conv_cfg, norm_cfg, act_cfg)
        for i, d in enumerate(self.dilations):
            if d > 1:
                self[i] = DepthwiseSeparableConvModule(
                    in_channels, channels, 3, dilation=d, padding=d,
                    norm_cfg=norm_cfg, act_cfg=act_cfg,
                )  # fmt: skip


@MODELS.register_module()
class DepthwiseSeparableASPPHead(ASPPHead):
    """DeepLabV3+ head.

    The ASPP output is upsampled to the low-level map ``inputs[0]`` (reduced to
    ``c1_channels`` by ``c1_bottleneck``), concatenated and fused by two separable 3x3 convs
    (``sep_bottleneck``).

    Args:
        c1_in_channels: Channels of ``inputs[0]`` (0: no skip connection).
        c1_channels: Channels after ``c1_bottleneck``.
        **kwargs: :class:`ASPPHead` arguments.
    """

    def __init__(self, c1_in_channels: int, c1_channels: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if c1_in_channels < 0:
            raise ConfigError(f"c1_in_channels must be >= 0, got {c1_in_channels}.")
        layer_args = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.c1_bottleneck = (
            ConvModule(c1_in_channels, c1_channels, 1, **layer_args) if c1_in_channels > 0 else None
        )
        sep_args = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.sep_bottleneck = nn.Sequential(
            DepthwiseSeparableConvModule(
                self.channels + c1_channels, self.channels, 3, padding=1, **sep_args
            ),
            DepthwiseSeparableConvModule(self.channels, self.channels, 3, padding=1, **sep_args),
        )

    def _make_aspp(self, layer_args: dict[str, Any]) -> nn.Module:
        return DepthwiseSeparableASPPModule(
            self.dilations,
            self.in_channels,  # type: ignore[arg-type]
            self.channels,
            **layer_args,
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        output = self._aspp_features(self._transform_inputs(inputs))
        if self.c1_bottleneck is not None:
            c1 = self.c1_bottleneck(inputs[0])
            output = resize(
                output, size=c1.shape[2:], mode="bilinear", align_corners=self.align_corners
            )
            output = torch.cat([output, c1], dim=1)
        return self.cls_seg(self.sep_bottleneck(output))
