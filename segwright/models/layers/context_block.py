"""MMCV's ``ContextBlock`` (GCNet): one global context vector fused back into every position."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from segwright.models.utils.weight_init import constant_init, kaiming_init
from segwright.utils.errors import ConfigError

POOLING_TYPES = ("avg", "att")
FUSION_TYPES = ("channel_add", "channel_mul")


def _transform(channels: int, planes: int) -> nn.Sequential:
    # bottleneck 1x1 conv -> LayerNorm over (planes, 1, 1) -> ReLU -> 1x1 conv; keys 0, 1, 3
    return nn.Sequential(
        nn.Conv2d(channels, planes, kernel_size=1),
        nn.LayerNorm([planes, 1, 1]),
        nn.ReLU(inplace=True),
        nn.Conv2d(planes, channels, kernel_size=1),
    )


class ContextBlock(nn.Module):
    """Global context block: pool to one ``(C, 1, 1)`` context, transform it, fuse by add/mul.

    Args:
        in_channels: Channels of the input (and output).
        ratio: Bottleneck width of the transforms, ``int(in_channels * ratio)``.
        pooling_type: ``'att'`` (softmax-weighted sum from a 1x1 ``conv_mask``) or ``'avg'``.
        fusion_types: Any of ``'channel_add'`` (``x + t(ctx)``), ``'channel_mul'``
            (``x * sigmoid(t(ctx))``); multiplication is applied first.

    Shapes:
        ``(N, in_channels, H, W)`` -> same.
    """

    _abbr_ = "context_block"

    def __init__(
        self,
        in_channels: int,
        ratio: float,
        pooling_type: str = "att",
        fusion_types: Sequence[str] = ("channel_add",),
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if pooling_type not in POOLING_TYPES:
            raise ConfigError(f"{name}: pooling_type must be 'avg' or 'att', got {pooling_type!r}.")
        if not isinstance(fusion_types, (list, tuple)) or not fusion_types:
            raise ConfigError(
                f"{name}: fusion_types must be a non-empty list/tuple of {FUSION_TYPES}, got "
                f"{fusion_types!r}."
            )
        unknown = [f for f in fusion_types if f not in FUSION_TYPES]
        if unknown:
            raise ConfigError(f"{name}: unknown fusion_types {unknown}; use {FUSION_TYPES}.")
        self.in_channels = in_channels
        self.ratio = ratio
        self.planes = int(in_channels * ratio)
        self.pooling_type = pooling_type
        self.fusion_types = tuple(fusion_types)
        if pooling_type == "att":
            self.conv_mask = nn.Conv2d(in_channels, 1, kernel_size=1)
            self.softmax = nn.Softmax(dim=2)
        else:
            self.avg_pool = nn.AdaptiveAvgPool2d(1)
        add = "channel_add" in self.fusion_types
        mul = "channel_mul" in self.fusion_types
        self.channel_add_conv = _transform(in_channels, self.planes) if add else None
        self.channel_mul_conv = _transform(in_channels, self.planes) if mul else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming ``conv_mask``; the last conv of each transform at zero (identity block)."""
        if self.pooling_type == "att":
            kaiming_init(self.conv_mask, mode="fan_in")
            self.conv_mask.inited = True  # type: ignore[assignment]
        for transform in (self.channel_add_conv, self.channel_mul_conv):
            if transform is not None:
                constant_init(transform[-1], 0)

    def spatial_pool(self, x: torch.Tensor) -> torch.Tensor:
        """The context vector ``(N, C, 1, 1)``."""
        if self.pooling_type == "avg":
            return self.avg_pool(x)
        n, c, h, w = x.shape
        mask = self.softmax(self.conv_mask(x).reshape(n, 1, h * w))  # (N, 1, HW)
        context = torch.matmul(x.reshape(n, 1, c, h * w), mask.unsqueeze(-1))  # (N, 1, C, 1)
        return context.reshape(n, c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = self.spatial_pool(x)
        out = x
        if self.channel_mul_conv is not None:
            out = out * torch.sigmoid(self.channel_mul_conv(context))
        if self.channel_add_conv is not None:
            out = out + self.channel_add_conv(context)
        return out
