"""ResNeSt (``ResNeSt``): ResNetV1d whose 3x3 convs are split-attention convs.

Arguments and keys are MMSeg 1.2.2's: a block's ``conv2`` is a :class:`SplitAttentionConv2d`
(``conv``, ``bn0``, ``fc1``, ``bn1``, ``fc2``) and it has no ``bn2``; a strided block
downsamples after it with ``avd_layer`` (3x3 AvgPool).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.backbones.res_layer import ResLayer
from segwright.models.backbones.resnet import Bottleneck as _Bottleneck
from segwright.models.backbones.resnet import ResNetV1d
from segwright.models.layers import build_conv_layer, build_norm_layer
from segwright.models.layers.conv import compiled_op_error
from segwright.registry import MODELS


class RSoftmax(nn.Module):
    """Softmax over the ``radix`` splits of each group (a sigmoid when ``radix == 1``).

    Shapes:
        (N, groups * radix * C', 1, 1) -> (N, radix * groups * C'), radix-major.
    """

    def __init__(self, radix: int, groups: int) -> None:
        super().__init__()
        self.radix = radix
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.size(0)
        if self.radix == 1:
            return torch.sigmoid(x)
        x = x.view(n, self.groups, self.radix, -1).transpose(1, 2)
        return F.softmax(x, dim=1).reshape(n, -1)


class SplitAttentionConv2d(nn.Module):
    """Split attention: ``radix`` grouped conv branches mixed by attention over their sum.

    Args:
        in_channels: Input channels.
        channels: Output channels (of each split).
        kernel_size, stride, padding, dilation: Of the grouped conv.
        groups: Cardinal groups (the conv has ``groups * radix``).
        radix: Number of splits.
        reduction_factor: Attention width is ``max(in_channels * radix // reduction_factor, 32)``.
        conv_cfg, norm_cfg: Layer configs.
        dcn: Must stay None (deformable convs need compiled ops).

    Shapes:
        (N, in_channels, H, W) -> (N, channels, H', W').
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        groups: int = 1,
        radix: int = 2,
        reduction_factor: int = 4,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = dict(type="BN"),  # noqa: B006 - MMSeg default
        dcn: Any = None,
    ) -> None:
        super().__init__()
        if dcn is not None:
            raise compiled_op_error(f"dcn={dcn!r}", "SplitAttentionConv2d")
        inter_channels = max(in_channels * radix // reduction_factor, 32)
        self.radix = radix
        self.groups = groups
        self.channels = channels
        self.conv = build_conv_layer(
            conv_cfg, in_channels, channels * radix, kernel_size, stride=stride,
            padding=padding, dilation=dilation, groups=groups * radix, bias=False,
        )  # fmt: skip
        self.norm0_name, norm0 = build_norm_layer(norm_cfg, channels * radix, postfix=0)
        self.add_module(self.norm0_name, norm0)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = build_conv_layer(None, channels, inter_channels, 1, groups=groups)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, inter_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.fc2 = build_conv_layer(None, inter_channels, channels * radix, 1, groups=groups)
        self.rsoftmax = RSoftmax(radix, groups)

    @property
    def norm0(self) -> nn.Module:
        return getattr(self, self.norm0_name)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.norm0(self.conv(x)))
        n = x.size(0)
        if self.radix > 1:
            splits = x.view(n, self.radix, -1, *x.shape[2:])
            gap = splits.sum(dim=1)
        else:
            gap = x
        gap = self.relu(self.norm1(self.fc1(F.adaptive_avg_pool2d(gap, 1))))
        atten = self.rsoftmax(self.fc2(gap)).view(n, -1, 1, 1)
        if self.radix > 1:
            out = (atten.view(n, self.radix, -1, 1, 1) * splits).sum(dim=1)
        else:
            out = atten * x
        return out.contiguous()


class Bottleneck(_Bottleneck):
    """ResNeSt bottleneck: 1x1 -> split-attention 3x3 (-> AvgPool stride) -> 1x1 (x4).

    Args:
        inplanes, planes: As in ResNet's Bottleneck.
        groups: Cardinal groups of ``conv2``; width ``floor(planes * base_width /
            base_channels) * groups`` when ``groups > 1``, else ``planes``.
        base_width, base_channels: See ``groups``.
        radix, reduction_factor: Split-attention options.
        avg_down_stride: Stride by a 3x3 AvgPool after ``conv2`` instead of in it.
        **kwargs: ResNet Bottleneck arguments (stride, dilation, downsample, ...).
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        groups: int = 1,
        base_width: int = 4,
        base_channels: int = 64,
        radix: int = 2,
        reduction_factor: int = 4,
        avg_down_stride: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(inplanes, planes, **kwargs)
        conv_cfg = kwargs.get("conv_cfg")
        norm_cfg = kwargs.get("norm_cfg", dict(type="BN"))
        width = (
            planes if groups == 1 else math.floor(planes * (base_width / base_channels)) * groups
        )
        self.avg_down_stride = avg_down_stride and self.conv2_stride > 1
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, width, postfix=1)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(
            conv_cfg, inplanes, width, 1, stride=self.conv1_stride, bias=False
        )
        self.add_module(self.norm1_name, norm1)
        self.conv2 = SplitAttentionConv2d(
            width, width, 3, stride=1 if self.avg_down_stride else self.conv2_stride,
            padding=self.dilation, dilation=self.dilation, groups=groups, radix=radix,
            reduction_factor=reduction_factor, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
        )  # fmt: skip
        delattr(self, self.norm2_name)
        if self.avg_down_stride:
            self.avd_layer = nn.AvgPool2d(3, self.conv2_stride, padding=1)
        self.conv3 = build_conv_layer(conv_cfg, width, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.relu(self.norm1(self.conv1(x))))
        if self.avg_down_stride:
            out = self.avd_layer(out)
        return self.norm3(self.conv3(out))


@MODELS.register_module()
class ResNeSt(ResNetV1d):
    """ResNeSt backbone: ResNetV1d (deep stem, AvgPool downsampling) with split attention.

    Args:
        groups: Cardinal groups of the blocks' ``conv2``.
        base_width: Width per group (with ``groups > 1``).
        radix: Splits of the split-attention convs.
        reduction_factor: Their attention reduction.
        avg_down_stride: Strided blocks pool after ``conv2`` (``avd_layer``).
        **kwargs: :class:`ResNet` arguments (``depth`` 50, 101, 152 or 200).
    """

    arch_settings: dict[int, tuple[type[nn.Module], tuple[int, ...]]] = {  # type: ignore[assignment]
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
        200: (Bottleneck, (3, 24, 36, 3)),
    }

    def __init__(
        self,
        groups: int = 1,
        base_width: int = 4,
        radix: int = 2,
        reduction_factor: int = 4,
        avg_down_stride: bool = True,
        **kwargs: Any,
    ) -> None:
        # read by make_res_layer while ResNet.__init__ builds the stages
        self.groups = groups
        self.base_width = base_width
        self.radix = radix
        self.reduction_factor = reduction_factor
        self.avg_down_stride = avg_down_stride
        super().__init__(**kwargs)

    def make_res_layer(self, **kwargs: Any) -> ResLayer:
        return ResLayer(
            groups=self.groups,
            base_width=self.base_width,
            base_channels=self.base_channels,
            radix=self.radix,
            reduction_factor=self.reduction_factor,
            avg_down_stride=self.avg_down_stride,
            **kwargs,
        )


def _resnest_signature() -> inspect.Signature:
    """ResNeSt's own options plus ResNetV1d's (the inherited ``__signature__`` lacks them)."""
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for name, p in inspect.signature(ResNeSt.__init__).parameters.items()
        if name not in ("self", "kwargs")
    ]
    base = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(ResNetV1d).parameters.values()
    ]
    return inspect.Signature(own + base)


ResNeSt.__signature__ = _resnest_signature()  # type: ignore[attr-defined]
