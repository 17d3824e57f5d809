"""``FastSCNN`` backbone (Poudel et al., 2019) with MMSeg's arguments and keys.

A ``learning_to_downsample`` stem (a conv and two depthwise-separable convs, all stride 2)
feeds both a ``global_feature_extractor`` (MobileNetV2 bottlenecks and pyramid pooling, 1/32)
and, at 1/8, the ``feature_fusion`` of the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.utils import InvertedResidual
from segwright.models.layers import ConvModule, DepthwiseSeparableConvModule, resize
from segwright.models.layers.ppm import PPM
from segwright.models.utils import BaseModule
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_CfgArg = Mapping[str, Any] | None
_BN = dict(type="BN")
_RELU = dict(type="ReLU")


class LearningToDownsample(nn.Module):
    """3x3/2 ``conv``, then two stride-2 depthwise-separable convs (``dsconv1``, ``dsconv2``).

    ``dw_act_cfg`` is the activation after each depthwise part (None: none).
    """

    def __init__(
        self,
        in_channels: int,
        dw_channels: Sequence[int],
        out_channels: int,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        dw_act_cfg: _CfgArg = None,
    ) -> None:
        super().__init__()
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.dw_act_cfg = dw_act_cfg
        first, second = dw_channels[0], dw_channels[1]
        self.conv = ConvModule(
            in_channels, first, 3, stride=2, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )  # fmt: skip
        sep_args = dict(
            kernel_size=3, stride=2, padding=1, norm_cfg=norm_cfg, dw_act_cfg=dw_act_cfg
        )
        self.dsconv1 = DepthwiseSeparableConvModule(first, second, **sep_args)
        self.dsconv2 = DepthwiseSeparableConvModule(second, out_channels, **sep_args)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dsconv2(self.dsconv1(self.conv(x)))


class GlobalFeatureExtractor(nn.Module):
    """Three stages of inverted residuals (``bottleneck1..3``), pyramid pooling (``ppm``, a
    quarter of the width per scale) concatenated after the map, and a 3x3 ConvModule ``out``.
    """

    def __init__(
        self,
        in_channels: int = 64,
        block_channels: Sequence[int] = (64, 96, 128),
        out_channels: int = 128,
        expand_ratio: int = 6,
        num_blocks: Sequence[int] = (3, 3, 3),
        strides: Sequence[int] = (2, 2, 1),
        pool_scales: Sequence[int] = (1, 2, 3, 6),
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        if not len(block_channels) == len(num_blocks) == 3:
            raise ConfigError(
                f"FastSCNN's global feature extractor has 3 stages: block_channels "
                f"{tuple(block_channels)} and num_blocks {tuple(num_blocks)} need 3 values."
            )
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        channels = (in_channels, *block_channels)
        for i in range(3):
            stage = self._make_layer(
                channels[i], channels[i + 1], num_blocks[i], strides[i], expand_ratio
            )
            self.add_module(f"bottleneck{i + 1}", stage)
        width = block_channels[2]
        self.ppm = PPM(
            pool_scales, width, width // 4, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
            align_corners=align_corners,
        )  # fmt: skip
        self.out = ConvModule(
            width * 2, out_channels, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )  # fmt: skip

    def _make_layer(
        self,
        in_channels: int,
        out_channels: int,
        blocks: int,
        stride: int = 1,
        expand_ratio: int = 6,
    ) -> nn.Sequential:
        args = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        layers = [InvertedResidual(in_channels, out_channels, stride, expand_ratio, **args)]
        layers += [
            InvertedResidual(out_channels, out_channels, 1, expand_ratio, **args)
            for _ in range(1, blocks)
        ]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bottleneck3(self.bottleneck2(self.bottleneck1(x)))
        return self.out(torch.cat([x, *self.ppm(x)], dim=1))


class FeatureFusionModule(nn.Module):
    """Fast-SCNN's fusion: the low-resolution map upsampled, grouped 3x3 ``dwconv`` and 1x1
    ``conv_lower_res``; a 1x1 ``conv_higher_res`` of the high-resolution map; ``relu(sum)``."""

    def __init__(
        self,
        higher_in_channels: int,
        lower_in_channels: int,
        out_channels: int,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        dwconv_act_cfg: _CfgArg = _RELU,
        conv_act_cfg: _CfgArg = None,
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.dwconv_act_cfg = dwconv_act_cfg
        self.conv_act_cfg = conv_act_cfg
        self.align_corners = align_corners
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.dwconv = ConvModule(
            lower_in_channels, out_channels, 3, padding=1, groups=out_channels,
            act_cfg=dwconv_act_cfg, **layer_args,
        )  # fmt: skip
        self.conv_lower_res = ConvModule(
            out_channels, out_channels, 1, act_cfg=conv_act_cfg, **layer_args
        )
        self.conv_higher_res = ConvModule(
            higher_in_channels, out_channels, 1, act_cfg=conv_act_cfg, **layer_args
        )
        self.relu = nn.ReLU(True)

    def forward(
        self, higher_res_feature: torch.Tensor, lower_res_feature: torch.Tensor
    ) -> torch.Tensor:
        lower = resize(
            lower_res_feature, size=higher_res_feature.shape[2:], mode="bilinear",
            align_corners=self.align_corners,
        )  # fmt: skip
        lower = self.conv_lower_res(self.dwconv(lower))
        return self.relu(self.conv_higher_res(higher_res_feature) + lower)


@MODELS.register_module()
class FastSCNN(BaseModule):
    """Fast-SCNN: learning to downsample, a global feature extractor, and their fusion.

    Args:
        in_channels: Image channels.
        downsample_dw_channels: Widths of the stem's first conv and first separable conv.
        global_in_channels: Stem output width (must equal ``higher_in_channels``).
        global_block_channels: Widths of the extractor's three bottleneck stages.
        global_block_strides: Their strides.
        global_out_channels: Extractor output width (must equal ``lower_in_channels``).
        higher_in_channels, lower_in_channels: Inputs of the fusion.
        fusion_out_channels: Width of the fused map.
        out_indices: Which of (stem map, extractor map, fused map) to return.
        conv_cfg, norm_cfg, act_cfg: Layer configs.
        align_corners: Of the resizes.
        dw_act_cfg: Activation after the stem's depthwise convs (None: none).
        init_cfg: Initialisation config (default: Kaiming convs, constant-1 norms).

    Shapes:
        ``(N, in_channels, H, W)`` -> tuple of ``(N, out_channels[i], H / s_i, W / s_i)`` with
        ``s_i = out_strides[i]`` (8, 32, 8 with the default strides).
    """

    def __init__(
        self,
        in_channels: int = 3,
        downsample_dw_channels: Sequence[int] = (32, 48),
        global_in_channels: int = 64,
        global_block_channels: Sequence[int] = (64, 96, 128),
        global_block_strides: Sequence[int] = (2, 2, 1),
        global_out_channels: int = 128,
        higher_in_channels: int = 64,
        lower_in_channels: int = 128,
        fusion_out_channels: int = 128,
        out_indices: int | Sequence[int] = (0, 1, 2),
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        align_corners: bool = False,
        dw_act_cfg: _CfgArg = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if init_cfg is None:
            self.init_cfg = [
                dict(type="Kaiming", layer="Conv2d"),
                dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
            ]
        if global_in_channels != higher_in_channels:
            raise ConfigError(
                f"FastSCNN global_in_channels ({global_in_channels}) must equal "
                f"higher_in_channels ({higher_in_channels}): both are the stem's output."
            )
        if global_out_channels != lower_in_channels:
            raise ConfigError(
                f"FastSCNN global_out_channels ({global_out_channels}) must equal "
                f"lower_in_channels ({lower_in_channels}): both are the extractor's output."
            )
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        if not out_indices or any(i not in range(-3, 3) for i in out_indices):
            raise ConfigError(f"FastSCNN out_indices {out_indices} must name outputs 0..2.")
        self.in_channels = in_channels
        self.downsample_dw_channels1 = downsample_dw_channels[0]
        self.downsample_dw_channels2 = downsample_dw_channels[1]
        self.global_in_channels = global_in_channels
        self.global_block_channels = global_block_channels
        self.global_block_strides = global_block_strides
        self.global_out_channels = global_out_channels
        self.higher_in_channels = higher_in_channels
        self.lower_in_channels = lower_in_channels
        self.fusion_out_channels = fusion_out_channels
        self.out_indices = out_indices
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.align_corners = align_corners
        layer_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.learning_to_downsample = LearningToDownsample(
            in_channels, downsample_dw_channels, global_in_channels, act_cfg=act_cfg,
            dw_act_cfg=dw_act_cfg, **layer_args,
        )  # fmt: skip
        self.global_feature_extractor = GlobalFeatureExtractor(
            global_in_channels, global_block_channels, global_out_channels,
            strides=global_block_strides, act_cfg=act_cfg, align_corners=align_corners,
            **layer_args,
        )  # fmt: skip
        self.feature_fusion = FeatureFusionModule(
            higher_in_channels, lower_in_channels, fusion_out_channels, dwconv_act_cfg=act_cfg,
            align_corners=align_corners, **layer_args,
        )  # fmt: skip
        global_stride = 8
        for stride in global_block_strides:
            global_stride *= stride
        channels = (global_in_channels, global_out_channels, fusion_out_channels)
        strides = (8, global_stride, 8)
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(channels[i] for i in out_indices)
        self.out_strides = tuple(strides[i] for i in out_indices)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        higher = self.learning_to_downsample(x)
        lower = self.global_feature_extractor(higher)
        outs = (higher, lower, self.feature_fusion(higher, lower))
        return tuple(outs[i] for i in self.out_indices)
