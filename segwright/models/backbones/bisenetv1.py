"""``BiSeNetV1`` backbone (Yu et al., 2018) with MMSeg's arguments and keys.

Two paths over the same image: a shallow ``spatial_path`` (three stride-2 convs, 1/8 of the
input) keeps detail, a ``context_path`` (any backbone with four outputs at strides 4..32, e.g.
ResNet-18) adds context through attention refinement (``arm16``/``arm32``) and a global pooling
branch (``gap_conv``). A feature fusion module (``ffm``) merges the two.

Outputs, in order (``out_indices`` picks): the fused map (``out_channels``, stride 8), the
refined context at stride 8 and at stride 16 (both ``context_channels[0]``; MMSeg's configs feed
them to auxiliary ``FCNHead``s).

As in MMSeg, only the outer ``norm_cfg`` reaches the inner backbone's config; the paths, the
refinement and fusion modules always use their own defaults (BN, ReLU).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers import ConvModule, resize
from segwright.models.utils import BaseModule
from segwright.registry import MODELS, build_if_dict
from segwright.utils.errors import ConfigError

_BN = dict(type="BN")
_RELU = dict(type="ReLU")


def _check_len(name: str, value: Sequence[int], length: int) -> tuple[int, ...]:
    value = tuple(value)
    if len(value) != length:
        raise ConfigError(f"BiSeNetV1 {name} needs {length} values, got {value}.")
    return value


class SpatialPath(BaseModule):
    """7x7/2, 3x3/2, 3x3/2 then a 1x1 ConvModule (``layer1`` ... ``layer4``): 1/8 resolution.

    Shapes:
        ``(N, in_channels, H, W)`` -> ``(N, num_channels[3], H / 8, W / 8)``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_channels: Sequence[int] = (64, 64, 64, 128),
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = _BN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        num_channels = _check_len("spatial_channels", num_channels, 4)
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        # (kernel, stride) of each layer; padding keeps "same" size before the stride
        shapes = ((7, 2), (3, 2), (3, 2), (1, 1))
        self.layers: list[str] = []
        channels = in_channels
        for i, ((kernel, stride), out) in enumerate(zip(shapes, num_channels)):
            name = f"layer{i + 1}"
            layer = ConvModule(channels, out, kernel, stride, kernel // 2, **layer_args)
            self.add_module(name, layer)
            self.layers.append(name)
            channels = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.layers:
            x = getattr(self, name)(x)
        return x


class AttentionRefinementModule(BaseModule):
    """A 3x3 ConvModule, reweighted per channel by sigmoid(BN(1x1 conv(global average))).

    Keys: ``conv_layer``, ``atten_conv_layer.1`` (the 1x1 ConvModule, no activation).
    """

    def __init__(
        self,
        in_channels: int,
        out_channel: int,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = _BN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.conv_layer = ConvModule(
            in_channels, out_channel, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )  # fmt: skip
        self.atten_conv_layer = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvModule(
                out_channel, out_channel, 1, bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                act_cfg=None,
            ),
            nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_layer(x)
        return x * self.atten_conv_layer(x)


class ContextPath(BaseModule):
    """The inner backbone, refined at 1/32 and 1/16 and brought up one level each.

    Args:
        backbone_cfg: The inner backbone (a config dict or a built module) with four outputs
            at strides 4, 8, 16, 32 and channels ending in ``context_channels[1:]``.
        context_channels: Width of the refined maps, and of the inner backbone's last two
            outputs.
        align_corners: Kept for MMSeg's signature (the upsampling is nearest-neighbour).

    Shapes:
        ``(N, C, H, W)`` -> ``(x_16_up, x_32_up)``: ``context_channels[0]`` channels at the
        sizes of the backbone's stride-8 and stride-16 outputs.
    """

    def __init__(
        self,
        backbone_cfg: Mapping[str, Any] | nn.Module,
        context_channels: Sequence[int] = (128, 256, 512),
        align_corners: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = _BN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        context_channels = _check_len("context_channels", context_channels, 3)
        self.backbone = build_if_dict(backbone_cfg, MODELS, key="backbone_cfg")
        self.align_corners = align_corners
        width = context_channels[0]
        self.arm16 = AttentionRefinementModule(context_channels[1], width)
        self.arm32 = AttentionRefinementModule(context_channels[2], width)
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv_head32 = ConvModule(width, width, 3, padding=1, **layer_args)
        self.conv_head16 = ConvModule(width, width, 3, padding=1, **layer_args)
        self.gap_conv = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), ConvModule(context_channels[2], width, 1, **layer_args)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.backbone(x)
        if len(feats) != 4:
            raise ValueError(
                f"BiSeNetV1's context backbone must return 4 feature maps (strides 4..32), "
                f"got {len(feats)}; set its out_indices=(0, 1, 2, 3)."
            )
        _, x_8, x_16, x_32 = feats
        x_32 = self.arm32(x_32) + self.gap_conv(x_32)
        x_32_up = self.conv_head32(resize(x_32, size=x_16.shape[2:], mode="nearest"))
        x_16 = self.arm16(x_16) + x_32_up
        x_16_up = self.conv_head16(resize(x_16, size=x_8.shape[2:], mode="nearest"))
        return x_16_up, x_32_up


class FeatureFusionModule(BaseModule):
    """Concatenate, 1x1 ConvModule (``conv1``), then ``y + y * sigmoid(conv_atten(gap(y)))``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = _BN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_channels, out_channels, 1, **layer_args)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.conv_atten = nn.Sequential(
            ConvModule(out_channels, out_channels, 1, bias=False, **layer_args), nn.Sigmoid()
        )

    def forward(self, x_sp: torch.Tensor, x_cp: torch.Tensor) -> torch.Tensor:
        fused = self.conv1(torch.cat([x_sp, x_cp], dim=1))
        return fused * self.conv_atten(self.gap(fused)) + fused


@MODELS.register_module()
class BiSeNetV1(BaseModule):
    """BiSeNet: a spatial path and a context path, fused at 1/8 of the input.

    Args:
        backbone_cfg: The context path's backbone (config dict or module).
        in_channels: Image channels (of the spatial path).
        spatial_channels: Widths of the spatial path's four layers.
        context_channels: Width of the refined context maps, then the inner backbone's
            stride-16 and stride-32 output channels.
        out_indices: Which of (fused, context 1/8, context 1/16) to return.
        align_corners: Kept for MMSeg's signature.
        out_channels: Channels of the fused output.
        conv_cfg, norm_cfg, act_cfg: Stored, as in MMSeg; the inner modules use BN/ReLU.
        init_cfg: Initialisation config.

    Shapes:
        ``(N, in_channels, H, W)`` -> tuple of ``(N, out_channels[i], H / s_i, W / s_i)`` with
        ``s_i = out_strides[i]`` (H, W multiples of 32).
    """

    def __init__(
        self,
        backbone_cfg: Mapping[str, Any] | nn.Module,
        in_channels: int = 3,
        spatial_channels: Sequence[int] = (64, 64, 64, 128),
        context_channels: Sequence[int] = (128, 256, 512),
        out_indices: int | Sequence[int] = (0, 1, 2),
        align_corners: bool = False,
        out_channels: int = 256,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = dict(type="BN", requires_grad=True),  # noqa: B006
        act_cfg: Mapping[str, Any] | None = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        spatial_channels = _check_len("spatial_channels", spatial_channels, 4)
        context_channels = _check_len("context_channels", context_channels, 3)
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        if not out_indices or any(i not in range(3) for i in out_indices):
            raise ConfigError(f"BiSeNetV1 out_indices {out_indices} must name outputs 0..2.")
        self.out_indices = out_indices
        self.align_corners = align_corners
        self.context_path = ContextPath(backbone_cfg, context_channels, align_corners)
        self.spatial_path = SpatialPath(in_channels, spatial_channels)
        # MMSeg sizes the fusion by context_channels[1]: spatial_channels[3] + context_channels[0]
        # must add up to it, as they do in every shipped config (128 + 128 = 256).
        self.ffm = FeatureFusionModule(context_channels[1], out_channels)
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        inner = getattr(self.context_path.backbone, "out_strides", (4, 8, 16, 32))
        channels = (out_channels, context_channels[0], context_channels[0])
        strides = (8, inner[1], inner[2])
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(channels[i] for i in out_indices)
        self.out_strides = tuple(strides[i] for i in out_indices)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x_context8, x_context16 = self.context_path(x)
        x_fuse = self.ffm(self.spatial_path(x), x_context8)
        outs = (x_fuse, x_context8, x_context16)
        return tuple(outs[i] for i in self.out_indices)
