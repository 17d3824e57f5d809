"""``BiSeNetV2`` backbone (Yu et al., 2020) with MMSeg's arguments and keys.

A wide, shallow ``detail`` branch (1/8 of the input) and a narrow, deep ``semantic`` branch
(stem, gather-and-expand layers, a context embedding block; 1/32) meet in a bilateral guided
aggregation layer (``bga``), each branch gating the other.

Outputs, in order (``out_indices`` picks): the aggregated map (``bga_channels``, stride 8), then
the semantic stages 1..4 (``semantic_channels``, strides 4, 8, 16, 32), which MMSeg's configs
feed to auxiliary ``FCNHead``s.

As in MMSeg, the branches and the aggregation layer always use their own defaults (BN, ReLU);
``conv_cfg``/``norm_cfg``/``act_cfg`` of the backbone are stored only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers import (
    ConvModule,
    DepthwiseSeparableConvModule,
    build_activation_layer,
    build_norm_layer,
    resize,
)
from segwright.models.utils import BaseModule
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_BN = dict(type="BN")
_RELU = dict(type="ReLU")
_CfgArg = Mapping[str, Any] | None


class DetailBranch(BaseModule):
    """Stages of 3x3 ConvModules (``detail_branch.<i>.<j>``), the first of each with stride 2.

    The first stage has two convs, later ones three.

    Shapes:
        ``(N, in_channels, H, W)`` -> ``(N, detail_channels[-1], H / 2**k, W / 2**k)``, k stages.
    """

    def __init__(
        self,
        detail_channels: Sequence[int] = (64, 64, 128),
        in_channels: int = 3,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        stages = []
        channels = in_channels
        for i, out in enumerate(detail_channels):
            convs = [ConvModule(channels, out, 3, stride=2, padding=1, **layer_args)]
            convs += [
                ConvModule(out, out, 3, padding=1, **layer_args) for _ in range(1 if i == 0 else 2)
            ]
            stages.append(nn.Sequential(*convs))
            channels = out
        self.detail_branch = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.detail_branch:
            x = stage(x)
        return x


class StemBlock(BaseModule):
    """3x3/2 conv, then [1x1 -> 3x3/2 convs | 3x3/2 max pool], concatenated and fused (1/4)."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 16,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        half = out_channels // 2
        self.conv_first = ConvModule(in_channels, out_channels, 3, 2, 1, **layer_args)
        self.convs = nn.Sequential(
            ConvModule(out_channels, half, 1, **layer_args),
            ConvModule(half, out_channels, 3, 2, 1, **layer_args),
        )
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.fuse_last = ConvModule(out_channels * 2, out_channels, 3, padding=1, **layer_args)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_first(x)
        return self.fuse_last(torch.cat([self.convs(x), self.pool(x)], dim=1))


class GELayer(BaseModule):
    """Gather-and-expand layer: 3x3 conv, grouped 3x3 expansion (x ``exp_ratio``), 1x1 project.

    With ``stride=2`` the expansion is strided (no activation) and followed by a depthwise 3x3,
    and the shortcut is a depthwise-separable stride-2 conv; otherwise the shortcut is the
    identity. The sum goes through ``act``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        exp_ratio: int = 6,
        stride: int = 1,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ConfigError(f"GELayer stride must be 1 or 2, got {stride!r}.")
        mid = in_channels * exp_ratio
        norm_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.conv1 = ConvModule(
            in_channels, in_channels, 3, padding=1, act_cfg=act_cfg, **norm_args
        )
        self.shortcut: nn.Module | None
        if stride == 1:
            self.dwconv = nn.Sequential(
                ConvModule(
                    in_channels, mid, 3, padding=1, groups=in_channels, act_cfg=act_cfg,
                    **norm_args,
                )
            )  # fmt: skip
            self.shortcut = None
        else:
            self.dwconv = nn.Sequential(
                ConvModule(
                    in_channels, mid, 3, 2, 1, groups=in_channels, bias=False, act_cfg=None,
                    **norm_args,
                ),
                ConvModule(mid, mid, 3, padding=1, groups=mid, act_cfg=act_cfg, **norm_args),
            )  # fmt: skip
            self.shortcut = nn.Sequential(
                DepthwiseSeparableConvModule(
                    in_channels, out_channels, 3, stride=2, padding=1, dw_norm_cfg=norm_cfg,
                    dw_act_cfg=None, pw_norm_cfg=norm_cfg, pw_act_cfg=None,
                )
            )  # fmt: skip
        self.conv2 = nn.Sequential(
            ConvModule(mid, out_channels, 1, bias=False, act_cfg=None, **norm_args)
        )
        if stride == 1 and in_channels != out_channels:
            raise ConfigError(
                f"GELayer with stride 1 adds its input back, so in_channels ({in_channels}) "
                f"must equal out_channels ({out_channels})."
            )
        self.act = build_activation_layer(act_cfg) if act_cfg is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.dwconv(self.conv1(x)))
        shortcut = x if self.shortcut is None else self.shortcut(x)
        return self.act(out + shortcut)


class CEBlock(BaseModule):
    """Context embedding: ``conv_last(x + conv_gap(BN(global average of x)))``."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 16,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if in_channels != out_channels:
            raise ConfigError(
                f"CEBlock adds its input back, so in_channels ({in_channels}) must equal "
                f"out_channels ({out_channels})."
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.gap = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), build_norm_layer(norm_cfg, in_channels)[1]
        )
        self.conv_gap = ConvModule(in_channels, out_channels, 1, **layer_args)
        self.conv_last = ConvModule(out_channels, out_channels, 3, padding=1, **layer_args)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_last(x + self.conv_gap(self.gap(x)))


class SemanticBranch(BaseModule):
    """``stage1`` (a :class:`StemBlock`), ``stage2..`` (GELayers: one stride-2, then 1 or 3
    more in the last stage) and ``stage<k>_CEBlock``; returns every stage's output."""

    def __init__(
        self,
        semantic_channels: Sequence[int] = (16, 32, 64, 128),
        in_channels: int = 3,
        exp_ratio: int = 6,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        semantic_channels = tuple(semantic_channels)
        if len(semantic_channels) < 2:
            raise ConfigError(
                f"BiSeNetV2 semantic_channels needs at least 2 stages, got {semantic_channels}."
            )
        self.in_channels = in_channels
        self.semantic_channels = semantic_channels
        self.semantic_stages: list[str] = []
        last = len(semantic_channels) - 1
        for i, out in enumerate(semantic_channels):
            name = f"stage{i + 1}"
            if i == 0:
                stage: nn.Module = StemBlock(in_channels, out)
            else:
                layers = [GELayer(semantic_channels[i - 1], out, exp_ratio, 2)]
                layers += [GELayer(out, out, exp_ratio, 1) for _ in range(3 if i == last else 1)]
                stage = nn.Sequential(*layers)
            self.add_module(name, stage)
            self.semantic_stages.append(name)
        name = f"stage{len(semantic_channels)}_CEBlock"
        self.add_module(name, CEBlock(semantic_channels[-1], semantic_channels[-1]))
        self.semantic_stages.append(name)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for name in self.semantic_stages:
            x = getattr(self, name)(x)
            outs.append(x)
        return outs


class BGALayer(BaseModule):
    """Bilateral guided aggregation: each branch is gated by a sigmoid of the other.

    ``detail_dwconv(d) * sigmoid(up(semantic_conv(s)))`` plus
    ``up(detail_down(d) * sigmoid(semantic_dwconv(s)))``, then ``conv``.
    """

    def __init__(
        self,
        out_channels: int = 128,
        align_corners: bool = False,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        c = out_channels
        self.out_channels = out_channels
        self.align_corners = align_corners
        norm_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)

        def dw_then_pointwise() -> nn.Sequential:
            return nn.Sequential(
                DepthwiseSeparableConvModule(
                    c, c, 3, padding=1, dw_norm_cfg=norm_cfg, dw_act_cfg=None, pw_norm_cfg=None,
                    pw_act_cfg=None,
                )
            )  # fmt: skip

        self.detail_dwconv = dw_then_pointwise()
        self.detail_down = nn.Sequential(
            ConvModule(c, c, 3, 2, 1, bias=False, act_cfg=None, **norm_args),
            nn.AvgPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.semantic_conv = nn.Sequential(
            ConvModule(c, c, 3, padding=1, bias=False, act_cfg=None, **norm_args)
        )
        self.semantic_dwconv = dw_then_pointwise()
        self.conv = ConvModule(c, c, 3, padding=1, act_cfg=act_cfg, **norm_args)

    def forward(self, x_d: torch.Tensor, x_s: torch.Tensor) -> torch.Tensor:
        detail = self.detail_dwconv(x_d)
        size = detail.shape[2:]
        semantic = resize(
            self.semantic_conv(x_s), size=size, mode="bilinear", align_corners=self.align_corners
        )
        fuse_1 = detail * torch.sigmoid(semantic)
        fuse_2 = self.detail_down(x_d) * torch.sigmoid(self.semantic_dwconv(x_s))
        fuse_2 = resize(fuse_2, size=size, mode="bilinear", align_corners=self.align_corners)
        return self.conv(fuse_1 + fuse_2)


@MODELS.register_module()
class BiSeNetV2(BaseModule):
    """BiSeNetV2: detail and semantic branches joined by guided aggregation.

    Args:
        in_channels: Image channels.
        detail_channels: Widths of the detail branch's stages (its last must be
            ``bga_channels``).
        semantic_channels: Widths of the semantic branch's stages (its last must be
            ``bga_channels``).
        semantic_expansion_ratio: Expansion of the gather-and-expand layers.
        bga_channels: Width of the aggregation layer (its output).
        out_indices: Which of (aggregated, semantic stage 1..k) to return.
        align_corners: Of the aggregation layer's bilinear resizes.
        conv_cfg, norm_cfg, act_cfg: Stored, as in MMSeg; the branches use BN/ReLU.
        init_cfg: Initialisation config (default: Kaiming convs, constant-1 norms).

    Shapes:
        ``(N, in_channels, H, W)`` -> tuple of ``(N, out_channels[i], H / s_i, W / s_i)`` with
        ``s_i = out_strides[i]`` (H, W multiples of 32).
    """

    def __init__(
        self,
        in_channels: int = 3,
        detail_channels: Sequence[int] = (64, 64, 128),
        semantic_channels: Sequence[int] = (16, 32, 64, 128),
        semantic_expansion_ratio: int = 6,
        bga_channels: int = 128,
        out_indices: int | Sequence[int] = (0, 1, 2, 3, 4),
        align_corners: bool = False,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type="Kaiming", layer="Conv2d"),
                dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
            ]
        super().__init__(init_cfg)
        detail_channels, semantic_channels = tuple(detail_channels), tuple(semantic_channels)
        if detail_channels[-1] != bga_channels or semantic_channels[-1] != bga_channels:
            raise ConfigError(
                f"BiSeNetV2 aggregates the branches' last stages with bga_channels="
                f"{bga_channels}: detail_channels[-1] ({detail_channels[-1]}) and "
                f"semantic_channels[-1] ({semantic_channels[-1]}) must both equal it."
            )
        num_outs = 1 + len(semantic_channels)
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        if not out_indices or any(i not in range(num_outs) for i in out_indices):
            raise ConfigError(
                f"BiSeNetV2 out_indices {out_indices} must name outputs 0..{num_outs - 1}."
            )
        self.in_channels = in_channels
        self.out_indices = out_indices
        self.detail_channels = detail_channels
        self.semantic_channels = semantic_channels
        self.semantic_expansion_ratio = semantic_expansion_ratio
        self.bga_channels = bga_channels
        self.align_corners = align_corners
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.detail = DetailBranch(detail_channels, in_channels)
        self.semantic = SemanticBranch(semantic_channels, in_channels, semantic_expansion_ratio)
        self.bga = BGALayer(bga_channels, align_corners)
        channels = (bga_channels, *semantic_channels)
        strides = (
            2 ** len(detail_channels),
            *(2 ** (i + 2) for i in range(len(semantic_channels))),
        )
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(channels[i] for i in out_indices)
        self.out_strides = tuple(strides[i] for i in out_indices)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        semantic = self.semantic(x)
        outs = (self.bga(self.detail(x), semantic[-1]), *semantic[:-1])
        return tuple(outs[i] for i in self.out_indices)
