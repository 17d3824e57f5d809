"""``ICNet`` backbone (Zhao et al., 2018) with MMSeg's arguments and keys.

Three branches over one image: a light branch (three 3x3/2 ConvModules, ``conv_sub1``) at full
resolution, and a ResNet (with a deep stem, e.g. ``ResNetV1c``) run on the half-resolution
image up to ``layer2`` (``conv_sub2``) and, after halving once more, through ``layer3``/
``layer4`` and pyramid pooling (``psp_modules``, ``psp_bottleneck``, ``conv_sub4``).
:class:`~segwright.models.necks.ICNeck` then fuses the three outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers import ConvModule, resize
from segwright.models.layers.ppm import PPM
from segwright.models.utils import BaseModule
from segwright.registry import MODELS, build_if_dict
from segwright.utils.errors import ConfigError

_CfgArg = Mapping[str, Any] | None


@MODELS.register_module()
class ICNet(BaseModule):
    """ICNet's three-resolution backbone.

    Args:
        backbone_cfg: The ResNet (config dict or module); it needs a deep stem (``stem``),
            and its ``maxpool`` is replaced by a ceil-mode one, as in MMSeg.
        in_channels: Image channels (of the light branch).
        layer_channels: The ResNet's ``layer2`` and ``layer4`` output channels.
        light_branch_middle_channels: Width of the light branch's first two convs.
        psp_out_channels: Width of the pyramid pooling branches and bottleneck.
        out_channels: Channels of the three outputs (light, half, quarter resolution).
        pool_scales: Pyramid pooling scales.
        conv_cfg, norm_cfg, act_cfg: Layer configs.
        align_corners: Of the resizes.
        init_cfg: Initialisation config (default: Kaiming fan-out convs, constant-1 BNs).

    Shapes:
        ``(N, in_channels, H, W)`` -> three maps at nominal strides 8, 16, 32 of the input
        (with a dilated, output-stride-8 ResNet as in MMSeg's configs); the ceil-mode max pool
        keeps one extra row and column at 1/16 (a 64x64 input gives 8, 5 and 2 pixels).
    """

    def __init__(
        self,
        backbone_cfg: Mapping[str, Any] | nn.Module,
        in_channels: int = 3,
        layer_channels: Sequence[int] = (512, 2048),
        light_branch_middle_channels: int = 32,
        psp_out_channels: int = 512,
        out_channels: Sequence[int] = (64, 256, 256),
        pool_scales: Sequence[int] = (1, 2, 3, 6),
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = dict(type="BN", requires_grad=True),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = dict(type="ReLU"),  # noqa: B006 - MMSeg default
        align_corners: bool = False,
        init_cfg: Any = None,
    ) -> None:
        if backbone_cfg is None:
            raise ConfigError("ICNet needs backbone_cfg (the ResNet it runs on).")
        if init_cfg is None:
            init_cfg = [
                dict(type="Kaiming", mode="fan_out", layer="Conv2d"),
                dict(type="Constant", val=1, layer="_BatchNorm"),
                dict(type="Normal", mean=0.01, layer="Linear"),
            ]
        super().__init__(init_cfg)
        out_channels = tuple(out_channels)
        if len(out_channels) != 3 or len(tuple(layer_channels)) != 2:
            raise ConfigError(
                f"ICNet needs 3 out_channels and 2 layer_channels, got {out_channels} and "
                f"{tuple(layer_channels)}."
            )
        self.align_corners = align_corners
        self.backbone = build_if_dict(backbone_cfg, MODELS, key="backbone_cfg")
        if not hasattr(self.backbone, "stem"):
            raise ConfigError(
                "ICNet's backbone needs a deep stem (e.g. ResNetV1c, or ResNet with "
                "deep_stem=True)."
            )
        self.backbone.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=True)
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.psp_modules = PPM(
            pool_scales, layer_channels[1], psp_out_channels, act_cfg=act_cfg,
            align_corners=align_corners, **layer_args,
        )  # fmt: skip
        self.psp_bottleneck = ConvModule(
            layer_channels[1] + len(tuple(pool_scales)) * psp_out_channels, psp_out_channels, 3,
            padding=1, act_cfg=act_cfg, **layer_args,
        )  # fmt: skip
        # (the branch convs keep ConvModule's default ReLU, whatever act_cfg says, as in MMSeg)
        mid = light_branch_middle_channels
        self.conv_sub1 = nn.Sequential(
            ConvModule(in_channels, mid, 3, stride=2, padding=1, **layer_args),
            ConvModule(mid, mid, 3, stride=2, padding=1, **layer_args),
            ConvModule(mid, out_channels[0], 3, stride=2, padding=1, **layer_args),
        )
        self.conv_sub2 = ConvModule(layer_channels[0], out_channels[1], 1, **layer_args)
        self.conv_sub4 = ConvModule(psp_out_channels, out_channels[2], 1, **layer_args)
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = out_channels
        inner = getattr(self.backbone, "out_strides", (4, 8, 8, 8))
        self.out_strides = (8, 2 * inner[1], 4 * inner[3])

    def _half(self, x: torch.Tensor) -> torch.Tensor:
        return resize(x, scale_factor=0.5, mode="bilinear", align_corners=self.align_corners)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        sub1 = self.conv_sub1(x)
        net = self.backbone
        x = net.layer2(net.layer1(net.maxpool(net.stem(self._half(x)))))
        sub2 = self.conv_sub2(x)
        x = net.layer4(net.layer3(self._half(x)))
        x = self.psp_bottleneck(torch.cat([*self.psp_modules(x), x], dim=1))
        return sub1, sub2, self.conv_sub4(x)
