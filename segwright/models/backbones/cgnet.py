"""``CGNet`` backbone (Wu et al., 2018) with MMSeg's arguments and keys.

A three-conv stem (1/2), then two levels of context guided blocks (1/4, 1/8). Each block joins
a local 3x3 depthwise conv (``f_loc``) and a dilated one (``f_sur``), and reweights the joint
feature by a squeeze-excitation of fully connected layers (``f_glo``). The image, average-pooled
to each level's size, is injected into the level outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.utils import NormEvalMixin
from segwright.models.layers import ConvModule, build_conv_layer, build_norm_layer
from segwright.models.layers.checkpoint import checkpointed
from segwright.models.utils import BaseModule
from segwright.models.utils.pretrained import init_cfg_from_pretrained
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_CfgArg = Mapping[str, Any] | None


def _act_for(act_cfg: _CfgArg, channels: int) -> _CfgArg:
    """A PReLU gets one slope per channel (MMSeg writes ``num_parameters`` into the config)."""
    if act_cfg is not None and act_cfg.get("type") == "PReLU":
        return dict(act_cfg, num_parameters=channels)
    return act_cfg


def _norm_prelu(norm_cfg: _CfgArg, channels: int) -> nn.Sequential:
    return nn.Sequential(build_norm_layer(norm_cfg, channels)[1], nn.PReLU(channels))


class GlobalContextExtractor(nn.Module):
    """``x * sigmoid(fc(relu(fc(mean(x)))))`` with a ``channel // reduction`` squeeze."""

    def __init__(self, channel: int, reduction: int = 16, with_cp: bool = False) -> None:
        super().__init__()
        if not 1 <= reduction <= channel:
            raise ConfigError(
                f"CGNet's context extractor needs 1 <= reduction <= channels, got reduction "
                f"{reduction} for {channel} channels."
            )
        self.channel = channel
        self.reduction = reduction
        self.with_cp = with_cp
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channel, channel // reduction),
            nn.ReLU(inplace=True),
            nn.Linear(channel // reduction, channel),
            nn.Sigmoid(),
        )

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        return x * self.fc(self.avg_pool(x).view(n, c)).view(n, c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return checkpointed(self._inner, x, self.with_cp)


class ContextGuidedBlock(nn.Module):
    """``conv1x1`` (3x3/2 when ``downsample``), then ``[f_loc, f_sur]`` -> ``bn`` ->
    ``activate`` (-> 1x1 ``bottleneck`` when downsampling) -> ``f_glo``, plus the input when
    ``skip_connect`` (never when downsampling)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        dilation: int = 2,
        reduction: int = 16,
        skip_connect: bool = True,
        downsample: bool = False,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = dict(type="BN", requires_grad=True),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = dict(type="PReLU"),  # noqa: B006 - MMSeg default
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.downsample = downsample
        channels = out_channels if downsample else out_channels // 2
        kernel, stride = (3, 2) if downsample else (1, 1)
        self.conv1x1 = ConvModule(
            in_channels, channels, kernel, stride, (kernel - 1) // 2, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=_act_for(act_cfg, channels),
        )  # fmt: skip
        self.f_loc = build_conv_layer(
            conv_cfg, channels, channels, kernel_size=3, padding=1, groups=channels, bias=False
        )
        self.f_sur = build_conv_layer(
            conv_cfg, channels, channels, kernel_size=3, padding=dilation, groups=channels,
            dilation=dilation, bias=False,
        )  # fmt: skip
        self.bn = build_norm_layer(norm_cfg, 2 * channels)[1]
        self.activate = nn.PReLU(2 * channels)
        if downsample:
            self.bottleneck = build_conv_layer(
                conv_cfg, 2 * channels, out_channels, kernel_size=1, bias=False
            )
        self.skip_connect = skip_connect and not downsample
        if self.skip_connect and in_channels != out_channels:
            raise ConfigError(
                f"ContextGuidedBlock adds its input back, so in_channels ({in_channels}) must "
                f"equal out_channels ({out_channels})."
            )
        self.f_glo = GlobalContextExtractor(out_channels, reduction, with_cp)

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1x1(x)
        joint = self.activate(self.bn(torch.cat([self.f_loc(out), self.f_sur(out)], dim=1)))
        if self.downsample:
            joint = self.bottleneck(joint)
        out = self.f_glo(joint)
        return x + out if self.skip_connect else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return checkpointed(self._inner, x, self.with_cp)


class InputInjection(nn.Module):
    """``num_downsampling`` 3x3/2 average pools (``pool``) of the image."""

    def __init__(self, num_downsampling: int) -> None:
        super().__init__()
        self.pool = nn.ModuleList(
            nn.AvgPool2d(3, stride=2, padding=1) for _ in range(num_downsampling)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for pool in self.pool:
            x = pool(x)
        return x


@MODELS.register_module()
class CGNet(NormEvalMixin, BaseModule):
    """CGNet: a light network of context guided blocks.

    Args:
        in_channels: Image channels.
        num_channels: Widths of the stem, level 1 and level 2.
        num_blocks: Blocks of level 1 and level 2 (the first of each downsamples).
        dilations: Dilation of ``f_sur`` per level.
        reductions: Squeeze reduction of ``f_glo`` per level.
        conv_cfg, norm_cfg, act_cfg: Layer configs (a PReLU gets one slope per channel).
        norm_eval: Keep the batch norms in eval mode while training.
        with_cp: Gradient checkpointing in the blocks.
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_cfg: Initialisation config (default: Kaiming convs/linears, constant-1 norms,
            zero PReLU slopes).

    Shapes:
        ``(N, in_channels, H, W)`` -> three maps at strides 2, 4, 8 with
        ``num_channels[0] + in_channels``, ``2 * num_channels[1] + in_channels`` and
        ``2 * num_channels[2]`` channels.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_channels: Sequence[int] = (32, 64, 128),
        num_blocks: Sequence[int] = (3, 21),
        dilations: Sequence[int] = (2, 4),
        reductions: Sequence[int] = (8, 16),
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = dict(type="BN", requires_grad=True),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = dict(type="PReLU"),  # noqa: B006 - MMSeg default
        norm_eval: bool = False,
        with_cp: bool = False,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.init_cfg = init_cfg_from_pretrained(
            "CGNet",
            pretrained,
            self.init_cfg,
            [
                dict(type="Kaiming", layer=["Conv2d", "Linear"]),
                dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
                dict(type="Constant", val=0, layer="PReLU"),
            ],
        )
        num_channels, num_blocks = tuple(num_channels), tuple(num_blocks)
        dilations, reductions = tuple(dilations), tuple(reductions)
        if len(num_channels) != 3 or not len(num_blocks) == len(dilations) == len(reductions) == 2:
            raise ConfigError(
                f"CGNet needs 3 num_channels and 2 num_blocks, dilations and reductions, got "
                f"{num_channels}, {num_blocks}, {dilations}, {reductions}."
            )
        self.in_channels = in_channels
        self.num_channels = num_channels
        self.num_blocks = num_blocks
        self.dilations = dilations
        self.reductions = reductions
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        stem_act = _act_for(act_cfg, num_channels[0])
        self.stem = nn.ModuleList(
            ConvModule(
                in_channels if i == 0 else num_channels[0], num_channels[0], 3, 2 if i == 0 else 1,
                padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=stem_act,
            )
            for i in range(3)
        )  # fmt: skip
        self.inject_2x = InputInjection(1)
        self.inject_4x = InputInjection(2)
        widths = (
            num_channels[0] + in_channels,
            2 * num_channels[1] + in_channels,
            2 * num_channels[2],
        )
        self.norm_prelu_0 = _norm_prelu(norm_cfg, widths[0])
        block_args = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp)
        for level in (1, 2):
            out = num_channels[level]
            blocks = nn.ModuleList(
                ContextGuidedBlock(
                    widths[level - 1] if i == 0 else out, out, dilations[level - 1],
                    reductions[level - 1], downsample=i == 0, **block_args,
                )
                for i in range(num_blocks[level - 1])
            )  # fmt: skip
            self.add_module(f"level{level}", blocks)
            self.add_module(f"norm_prelu_{level}", _norm_prelu(norm_cfg, widths[level]))
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = widths
        self.out_strides = (2, 4, 8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        inp_2x, inp_4x = self.inject_2x(x), self.inject_4x(x)
        for layer in self.stem:
            x = layer(x)
        x = self.norm_prelu_0(torch.cat([x, inp_2x], dim=1))
        out0 = x
        for i, block in enumerate(self.level1):
            x = block(x)
            if i == 0:
                down1 = x
        x = self.norm_prelu_1(torch.cat([x, down1, inp_4x], dim=1))
        out1 = x
        for i, block in enumerate(self.level2):
            x = block(x)
            if i == 0:
                down2 = x
        return out0, out1, self.norm_prelu_2(torch.cat([down2, x], dim=1))
