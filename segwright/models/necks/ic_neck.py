"""``ICNeck``: ICNet's cascade feature fusion, with MMSeg's arguments and keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from segwright.models.layers import ConvModule, resize
from segwright.models.utils import BaseModule
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_CfgArg = Mapping[str, Any] | None


class CascadeFeatureFusion(BaseModule):
    """Upsample the low-resolution map, dilated 3x3 ``conv_low``; 1x1 ``conv_high`` of the
    high-resolution map; ``relu(sum)``. Also returns the ``conv_low`` map (for auxiliary heads).
    """

    def __init__(
        self,
        low_channels: int,
        high_channels: int,
        out_channels: int,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = dict(type="ReLU"),  # noqa: B006 - MMSeg default
        align_corners: bool = False,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.align_corners = align_corners
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv_low = ConvModule(
            low_channels, out_channels, 3, padding=2, dilation=2, **layer_args
        )
        self.conv_high = ConvModule(high_channels, out_channels, 1, **layer_args)

    def forward(
        self, x_low: torch.Tensor, x_high: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x_low = resize(
            x_low, size=x_high.shape[2:], mode="bilinear", align_corners=self.align_corners
        )
        x_low = self.conv_low(x_low)
        return F.relu(x_low + self.conv_high(x_high)), x_low


@MODELS.register_module()
class ICNeck(BaseModule):
    """Fuse ICNet's quarter, half and full-branch maps (``cff_24``, then ``cff_12``).

    Args:
        in_channels: Channels of the three inputs (light, half, quarter resolution).
        out_channels: Channels of every output.
        conv_cfg, norm_cfg, act_cfg: Layer configs.
        align_corners: Of the upsampling.
        init_cfg: Initialisation config.

    Shapes:
        ``(sub1, sub2, sub4)`` -> ``(x_24, x_12, x_cff_12)``: the half-resolution fusion's low
        branch (at sub2's size), the full fusion's low branch and the full fusion (sub1's size).
    """

    def __init__(
        self,
        in_channels: Sequence[int] = (64, 256, 256),
        out_channels: int = 128,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = dict(type="ReLU"),  # noqa: B006 - MMSeg default
        align_corners: bool = False,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        in_channels = tuple(in_channels)
        if len(in_channels) != 3:
            raise ConfigError(f"ICNeck needs 3 in_channels, got {in_channels}.")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.align_corners = align_corners
        args = dict(
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, align_corners=align_corners
        )
        self.cff_24 = CascadeFeatureFusion(in_channels[2], in_channels[1], out_channels, **args)
        self.cff_12 = CascadeFeatureFusion(out_channels, in_channels[0], out_channels, **args)

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if len(inputs) != 3:
            raise ValueError(f"ICNeck takes 3 feature maps (ICNet's outputs), got {len(inputs)}.")
        x_sub1, x_sub2, x_sub4 = inputs
        x_cff_24, x_24 = self.cff_24(x_sub4, x_sub2)
        x_cff_12, x_12 = self.cff_12(x_cff_24, x_sub1)
        return x_24, x_12, x_cff_12
