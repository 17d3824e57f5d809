"""DeepLabV3's ``ASPPHead``: image pooling plus parallel dilated convs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, resize
from segwright.registry import MODELS


class ASPPModule(nn.ModuleList):
    """One ConvModule per dilation: 1x1 for dilation 1, else 3x3 with padding = dilation."""

    def __init__(
        self,
        dilations: Sequence[int],
        in_channels: int,
        channels: int,
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> None:
        super().__init__()
        self.dilations = tuple(dilations)
        for d in self.dilations:
            self.append(
                ConvModule(
                    in_channels, channels, 1 if d == 1 else 3, dilation=d,
                    padding=0 if d == 1 else d, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
            )  # fmt: skip

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # type: ignore[override]
        return [branch(x) for branch in self]


@MODELS.register_module()
class ASPPHead(BaseDecodeHead):
    """Atrous Spatial Pyramid Pooling head.

    ``image_pool`` (global average pool + 1x1 conv, upsampled) and ``aspp_modules`` are
    concatenated ((len(dilations) + 1) * channels) and fused by a 3x3 ``bottleneck``.

    Args:
        dilations: Dilation of each parallel branch.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, dilations: Sequence[int] = (1, 6, 12, 18), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dilations = tuple(dilations)
        layer_args = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvModule(self.in_channels, self.channels, 1, **layer_args),  # type: ignore[arg-type]
        )
        self.aspp_modules = self._make_aspp(layer_args)
        self.bottleneck = ConvModule(
            (len(self.dilations) + 1) * self.channels, self.channels, 3, padding=1, **layer_args
        )

    def _make_aspp(self, layer_args: dict[str, Any]) -> nn.Module:
        return ASPPModule(self.dilations, self.in_channels, self.channels, **layer_args)  # type: ignore[arg-type]

    def _aspp_features(self, x: torch.Tensor) -> torch.Tensor:
        pooled = resize(
            self.image_pool(x), size=x.shape[2:], mode="bilinear", align_corners=self.align_corners
        )
        return self.bottleneck(torch.cat([pooled, *self.aspp_modules(x)], dim=1))

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self._aspp_features(self._transform_inputs(inputs))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._forward_feature(inputs))
