"""``MobileNetV3`` backbone (Howard et al., 2019) with MMSeg's arguments and keys.

MMSeg's segmentation version: the last two stride-2 blocks keep stride 1 and the layers after
them are dilated (2, then 4), so the output stride is 8. Layers are ``layer0`` (3x3/2 stem,
HSwish), ``layer1 .. layerK`` (inverted residuals with optional squeeze-excitation) and a final
1x1 ConvModule (576 or 960 channels); ``out_indices`` count them from 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.utils import NormEvalMixin, freeze, make_divisible
from segwright.models.layers import ConvModule
from segwright.models.layers.checkpoint import checkpointed
from segwright.models.layers.conv import Conv2dAdaptivePadding
from segwright.models.utils import BaseModule
from segwright.models.utils.pretrained import conv_backbone_init, init_cfg_from_pretrained
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_CfgArg = Mapping[str, Any] | None
_SE_ACTS = (dict(type="ReLU"), dict(type="HSigmoid", bias=3.0, divisor=6.0))


class SELayer(nn.Module):
    """Squeeze-and-excitation: ``x * act2(conv2(act1(conv1(mean(x)))))``.

    Args:
        channels: Input (and output) channels; the squeeze has
            ``make_divisible(channels // ratio, 8)``.
        ratio: Squeeze ratio.
        conv_cfg: Conv layer config.
        act_cfg: One activation config for both convs, or a pair (default ReLU, HSigmoid).
    """

    def __init__(
        self,
        channels: int,
        ratio: int = 16,
        conv_cfg: _CfgArg = None,
        act_cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]] = _SE_ACTS,
    ) -> None:
        super().__init__()
        acts = (act_cfg, act_cfg) if isinstance(act_cfg, Mapping) else tuple(act_cfg)
        if len(acts) != 2 or not all(isinstance(a, Mapping) for a in acts):
            raise ConfigError(f"SELayer act_cfg must be a dict or two dicts, got {act_cfg!r}.")
        squeeze = make_divisible(channels // ratio, 8)
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = ConvModule(channels, squeeze, 1, conv_cfg=conv_cfg, act_cfg=acts[0])
        self.conv2 = ConvModule(squeeze, channels, 1, conv_cfg=conv_cfg, act_cfg=acts[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv2(self.conv1(self.global_avgpool(x)))


class InvertedResidualV3(nn.Module):
    """MobileNetV3 block: optional 1x1 ``expand_conv``, k x k ``depthwise_conv`` (TF "same"
    padding when strided), optional ``se``, 1x1 ``linear_conv``; residual when shapes allow.

    Args:
        in_channels, out_channels: Block input/output channels.
        mid_channels: Width of the depthwise conv.
        kernel_size, stride: Of the depthwise conv (stride 1 or 2).
        se_cfg: :class:`SELayer` arguments, or None.
        with_expand_conv: Whether to expand (else ``mid_channels == in_channels``).
        conv_cfg, norm_cfg, act_cfg: Layer configs.
        with_cp: Gradient checkpointing.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        mid_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        se_cfg: Mapping[str, Any] | None = None,
        with_expand_conv: bool = True,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = dict(type="ReLU"),  # noqa: B006 - MMSeg default
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"InvertedResidualV3 stride must be 1 or 2, got {stride!r}.")
        if not with_expand_conv and mid_channels != in_channels:
            raise ConfigError(
                f"InvertedResidualV3 without expand conv needs mid_channels ({mid_channels}) == "
                f"in_channels ({in_channels})."
            )
        self.with_res_shortcut = stride == 1 and in_channels == out_channels
        self.with_cp = with_cp
        self.with_se = se_cfg is not None
        self.with_expand_conv = with_expand_conv
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if with_expand_conv:
            self.expand_conv = ConvModule(
                in_channels, mid_channels, 1, act_cfg=act_cfg, **layer_args
            )
        self.depthwise_conv = ConvModule(
            mid_channels, mid_channels, kernel_size, stride=stride, padding=kernel_size // 2,
            groups=mid_channels, norm_cfg=norm_cfg, act_cfg=act_cfg,
            conv_cfg=dict(type="Conv2dAdaptivePadding") if stride == 2 else conv_cfg,
        )  # fmt: skip
        if se_cfg is not None:
            self.se = SELayer(**se_cfg)
        self.linear_conv = ConvModule(mid_channels, out_channels, 1, act_cfg=None, **layer_args)

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        out = self.expand_conv(x) if self.with_expand_conv else x
        out = self.depthwise_conv(out)
        if self.with_se:
            out = self.se(out)
        out = self.linear_conv(out)
        return x + out if self.with_res_shortcut else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return checkpointed(self._inner, x, self.with_cp)


@MODELS.register_module()
class MobileNetV3(NormEvalMixin, BaseModule):
    """MobileNetV3 (small or large), dilated to output stride 8.

    Args:
        arch: ``'small'`` or ``'large'``.
        conv_cfg, norm_cfg: Layer configs.
        out_indices: Layers (0 .. number of blocks + 1) whose outputs are returned.
        frozen_stages: Freeze ``layer0 .. layer<frozen_stages>`` (-1: none).
        reduction_factor: Divides the widths of the last stage (from block 8 / 12 on).
        norm_eval: Keep the batch norms in eval mode while training.
        with_cp: Gradient checkpointing in the blocks.
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_cfg: Initialisation config (default: Kaiming convs, constant-1 norms).

    Shapes:
        ``(N, 3, H, W)`` -> tuple of ``(N, out_channels[i], H / s_i, W / s_i)`` (rounded up)
        with ``s_i = out_strides[i]``.
    """

    #: Per block: kernel size, mid channels, out channels, with SE, activation, stride.
    arch_settings = {
        "small": [
            [3, 16, 16, True, "ReLU", 2],
            [3, 72, 24, False, "ReLU", 2],
            [3, 88, 24, False, "ReLU", 1],
            [5, 96, 40, True, "HSwish", 2],
            [5, 240, 40, True, "HSwish", 1],
            [5, 240, 40, True, "HSwish", 1],
            [5, 120, 48, True, "HSwish", 1],
            [5, 144, 48, True, "HSwish", 1],
            [5, 288, 96, True, "HSwish", 2],
            [5, 576, 96, True, "HSwish", 1],
            [5, 576, 96, True, "HSwish", 1],
        ],
        "large": [
            [3, 16, 16, False, "ReLU", 1],
            [3, 64, 24, False, "ReLU", 2],
            [3, 72, 24, False, "ReLU", 1],
            [5, 72, 40, True, "ReLU", 2],
            [5, 120, 40, True, "ReLU", 1],
            [5, 120, 40, True, "ReLU", 1],
            [3, 240, 80, False, "HSwish", 2],
            [3, 200, 80, False, "HSwish", 1],
            [3, 184, 80, False, "HSwish", 1],
            [3, 184, 80, False, "HSwish", 1],
            [3, 480, 112, True, "HSwish", 1],
            [3, 672, 112, True, "HSwish", 1],
            [5, 672, 160, True, "HSwish", 2],
            [5, 960, 160, True, "HSwish", 1],
            [5, 960, 160, True, "HSwish", 1],
        ],
    }
    #: Per arch: (first block of the reduced last stage, first layer at dilation 2, first layer
    #: at dilation 4); the layers starting a dilation keep stride 1.
    _dilation_plan = {"small": (8, 4, 9), "large": (12, 7, 13)}

    def __init__(
        self,
        arch: str = "small",
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        out_indices: Sequence[int] = (0, 1, 12),
        frozen_stages: int = -1,
        reduction_factor: int = 1,
        norm_eval: bool = False,
        with_cp: bool = False,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.init_cfg = init_cfg_from_pretrained(
            "MobileNetV3", pretrained, self.init_cfg, conv_backbone_init()
        )
        if arch not in self.arch_settings:
            raise ConfigError(f"MobileNetV3 arch must be 'small' or 'large', got {arch!r}.")
        if not isinstance(reduction_factor, int) or reduction_factor <= 0:
            raise ConfigError(
                f"MobileNetV3 reduction_factor must be an int > 0, got {reduction_factor!r}."
            )
        num_layers = len(self.arch_settings[arch]) + 2
        out_indices = tuple(out_indices)
        if any(not isinstance(i, int) or i not in range(num_layers) for i in out_indices):
            raise ConfigError(
                f"MobileNetV3 out_indices {out_indices} must name layers 0..{num_layers - 1}."
            )
        if frozen_stages not in range(-1, num_layers):
            raise ConfigError(
                f"MobileNetV3 frozen_stages must be -1..{num_layers - 1}, got {frozen_stages!r}."
            )
        self.pretrained = pretrained
        self.arch = arch
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.reduction_factor = reduction_factor
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        channels, strides = self._make_layers()
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(channels[i] for i in out_indices)
        self.out_strides = tuple(strides[i] for i in out_indices)

    def _make_layers(self) -> tuple[list[int], list[int]]:
        reduced_from, dilate2_from, dilate4_from = self._dilation_plan[self.arch]
        self.layers: list[str] = ["layer0"]
        self.layer0 = ConvModule(
            3, 16, 3, stride=2, padding=1, conv_cfg=dict(type="Conv2dAdaptivePadding"),
            norm_cfg=self.norm_cfg, act_cfg=dict(type="HSwish"),
        )  # fmt: skip
        in_channels, stride_so_far = 16, 2
        channels, strides = [16], [2]
        for i, (kernel, mid, out, with_se, act, stride) in enumerate(self.arch_settings[self.arch]):
            if i >= reduced_from:
                mid, out = mid // self.reduction_factor, out // self.reduction_factor
            se_cfg = dict(channels=mid, ratio=4, act_cfg=_SE_ACTS) if with_se else None
            block = InvertedResidualV3(
                in_channels, out, mid, kernel_size=kernel, stride=stride, se_cfg=se_cfg,
                with_expand_conv=in_channels != mid, conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg, act_cfg=dict(type=act), with_cp=self.with_cp,
            )  # fmt: skip
            self.add_module(f"layer{i + 1}", block)
            self.layers.append(f"layer{i + 1}")
            in_channels = out
            if i + 1 not in (dilate2_from, dilate4_from):
                stride_so_far *= stride
            channels.append(out)
            strides.append(stride_so_far)
        last = len(self.arch_settings[self.arch]) + 1
        width = 576 if self.arch == "small" else 960
        final = ConvModule(
            in_channels, width, 1, dilation=4, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
            act_cfg=dict(type="HSwish"),
        )  # fmt: skip
        self.add_module(f"layer{last}", final)
        self.layers.append(f"layer{last}")
        channels.append(width)
        strides.append(stride_so_far)
        self._dilate(dilate2_from, dilate4_from)
        return channels, strides

    def _dilate(self, dilate2_from: int, dilate4_from: int) -> None:
        """Output stride 8: the first layers of the last two stages keep stride 1, and every
        layer from them on is dilated (2, then 4), as in MMSeg (plain convs get padding
        ``dilation * (k - 1) / 2``; the adaptive-padding convs pad themselves)."""
        for index in (dilate2_from, dilate4_from):
            getattr(self, f"layer{index}").depthwise_conv.conv.stride = (1, 1)
        for index in range(dilate2_from, len(self.layers)):
            layer = getattr(self, self.layers[index])
            conv = (
                layer.depthwise_conv.conv if isinstance(layer, InvertedResidualV3) else layer.conv
            )
            dilation = 2 if index < dilate4_from else 4
            conv.dilation = (dilation, dilation)
            if not isinstance(conv, Conv2dAdaptivePadding):
                pad = dilation * ((conv.kernel_size[0] - 1) // 2)
                conv.padding = (pad, pad)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            freeze(getattr(self, f"layer{i}"))
