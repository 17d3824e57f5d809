"""SETR's ``SETRUPHead``: token norm, then conv + upsampling stages (naive and PUP decoders)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule, build_norm_layer
from segwright.models.layers.shape_convert import norm_tokens
from segwright.models.layers.upsample import Upsample
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_LN = dict(type="LN", eps=1e-6, requires_grad=True)
_INIT = [
    dict(type="Constant", val=1.0, bias=0, layer="LayerNorm"),
    dict(type="Normal", std=0.01, override=dict(name="conv_seg")),
]


@MODELS.register_module()
class SETRUPHead(BaseDecodeHead):
    """Naive (``num_convs=1``/2, 1x1 kernels) or progressive-upsampling (``num_convs=4``)
    decoder: ``norm`` over the input tokens, then ``up_convs.{i}`` = ConvModule + bilinear
    upsampling by ``up_scale``.

    Args:
        norm_layer: Token norm of the input (``norm``).
        num_convs: Conv + upsampling stages.
        up_scale: Upsampling factor of each stage.
        kernel_size: 1 or 3.
        init_cfg: Default: unit LayerNorm, ``conv_seg`` ~ Normal(0, 0.01).
        **kwargs: :class:`BaseDecodeHead` arguments (one input).

    Shapes:
        ``(N, in_channels, h, w)`` -> ``(N, num_classes, h * up_scale**num_convs, ...)``.
    """

    def __init__(
        self,
        norm_layer: Mapping[str, Any] = _LN,
        num_convs: int = 1,
        up_scale: int = 4,
        kernel_size: int = 3,
        init_cfg: Any = _INIT,
        **kwargs: Any,
    ) -> None:
        if kernel_size not in (1, 3):
            raise ConfigError(f"SETRUPHead kernel_size must be 1 or 3, got {kernel_size!r}.")
        super().__init__(init_cfg=init_cfg, **kwargs)
        if not isinstance(self.in_channels, int):
            raise ConfigError(f"SETRUPHead reads one input; in_channels={self.in_channels!r}.")
        self.norm = build_norm_layer(norm_layer, self.in_channels)[1]
        self.up_convs = nn.ModuleList()
        channels = self.in_channels
        for _ in range(num_convs):
            self.up_convs.append(
                nn.Sequential(
                    ConvModule(
                        channels,
                        self.channels,
                        kernel_size,
                        padding=(kernel_size - 1) // 2,
                        norm_cfg=self.norm_cfg,
                        act_cfg=self.act_cfg,
                    ),  # fmt: skip
                    Upsample(
                        scale_factor=up_scale, mode="bilinear", align_corners=self.align_corners
                    ),
                )
            )
            channels = self.channels

    def forward(self, inputs: Any) -> torch.Tensor:
        x = norm_tokens(self.norm, self._transform_inputs(inputs))
        for up_conv in self.up_convs:
            x = up_conv(x)
        return self.cls_seg(x)
