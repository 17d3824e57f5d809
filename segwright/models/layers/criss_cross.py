"""MMCV's ``CrissCrossAttention`` module (CCNet), on the pure-PyTorch op of ``segwright.ops``."""

from __future__ import annotations

import torch
from torch import nn

from segwright.models.layers.scale import Scale
from segwright.ops.cc_attention import criss_cross_attention
from segwright.utils.errors import ConfigError


class CrissCrossAttention(nn.Module):
    """``x + gamma * cca(q(x), k(x), v(x))``; query/key at ``in_channels // 8``.

    Keys (MMCV): ``query_conv``, ``key_conv``, ``value_conv``, ``gamma.scale`` (starts at 0,
    so the block starts as the identity).

    Args:
        in_channels: Channels of the input (and output); at least 8.

    Shapes:
        ``(N, in_channels, H, W)`` -> same.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        if in_channels < 8:
            raise ConfigError(
                f"CrissCrossAttention embeds queries and keys in in_channels // 8 channels, so "
                f"in_channels must be at least 8, got {in_channels} (e.g. CCHead channels)."
            )
        self.in_channels = in_channels
        self.query_conv = nn.Conv2d(in_channels, in_channels // 8, 1)
        self.key_conv = nn.Conv2d(in_channels, in_channels // 8, 1)
        self.value_conv = nn.Conv2d(in_channels, in_channels, 1)
        self.gamma = Scale(0.0)

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = criss_cross_attention(self.query_conv(x), self.key_conv(x), self.value_conv(x))
        return (self.gamma(out) + x).contiguous()
