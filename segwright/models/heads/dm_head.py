"""DMNet's ``DMHead``: dynamic convolutional modules (DCM) with per-image generated filters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.context_concat_head import ContextConcatHead
from segwright.models.layers import ConvModule, build_activation_layer, build_norm_layer
from segwright.registry import MODELS


class DCM(nn.Module):
    """Dynamic convolutional module: a depthwise ``k x k`` filter generated from the image.

    The filter of each (image, channel) is the ``k x k`` adaptive average pool of the input
    through a 1x1 conv; it is applied to the reduced input with zero "same" padding (for an
    even ``k`` one more row/column on the top/left), then norm and activation.

    Args:
        filter_size: ``k``.
        fusion: Add a 1x1 ``fusion_conv`` at the end.
        in_channels, channels: Input and reduced channels.
        conv_cfg, norm_cfg, act_cfg: Layer configs.
    """

    def __init__(
        self,
        filter_size: int,
        fusion: bool,
        in_channels: int,
        channels: int,
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> None:
        super().__init__()
        self.filter_size = filter_size
        self.fusion = fusion
        self.in_channels = in_channels
        self.channels = channels
        layers = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.filter_gen_conv = nn.Conv2d(in_channels, channels, 1, 1, 0)
        self.input_redu_conv = ConvModule(in_channels, channels, 1, **layers)
        self.norm = build_norm_layer(norm_cfg, channels)[1] if norm_cfg is not None else None
        self.activate = build_activation_layer(act_cfg)  # type: ignore[arg-type]
        if fusion:
            self.fusion_conv = ConvModule(channels, channels, 1, **layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.filter_size
        filters = self.filter_gen_conv(F.adaptive_avg_pool2d(x, k))
        x = self.input_redu_conv(x)
        n, c, h, w = x.shape
        pad = (k - 1) // 2
        before = pad if (k - 1) % 2 == 0 else pad + 1
        x = F.pad(x.reshape(1, n * c, h, w), (before, pad, before, pad))
        out = F.conv2d(x, filters.reshape(n * c, 1, k, k), groups=n * c).reshape(n, c, h, w)
        if self.norm is not None:
            out = self.norm(out)
        out = self.activate(out)
        if self.fusion:
            out = self.fusion_conv(out)
        return out


@MODELS.register_module()
class DMHead(ContextConcatHead):
    """Dynamic Multi-scale filter head: ``[x, DCM_k(x) for k in filter_sizes]`` -> bottleneck.

    Args:
        filter_sizes: Generated filter sizes, one DCM each.
        fusion: Give each DCM a 1x1 ``fusion_conv``.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(
        self, filter_sizes: Sequence[int] = (1, 3, 5, 7), fusion: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.filter_sizes = filter_sizes
        self.fusion = fusion
        self._build_context(
            "dcm_modules", "filter_sizes", filter_sizes,
            lambda k, **layers: DCM(k, fusion, self.in_channels, self.channels, **layers),
        )  # fmt: skip
