"""``DDRNet`` backbone (Hong et al., 2021) with MMSeg's arguments and keys.

Two branches from a shared stem (1/8): a spatial branch that stays at 1/8 and a context branch
that goes down to 1/64, exchanging features twice (``compression_*`` up, ``down_*`` down); the
context branch ends in deep aggregation pyramid pooling (``spp``) and is added to the spatial
branch. In training the backbone also returns the spatial map after the first exchange (for
DDRHead's auxiliary loss).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.layers import ConvModule, build_activation_layer, build_norm_layer, resize
from segwright.models.utils import BaseModule
from segwright.registry import MODELS

_CfgArg = Mapping[str, Any] | None
_RELU = dict(type="ReLU", inplace=True)


class BasicBlock(BaseModule):
    """Two 3x3 ConvModules (``conv1``, ``conv2``) plus a residual, then ``act`` unless
    ``act_cfg_out`` is None (MMSeg's ``models.utils.BasicBlock``, not ResNet's)."""

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        act_cfg_out: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.conv1 = ConvModule(
            in_channels, channels, 3, stride=stride, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg
        )
        self.conv2 = ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=None)
        self.downsample = downsample
        self.act = build_activation_layer(act_cfg_out) if act_cfg_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        out = out + (self.downsample(x) if self.downsample is not None else x)
        return self.act(out) if self.act is not None else out


class Bottleneck(BaseModule):
    """1x1, 3x3 (strided), 1x1 to ``2 * channels`` ConvModules plus a residual, then ``act``
    only if ``act_cfg_out`` is set (MMSeg's ``models.utils.Bottleneck``)."""

    expansion = 2

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        act_cfg_out: _CfgArg = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        args = dict(norm_cfg=norm_cfg)
        self.conv1 = ConvModule(in_channels, channels, 1, act_cfg=act_cfg, **args)
        self.conv2 = ConvModule(channels, channels, 3, stride, 1, act_cfg=act_cfg, **args)
        self.conv3 = ConvModule(channels, channels * self.expansion, 1, act_cfg=None, **args)
        self.act = build_activation_layer(act_cfg_out) if act_cfg_out else None
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv3(self.conv2(self.conv1(x)))
        out = out + (self.downsample(x) if self.downsample is not None else x)
        return self.act(out) if self.act is not None else out


class DAPPM(BaseModule):
    """Deep aggregation pyramid pooling: a 1x1 branch, average pools (``kernel_sizes``,
    ``strides``, ``paddings``) and a global pool; each upsampled branch is added to the
    previous one and refined by a 3x3 ``processes`` conv; ``compression(cat) + shortcut(x)``.

    ``conv_cfg`` holds further ConvModule arguments (MMSeg's: pre-activation order, no bias).
    """

    def __init__(
        self,
        in_channels: int,
        branch_channels: int,
        out_channels: int,
        num_scales: int,
        kernel_sizes: Sequence[int] = (5, 9, 17),
        strides: Sequence[int] = (2, 4, 8),
        paddings: Sequence[int] = (2, 4, 8),
        norm_cfg: _CfgArg = dict(type="BN", momentum=0.1),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        conv_cfg: Mapping[str, Any] = dict(order=("norm", "act", "conv"), bias=False),  # noqa: B006
        upsample_mode: str = "bilinear",
    ) -> None:
        super().__init__()
        self.num_scales = num_scales
        self.unsample_mode = upsample_mode  # MMSeg's spelling
        self.in_channels = in_channels
        self.branch_channels = branch_channels
        self.out_channels = out_channels
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.conv_cfg = conv_cfg

        def conv(cin: int, cout: int, k: int = 1) -> ConvModule:
            return ConvModule(
                cin, cout, k, padding=k // 2, norm_cfg=norm_cfg, act_cfg=act_cfg, **conv_cfg
            )

        self.scales = nn.ModuleList([conv(in_channels, branch_channels)])
        for i in range(num_scales - 2):
            pool = nn.AvgPool2d(kernel_size=kernel_sizes[i], stride=strides[i], padding=paddings[i])
            self.scales.append(nn.Sequential(pool, conv(in_channels, branch_channels)))
        self.scales.append(
            nn.Sequential(nn.AdaptiveAvgPool2d(1), conv(in_channels, branch_channels))
        )
        self.processes = nn.ModuleList(
            conv(branch_channels, branch_channels, 3) for _ in range(num_scales - 1)
        )
        self.compression = conv(branch_channels * num_scales, out_channels)
        self.shortcut = conv(in_channels, out_channels)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        feats = [self.scales[0](inputs)]
        for i in range(1, self.num_scales):
            up = F.interpolate(
                self.scales[i](inputs), size=inputs.shape[2:], mode=self.unsample_mode
            )
            feats.append(self.processes[i - 1](up + feats[i - 1]))
        return self.compression(torch.cat(feats, dim=1)) + self.shortcut(inputs)


class PAPPM(DAPPM):
    """Parallel aggregation pyramid pooling (PIDNet's): every pooled branch is added to the
    1x1 branch and all are refined at once by one grouped 3x3 ``processes`` conv;
    ``compression([x0, refined]) + shortcut(x)``."""

    def __init__(
        self,
        in_channels: int,
        branch_channels: int,
        out_channels: int,
        num_scales: int,
        kernel_sizes: Sequence[int] = (5, 9, 17),
        strides: Sequence[int] = (2, 4, 8),
        paddings: Sequence[int] = (2, 4, 8),
        norm_cfg: _CfgArg = dict(type="BN", momentum=0.1),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        conv_cfg: Mapping[str, Any] = dict(order=("norm", "act", "conv"), bias=False),  # noqa: B006
        upsample_mode: str = "bilinear",
    ) -> None:
        super().__init__(
            in_channels, branch_channels, out_channels, num_scales, kernel_sizes, strides,
            paddings, norm_cfg, act_cfg, conv_cfg, upsample_mode,
        )  # fmt: skip
        width = branch_channels * (num_scales - 1)
        self.processes = ConvModule(
            width, width, 3, padding=1, groups=num_scales - 1, norm_cfg=norm_cfg,
            act_cfg=act_cfg, **conv_cfg,
        )  # fmt: skip

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x0 = self.scales[0](inputs)
        size = inputs.shape[2:]
        feats = [
            F.interpolate(
                self.scales[i](inputs), size=size, mode=self.unsample_mode, align_corners=False
            )
            + x0
            for i in range(1, self.num_scales)
        ]
        refined = self.processes(torch.cat(feats, dim=1))
        return self.compression(torch.cat([x0, refined], dim=1)) + self.shortcut(inputs)


@MODELS.register_module()
class DDRNet(BaseModule):
    """Deep dual-resolution network (DDRNet-23 layout; ``channels=32`` is the slim one).

    Args:
        in_channels: Image channels.
        channels: Base width (the spatial branch has ``2 * channels``, the output ``4x``).
        ppm_channels: Branch width of the pyramid pooling.
        align_corners: Of the resizes.
        norm_cfg, act_cfg: Layer configs.
        init_cfg: Initialisation config.

    Shapes:
        ``(N, in_channels, H, W)`` -> eval: ``(N, 4 * channels, H / 8, W / 8)`` (one tensor, as
        in MMSeg); training: ``(spatial map (2 * channels), output)``. ``out_channels`` and
        ``out_strides`` describe the training pair.
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: int = 32,
        ppm_channels: int = 128,
        align_corners: bool = False,
        norm_cfg: _CfgArg = dict(type="BN", requires_grad=True),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        c = channels
        self.in_channels = in_channels
        self.ppm_channels = ppm_channels
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.align_corners = align_corners
        self.stem = self._make_stem_layer(in_channels, c, num_blocks=2)
        self.relu = nn.ReLU()
        self.context_branch_layers = nn.ModuleList(
            self._make_layer(
                BasicBlock if i < 2 else Bottleneck, c * 2 ** (i + 1), c * 8 if i > 0 else c * 4,
                2 if i < 2 else 1, stride=2,
            )
            for i in range(3)
        )  # fmt: skip
        norm_args = dict(norm_cfg=norm_cfg)
        self.compression_1 = ConvModule(c * 4, c * 2, 1, act_cfg=None, **norm_args)
        self.down_1 = ConvModule(c * 2, c * 4, 3, stride=2, padding=1, act_cfg=None, **norm_args)
        self.compression_2 = ConvModule(c * 8, c * 2, 1, act_cfg=None, **norm_args)
        self.down_2 = nn.Sequential(
            ConvModule(c * 2, c * 4, 3, stride=2, padding=1, act_cfg=act_cfg, **norm_args),
            ConvModule(c * 4, c * 8, 3, stride=2, padding=1, act_cfg=None, **norm_args),
        )
        self.spatial_branch_layers = nn.ModuleList(
            self._make_layer(BasicBlock if i < 2 else Bottleneck, c * 2, c * 2, 2 if i < 2 else 1)
            for i in range(3)
        )
        self.spp = DAPPM(c * 16, ppm_channels, c * 4, num_scales=5)
        #: Channels and strides of the training outputs (eval returns the last one alone).
        self.out_channels = (c * 2, c * 4)
        self.out_strides = (8, 8)

    def _make_stem_layer(self, in_channels: int, channels: int, num_blocks: int) -> nn.Sequential:
        args = dict(stride=2, padding=1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        return nn.Sequential(
            ConvModule(in_channels, channels, 3, **args),
            ConvModule(channels, channels, 3, **args),
            self._make_layer(BasicBlock, channels, channels, num_blocks),
            nn.ReLU(),
            self._make_layer(BasicBlock, channels, channels * 2, num_blocks, stride=2),
            nn.ReLU(),
        )

    def _make_layer(
        self, block: type, inplanes: int, planes: int, num_blocks: int, stride: int = 1
    ) -> nn.Sequential:
        width = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != width:
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, width, kernel_size=1, stride=stride, bias=False),
                build_norm_layer(self.norm_cfg, width)[1],
            )
        # the first block keeps the block's own defaults (BN, its output activation), as in MMSeg
        layers = [
            block(in_channels=inplanes, channels=planes, stride=stride, downsample=downsample)
        ]
        for i in range(1, num_blocks):
            layers.append(
                block(
                    in_channels=width, channels=planes, stride=1, norm_cfg=self.norm_cfg,
                    act_cfg_out=None if i == num_blocks - 1 else self.act_cfg,
                )
            )  # fmt: skip
        return nn.Sequential(*layers)

    def _up(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return resize(x, size=size, mode="bilinear", align_corners=self.align_corners)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        out_size = (x.shape[-2] // 8, x.shape[-1] // 8)
        relu = self.relu
        x = self.stem(x)
        x_c = self.context_branch_layers[0](x)
        x_s = self.spatial_branch_layers[0](x)
        comp_c = self.compression_1(relu(x_c))
        x_c = x_c + self.down_1(relu(x_s))
        x_s = x_s + self._up(comp_c, out_size)
        spatial = x_s
        x_c = self.context_branch_layers[1](relu(x_c))
        x_s = self.spatial_branch_layers[1](relu(x_s))
        comp_c = self.compression_2(relu(x_c))
        x_c = x_c + self.down_2(relu(x_s))
        x_s = x_s + self._up(comp_c, out_size)
        x_s = self.spatial_branch_layers[2](relu(x_s))
        x_c = self._up(self.spp(self.context_branch_layers[2](relu(x_c))), out_size)
        return (spatial, x_s + x_c) if self.training else x_s + x_c
