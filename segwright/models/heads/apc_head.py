"""APCNet's ``APCHead``: adaptive context modules (ACM) at several pooling scales."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.context_concat_head import ContextConcatHead
from segwright.models.layers import ConvModule
from segwright.registry import MODELS


class ACM(nn.Module):
    """Adaptive context module: each pixel mixes the ``s x s`` pooled regions with learnt weights.

    The affinity of a pixel to the regions comes from its (reduced) feature plus a global
    context vector, through a 1x1 conv ``gla`` with ``s * s`` outputs and a sigmoid.

    Args:
        pool_scale: Region grid size ``s``.
        fusion: Add a 1x1 ``fusion_conv`` after the residual.
        in_channels, channels: Input and reduced channels.
        conv_cfg, norm_cfg, act_cfg: Layer configs.
    """

    def __init__(
        self,
        pool_scale: int,
        fusion: bool,
        in_channels: int,
        channels: int,
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> None:
        super().__init__()
        self.pool_scale = pool_scale
        self.fusion = fusion
        self.in_channels = in_channels
        self.channels = channels
        layers = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.pooled_redu_conv = ConvModule(in_channels, channels, 1, **layers)
        self.input_redu_conv = ConvModule(in_channels, channels, 1, **layers)
        self.global_info = ConvModule(channels, channels, 1, **layers)
        self.gla = nn.Conv2d(channels, pool_scale**2, 1, 1, 0)
        self.residual_conv = ConvModule(channels, channels, 1, **layers)
        if fusion:
            self.fusion_conv = ConvModule(channels, channels, 1, **layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        regions = self.pooled_redu_conv(F.adaptive_avg_pool2d(x, self.pool_scale))
        x = self.input_redu_conv(x)
        n, c, h, w = x.shape
        regions = regions.flatten(2).transpose(1, 2)  # (N, s*s, C)
        # the 1x1 global vector broadcast over the map (MMSeg resizes it with 'nearest')
        context = x + self.global_info(F.adaptive_avg_pool2d(x, 1))
        affinity = self.gla(context).permute(0, 2, 3, 1).reshape(n, h * w, self.pool_scale**2)
        out = torch.matmul(affinity.sigmoid(), regions)  # (N, H*W, C)
        out = out.transpose(1, 2).reshape(n, c, h, w)
        out = F.relu(self.residual_conv(out) + x)
        if self.fusion:
            out = self.fusion_conv(out)
        return out


@MODELS.register_module()
class APCHead(ContextConcatHead):
    """Adaptive Pyramid Context head: ``[x, ACM_s(x) for s in pool_scales]`` -> 3x3 bottleneck.

    Args:
        pool_scales: Region grid sizes of the ACMs.
        fusion: Give each ACM a 1x1 ``fusion_conv``.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(
        self, pool_scales: Sequence[int] = (1, 2, 3, 6), fusion: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.pool_scales = pool_scales
        self.fusion = fusion
        self._build_context(
            "acm_modules", "pool_scales", pool_scales,
            lambda s, **layers: ACM(s, fusion, self.in_channels, self.channels, **layers),
        )  # fmt: skip
