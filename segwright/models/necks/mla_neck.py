"""SETR-MLA's ``MLANeck``: per-level token norms, then a top-down cumulative aggregation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers import ConvModule, build_norm_layer
from segwright.models.layers.shape_convert import norm_tokens
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_LN = dict(type="LN", eps=1e-6, requires_grad=True)


class MLAModule(nn.Module):
    """1x1 ``channel_proj`` per level; running sums from the last level back; 3x3
    ``feat_extract`` on each sum. Output ``i`` aggregates levels ``L-1-i .. L-1``."""

    def __init__(
        self,
        in_channels: Sequence[int] = (1024, 1024, 1024, 1024),
        out_channels: int = 256,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        layer_args = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.channel_proj = nn.ModuleList(
            ConvModule(c, out_channels, kernel_size=1, **layer_args) for c in in_channels
        )
        self.feat_extract = nn.ModuleList(
            ConvModule(out_channels, out_channels, kernel_size=3, padding=1, **layer_args)
            for _ in in_channels
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        projected = [conv(x) for x, conv in zip(inputs, self.channel_proj)]
        sums: list[torch.Tensor] = []
        for feat in reversed(projected):
            sums.append(feat if not sums else sums[-1] + feat)
        return tuple(conv(s) for s, conv in zip(sums, self.feat_extract))


@MODELS.register_module()
class MLANeck(nn.Module):
    """Multi-level aggregation neck of SETR-MLA (same-size ViT features in and out).

    Args:
        in_channels: Channels of each input level.
        out_channels: Channels of every output.
        norm_layer: Token norm applied to each input first (``norm.{i}``).
        norm_cfg, act_cfg: Layer configs of the MLA convs.

    Shapes:
        ``L x (N, in_channels[i], h, w)`` -> ``L x (N, out_channels, h, w)``; output ``i``
        sums the projections of the last ``i + 1`` inputs.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        norm_layer: Mapping[str, Any] = _LN,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(in_channels, (list, tuple)):
            raise ConfigError(f"MLANeck in_channels must be a list, got {in_channels!r}.")
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.norm = nn.ModuleList(build_norm_layer(norm_layer, c)[1] for c in self.in_channels)
        self.mla = MLAModule(self.in_channels, out_channels, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if len(inputs) != len(self.in_channels):
            raise ValueError(f"MLANeck expects {len(self.in_channels)} inputs, got {len(inputs)}.")
        return self.mla([norm_tokens(norm, x) for norm, x in zip(self.norm, inputs)])
