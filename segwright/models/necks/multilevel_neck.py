"""``MultiLevelNeck``: turns a plain ViT's same-stride outputs into a feature pyramid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers import ConvModule, resize
from segwright.models.utils.weight_init import xavier_init
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class MultiLevelNeck(nn.Module):
    """1x1 ``lateral_convs`` per input, bilinear rescaling by ``scales``, 3x3 ``convs``.

    A single input is shared by every output scale.

    Args:
        in_channels: Channels of each input.
        out_channels: Channels of every output.
        scales: Resize factor of each output (e.g. ``[4, 2, 1, 0.5]`` for strides 4..32 from
            a stride-16 ViT).
        norm_cfg, act_cfg: Layer configs of both conv kinds (default: plain convs).

    Shapes:
        ``(N, in_channels[i], h, w)`` -> ``(N, out_channels, floor(h * s_i), floor(w * s_i))``.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        scales: Sequence[float] = (0.5, 1, 2, 4),
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(in_channels, (list, tuple)):
            raise ConfigError(f"MultiLevelNeck in_channels must be a list, got {in_channels!r}.")
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.scales = list(scales)
        self.num_outs = len(self.scales)
        if len(self.in_channels) not in (1, self.num_outs):
            raise ConfigError(
                f"MultiLevelNeck needs one input or one per scale: {len(self.in_channels)} "
                f"in_channels for scales {self.scales}."
            )
        layer_args = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.lateral_convs = nn.ModuleList(
            ConvModule(c, out_channels, kernel_size=1, **layer_args) for c in self.in_channels
        )
        self.convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, kernel_size=3, padding=1, **layer_args)
            for _ in range(self.num_outs)
        )

    def init_weights(self) -> None:
        """Xavier-uniform convs, as MMSeg."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                xavier_init(m, distribution="uniform")

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if len(inputs) != len(self.in_channels):
            raise ValueError(
                f"MultiLevelNeck expects {len(self.in_channels)} inputs, got {len(inputs)}."
            )
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, inputs)]
        if len(laterals) == 1:
            laterals = laterals * self.num_outs
        return tuple(
            conv(resize(x, scale_factor=scale, mode="bilinear"))
            for conv, x, scale in zip(self.convs, laterals, self.scales)
        )
