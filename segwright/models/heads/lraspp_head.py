"""``LRASPPHead``: MobileNetV3's lite reduced ASPP head, with MMSeg's arguments and keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, resize
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


class _ClampedAvgPool2d(nn.AvgPool2d):
    """``nn.AvgPool2d`` whose window shrinks to the input where the input is smaller."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = (self.kernel_size,) * 2 if isinstance(self.kernel_size, int) else self.kernel_size
        kernel = (min(kernel[0], x.shape[-2]), min(kernel[1], x.shape[-1]))
        return F.avg_pool2d(
            x, kernel, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
            self.divisor_override,
        )  # fmt: skip


@MODELS.register_module()
class LRASPPHead(BaseDecodeHead):
    """Lite R-ASPP: the deepest map gated by a pooled sigmoid branch, then refined level by
    level with 1x1 projections of the shallower maps.

    The pooling branch (``image_pool``) is MMSeg's 49x49 average pool with stride (16, 20).
    MMSeg raises on maps smaller than the window (inputs under 392 pixels at output stride
    8); here the window shrinks to the map there (a global average), and is MMSeg's otherwise.

    Args:
        branch_channels: Width of each shallower map's projection (one per input but the last).
        **kwargs: :class:`BaseDecodeHead` arguments; ``input_transform`` must be
            ``'multiple_select'``.

    Shapes:
        inputs ``[(N, C_i, H_i, W_i)]`` -> ``(N, num_classes, H_0, W_0)``.
    """

    def __init__(self, branch_channels: Sequence[int] = (32, 64), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.input_transform != "multiple_select":
            raise ConfigError(
                f"LRASPPHead needs input_transform='multiple_select', got {self.input_transform!r}."
            )
        branch_channels = tuple(branch_channels)
        in_channels: list[int] = self.in_channels  # type: ignore[assignment]
        if (
            not all(isinstance(c, int) for c in branch_channels)
            or len(branch_channels) != len(in_channels) - 1
        ):
            raise ConfigError(
                f"LRASPPHead branch_channels {branch_channels} needs one int per input but the "
                f"last ({len(in_channels) - 1} for in_channels {in_channels})."
            )
        self.branch_channels = branch_channels
        self.convs = nn.Sequential()
        self.conv_ups = nn.Sequential()
        act_args = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, bias=False)
        for i, width in enumerate(branch_channels):
            self.convs.add_module(f"conv{i}", nn.Conv2d(in_channels[i], width, 1, bias=False))
            self.conv_ups.add_module(
                f"conv_up{i}", ConvModule(self.channels + width, self.channels, 1, **act_args)
            )
        self.conv_up_input = nn.Conv2d(self.channels, self.channels, 1)
        self.aspp_conv = ConvModule(in_channels[-1], self.channels, 1, **act_args)
        self.image_pool = nn.Sequential(
            _ClampedAvgPool2d(kernel_size=49, stride=(16, 20)),
            # MMSeg reads in_channels[2] here (the last input in its configs)
            ConvModule(in_channels[2], self.channels, 1, act_cfg=dict(type="Sigmoid"), bias=False),
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        inputs = self._transform_inputs(inputs)
        x = inputs[-1]
        gate = resize(
            self.image_pool(x), size=x.shape[2:], mode="bilinear", align_corners=self.align_corners
        )
        x = self.conv_up_input(self.aspp_conv(x) * gate)
        for i in reversed(range(len(self.branch_channels))):
            x = resize(
                x, size=inputs[i].shape[2:], mode="bilinear", align_corners=self.align_corners
            )
            x = self.conv_ups[i](torch.cat([x, self.convs[i](inputs[i])], dim=1))
        return self.cls_seg(x)
