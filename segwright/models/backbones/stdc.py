"""``STDCNet`` and ``STDCContextPathNet`` (Fan et al., 2021) with MMSeg's arguments and keys.

``STDCNet`` stacks short-term dense concatenation modules: each module runs a chain of convs
whose widths halve (``out/2, out/4, out/8, out/8`` for four convs) and concatenates (``'cat'``)
or concatenates and adds the input (``'add'``). ``STDCContextPathNet`` puts BiSeNet's context
path on it: attention refinement of the 1/32 and 1/16 maps, a global-average branch, and a
fusion module with the 1/8 map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.backbones.bisenetv1 import AttentionRefinementModule
from segwright.models.layers import ConvModule, resize
from segwright.models.utils import BaseModule
from segwright.registry import MODELS, build_if_dict
from segwright.utils.errors import ConfigError

_CfgArg = Mapping[str, Any] | None


class STDCModule(BaseModule):
    """One STDC module: ``layers.0`` (1x1 to ``out/2``, always ReLU as in MMSeg), then
    ``num_convs - 1`` 3x3 ConvModules halving the width; outputs concatenated.

    With ``stride=2`` a depthwise 3x3/2 ``downsample`` follows the first conv; ``'cat'``
    replaces the first output by an average pool (``skip``) of it, ``'add'`` adds a strided
    depthwise-separable ``skip`` of the input (and ``downsample`` is part of ``layers.0``, so
    the checkpoint holds it under both names, as MMSeg's does).

    Shapes:
        ``(N, in_channels, H, W)`` -> ``(N, out_channels, H / stride, W / stride)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        norm_cfg: _CfgArg = None,
        act_cfg: _CfgArg = None,
        num_convs: int = 4,
        fusion_type: str = "add",
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if num_convs <= 1:
            raise ConfigError(f"STDCModule num_convs must be > 1, got {num_convs!r}.")
        if fusion_type not in ("add", "cat"):
            raise ConfigError(
                f"STDCModule fusion_type must be 'add' or 'cat', got {fusion_type!r}."
            )
        if fusion_type == "add" and stride != 2 and in_channels != out_channels:
            raise ConfigError(
                f"STDCModule 'add' with stride 1 adds its input back, so in_channels "
                f"({in_channels}) must equal out_channels ({out_channels})."
            )
        self.stride = stride
        self.with_downsample = stride == 2
        self.fusion_type = fusion_type
        half = out_channels // 2
        self.layers = nn.ModuleList()
        first = ConvModule(in_channels, half, 1, norm_cfg=norm_cfg)
        self.skip: nn.Module | None = None
        if self.with_downsample:
            self.downsample = ConvModule(
                half, half, 3, stride=2, padding=1, groups=half, norm_cfg=norm_cfg, act_cfg=None
            )
            if fusion_type == "add":
                self.layers.append(nn.Sequential(first, self.downsample))
                self.skip = nn.Sequential(
                    ConvModule(
                        in_channels, in_channels, 3, stride=2, padding=1, groups=in_channels,
                        norm_cfg=norm_cfg, act_cfg=None,
                    ),
                    ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None),
                )  # fmt: skip
            else:
                self.layers.append(first)
                self.skip = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.layers.append(first)
        for i in range(1, num_convs):
            # widths out/2, out/4, ..., and the last conv keeps its input width
            divisor = 2**i if i == num_convs - 1 else 2 ** (i + 1)
            self.layers.append(
                ConvModule(
                    out_channels // 2**i, out_channels // divisor, 3, padding=1,
                    norm_cfg=norm_cfg, act_cfg=act_cfg,
                )
            )  # fmt: skip

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.fusion_type == "add":
            return self._forward_add(inputs)
        return self._forward_cat(inputs)

    def _forward_add(self, inputs: torch.Tensor) -> torch.Tensor:
        outs, x = [], inputs
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        shortcut = self.skip(inputs) if self.skip is not None else inputs
        return torch.cat(outs, dim=1) + shortcut

    def _forward_cat(self, inputs: torch.Tensor) -> torch.Tensor:
        x0 = self.layers[0](inputs)
        x = self.downsample(x0) if self.with_downsample else x0
        outs = [x0]
        for layer in self.layers[1:]:
            x = layer(x)
            outs.append(x)
        if self.skip is not None:
            outs[0] = self.skip(x0)
        return torch.cat(outs, dim=1)


class FeatureFusionModule(BaseModule):
    """STDC's fusion: 1x1 ``conv0`` of the concatenation, reweighted by a two-conv squeeze
    (``attention``: pool, 1x1 + act to ``out / scale_factor``, 1x1, sigmoid), plus itself.

    (Unlike BiSeNetV1's module of the same name, the attention convs have no norm.)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        scale_factor: int = 4,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = dict(type="ReLU"),  # noqa: B006 - MMSeg default
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        mid = out_channels // scale_factor
        self.conv0 = ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvModule(out_channels, mid, 1, norm_cfg=None, bias=False, act_cfg=act_cfg),
            ConvModule(mid, out_channels, 1, norm_cfg=None, bias=False, act_cfg=None),
            nn.Sigmoid(),
        )

    def forward(self, spatial_inputs: torch.Tensor, context_inputs: torch.Tensor) -> torch.Tensor:
        x = self.conv0(torch.cat([spatial_inputs, context_inputs], dim=1))
        return x * self.attention(x) + x


@MODELS.register_module()
class STDCNet(BaseModule):
    """STDC network: two 3x3/2 ConvModules (``stages.0``, ``stages.1``), then three stages of
    STDC modules (each starting with stride 2).

    Args:
        stdc_type: ``'STDCNet1'`` (2 modules per stage) or ``'STDCNet2'`` (4, 5, 3).
        in_channels: Image channels.
        channels: Five widths: the two stem convs, then the three stages.
        bottleneck_type: ``'cat'`` or ``'add'`` fusion in the modules.
        norm_cfg, act_cfg: Layer configs.
        num_convs: Convs per STDC module.
        with_final_conv: A 1x1 ConvModule to ``max(1024, channels[-1])`` on the last output.
        pretrained: Unused, kept for MMSeg's signature (use ``init_cfg``).
        init_cfg: Initialisation config.

    Shapes:
        ``(N, in_channels, H, W)`` -> three maps at strides 8, 16, 32 (``out_channels``).
    """

    arch_settings = {
        "STDCNet1": [(2, 1), (2, 1), (2, 1)],
        "STDCNet2": [(2, 1, 1, 1), (2, 1, 1, 1, 1), (2, 1, 1)],
    }

    def __init__(
        self,
        stdc_type: str,
        in_channels: int,
        channels: Sequence[int],
        bottleneck_type: str,
        norm_cfg: _CfgArg,
        act_cfg: _CfgArg,
        num_convs: int = 4,
        with_final_conv: bool = False,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if stdc_type not in self.arch_settings:
            raise ConfigError(
                f"STDCNet stdc_type must be one of {sorted(self.arch_settings)}, got {stdc_type!r}."
            )
        if bottleneck_type not in ("add", "cat"):
            raise ConfigError(
                f"STDCNet bottleneck_type must be 'add' or 'cat', got {bottleneck_type!r}."
            )
        channels = tuple(channels)
        if len(channels) != 5:
            raise ConfigError(f"STDCNet needs 5 channels (2 stem convs, 3 stages), got {channels}.")
        self.in_channels = in_channels
        self.channels = channels
        self.stage_strides = self.arch_settings[stdc_type]
        self.prtrained = pretrained  # MMSeg's spelling
        self.num_convs = num_convs
        self.with_final_conv = with_final_conv
        stem_args = dict(kernel_size=3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.stages = nn.ModuleList(
            [
                ConvModule(in_channels, channels[0], **stem_args),
                ConvModule(channels[0], channels[1], **stem_args),
            ]
        )
        self.num_shallow_features = len(self.stages)
        for strides in self.stage_strides:
            idx = len(self.stages) - 1
            modules = [
                STDCModule(
                    channels[idx] if i == 0 else channels[idx + 1], channels[idx + 1], stride,
                    norm_cfg, act_cfg, num_convs=num_convs, fusion_type=bottleneck_type,
                )
                for i, stride in enumerate(strides)
            ]  # fmt: skip
            self.stages.append(nn.Sequential(*modules))
        last = channels[-1]
        if with_final_conv:
            last = max(1024, channels[-1])
            self.final_conv = ConvModule(channels[-1], last, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = (channels[2], channels[3], last)
        self.out_strides = (8, 16, 32)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        if self.with_final_conv:
            outs[-1] = self.final_conv(outs[-1])
        return tuple(outs[self.num_shallow_features :])


@MODELS.register_module()
class STDCContextPathNet(BaseModule):
    """An STDC network with BiSeNet's context path and a fusion module.

    Args:
        backbone_cfg: The STDC network (config dict or module).
        last_in_channels: Channels of the backbone's outputs refined by the ``arms``, deepest
            first (the deepest also feeds the global-average ``conv_avg``).
        out_channels: Width of the refined maps.
        ffm_cfg: :class:`FeatureFusionModule` arguments (its ``in_channels`` is the
            backbone's first output plus ``out_channels``).
        upsample_mode, align_corners: Of the context path's resizes.
        norm_cfg: Of ``convs`` and ``conv_avg``.
        init_cfg: Initialisation config.

    Shapes:
        ``(N, 3, H, W)`` -> (backbone's stride-8 map, the refined maps from deep to shallow,
        the fused map); with two arms at strides 8, 16, 8, 8.
    """

    def __init__(
        self,
        backbone_cfg: Mapping[str, Any] | nn.Module,
        last_in_channels: Sequence[int] = (1024, 512),
        out_channels: int = 128,
        ffm_cfg: Mapping[str, Any] = dict(in_channels=512, out_channels=256, scale_factor=4),  # noqa: B006
        upsample_mode: str = "nearest",
        align_corners: bool | None = None,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.backbone = build_if_dict(backbone_cfg, MODELS, key="backbone_cfg")
        self.arms = nn.ModuleList()
        self.convs = nn.ModuleList()
        for channels in last_in_channels:
            self.arms.append(AttentionRefinementModule(channels, out_channels))
            self.convs.append(
                ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg)
            )
        self.conv_avg = ConvModule(last_in_channels[0], out_channels, 1, norm_cfg=norm_cfg)
        self.ffm = FeatureFusionModule(**ffm_cfg)
        self.upsample_mode = upsample_mode
        self.align_corners = align_corners
        inner_channels = getattr(self.backbone, "out_channels", None)
        inner_strides = getattr(self.backbone, "out_strides", (8, 16, 32))
        num_arms = len(last_in_channels)
        first = inner_channels[0] if inner_channels else ffm_cfg["in_channels"] - out_channels
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = (first, *(out_channels,) * num_arms, ffm_cfg["out_channels"])
        arm_strides = tuple(inner_strides[-2 - i] for i in range(num_arms))
        self.out_strides = (inner_strides[0], *arm_strides, inner_strides[0])

    def _up(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return resize(x, like.shape[2:], mode=self.upsample_mode, align_corners=self.align_corners)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = list(self.backbone(x))
        feature_up = self._up(self.conv_avg(F.adaptive_avg_pool2d(outs[-1], 1)), outs[-1])
        arms_out = []
        for i, (arm, conv) in enumerate(zip(self.arms, self.convs)):
            refined = arm(outs[-1 - i]) + feature_up
            feature_up = conv(self._up(refined, outs[-2 - i]))
            arms_out.append(feature_up)
        fused = self.ffm(outs[0], arms_out[1])
        return (outs[0], *arms_out, fused)
