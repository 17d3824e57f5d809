"""``PIDNet`` backbone (Xu et al., 2023) with MMSeg's arguments and keys.

Three branches from a shared stem (1/8): proportional (``p_branch_layers``, detail at 1/8),
integral (``i_branch_layers``, context down to 1/64, then pyramid pooling ``spp``) and
derivative (``d_branch_layers``, boundaries at 1/8). The integral branch guides the
proportional one through pixel-attention fusion (``pag_1``, ``pag_2``) and feeds the derivative
one (``diff_1``, ``diff_2``); ``dfm`` merges P and I under D's boundary attention. In training
the backbone also returns the P and D maps for PIDHead's auxiliary losses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.backbones.ddrnet import DAPPM, PAPPM, BasicBlock, Bottleneck
from segwright.models.layers import ConvModule, build_activation_layer
from segwright.models.utils import BaseModule
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_CfgArg = Mapping[str, Any] | None
_RELU = dict(type="ReLU", inplace=True)


class PagFM(BaseModule):
    """Pixel-attention-guided fusion: ``s * up(x_i) + (1 - s) * x_p`` with ``s`` the sigmoid of
    the (channel-summed, or ``up``-projected) product of 1x1 projections ``f_p``, ``f_i``."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        after_relu: bool = False,
        with_channel: bool = False,
        upsample_mode: str = "bilinear",
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.after_relu = after_relu
        self.with_channel = with_channel
        self.upsample_mode = upsample_mode
        self.f_i = ConvModule(in_channels, channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.f_p = ConvModule(in_channels, channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        if with_channel:
            self.up = ConvModule(channels, in_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        if after_relu:
            self.relu = build_activation_layer(act_cfg)

    def forward(self, x_p: torch.Tensor, x_i: torch.Tensor) -> torch.Tensor:
        if self.after_relu:
            x_p, x_i = self.relu(x_p), self.relu(x_i)
        size = x_p.shape[2:]
        f_i = F.interpolate(self.f_i(x_i), size=size, mode=self.upsample_mode, align_corners=False)
        product = self.f_p(x_p) * f_i
        if self.with_channel:
            sigma = torch.sigmoid(self.up(product))
        else:
            sigma = torch.sigmoid(product.sum(dim=1, keepdim=True))
        x_i = F.interpolate(x_i, size=size, mode=self.upsample_mode, align_corners=False)
        return sigma * x_i + (1 - sigma) * x_p


class Bag(BaseModule):
    """Boundary-attention-guided fusion: ``conv(s * x_p + (1 - s) * x_i)``, ``s = sigmoid(x_d)``.

    ``conv_cfg`` holds further ConvModule arguments (MMSeg's: pre-activation order).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        padding: int = 1,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        conv_cfg: Mapping[str, Any] = dict(order=("norm", "act", "conv")),  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.conv = ConvModule(
            in_channels, out_channels, kernel_size, padding=padding, norm_cfg=norm_cfg,
            act_cfg=act_cfg, **conv_cfg,
        )  # fmt: skip

    def forward(self, x_p: torch.Tensor, x_i: torch.Tensor, x_d: torch.Tensor) -> torch.Tensor:
        sigma = torch.sigmoid(x_d)
        return self.conv(sigma * x_p + (1 - sigma) * x_i)


class LightBag(BaseModule):
    """Light boundary-attention fusion: ``f_p((1 - s) * x_i + x_p) + f_i(x_i + s * x_p)``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.f_p = ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.f_i = ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x_p: torch.Tensor, x_i: torch.Tensor, x_d: torch.Tensor) -> torch.Tensor:
        sigma = torch.sigmoid(x_d)
        return self.f_p((1 - sigma) * x_i + x_p) + self.f_i(x_i + sigma * x_p)


@MODELS.register_module()
class PIDNet(BaseModule):
    """PIDNet (S/M: ``num_stem_blocks=2``, light fusion and PAPPM; L: 3, Bag and DAPPM).

    Args:
        in_channels: Image channels.
        channels: Base width (the output has ``4 * channels``).
        ppm_channels: Branch width of the pyramid pooling.
        num_stem_blocks: Blocks per stem/P-branch layer (2 selects the light variant).
        num_branch_blocks: Blocks of the first two I-branch layers.
        align_corners: Of the resizes to 1/8.
        norm_cfg, act_cfg: Layer configs.
        init_cfg: None, or ``dict(type='Pretrained', checkpoint=...)`` (loaded non-strictly
            after the Kaiming init, as in MMSeg).
        **kwargs: Ignored (MMSeg accepts them).

    Shapes:
        ``(N, in_channels, H, W)`` -> eval: ``(N, 4 * channels, H / 8, W / 8)``; training:
        ``(P map, output, D map)`` with ``2, 4, 2 x channels``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: int = 64,
        ppm_channels: int = 96,
        num_stem_blocks: int = 2,
        num_branch_blocks: int = 3,
        align_corners: bool = False,
        norm_cfg: _CfgArg = dict(type="BN"),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(init_cfg)
        if init_cfg is not None and "checkpoint" not in init_cfg:
            raise ConfigError(
                "PIDNet init_cfg only takes dict(type='Pretrained', checkpoint=...) (it "
                "initialises itself otherwise)."
            )
        c = channels
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.align_corners = align_corners
        self.stem = self._make_stem_layer(in_channels, c, num_stem_blocks)
        self.relu = nn.ReLU()
        self.i_branch_layers = nn.ModuleList(
            self._make_layer(
                BasicBlock if i < 2 else Bottleneck, c * 2 ** (i + 1), c * 8 if i > 0 else c * 4,
                num_branch_blocks if i < 2 else 2, stride=2,
            )
            for i in range(3)
        )  # fmt: skip
        self.p_branch_layers = nn.ModuleList(
            self._make_layer(
                BasicBlock if i < 2 else Bottleneck, c * 2, c * 2, num_stem_blocks if i < 2 else 1
            )
            for i in range(3)
        )
        norm_args = dict(bias=False, norm_cfg=norm_cfg, act_cfg=None)
        self.compression_1 = ConvModule(c * 4, c * 2, 1, **norm_args)
        self.compression_2 = ConvModule(c * 8, c * 2, 1, **norm_args)
        self.pag_1 = PagFM(c * 2, c)
        self.pag_2 = PagFM(c * 2, c)
        light = num_stem_blocks == 2
        if light:
            self.d_branch_layers = nn.ModuleList(
                [
                    self._make_single_layer(BasicBlock, c * 2, c),
                    self._make_layer(Bottleneck, c, c, 1),
                ]
            )
        else:
            self.d_branch_layers = nn.ModuleList(
                [
                    self._make_single_layer(BasicBlock, c * 2, c * 2),
                    self._make_single_layer(BasicBlock, c * 2, c * 2),
                ]
            )
        self.diff_1 = ConvModule(c * 4, c * (1 if light else 2), 3, padding=1, **norm_args)
        self.diff_2 = ConvModule(c * 8, c * 2, 3, padding=1, **norm_args)
        self.spp = (PAPPM if light else DAPPM)(c * 16, ppm_channels, c * 4, num_scales=5)
        if light:
            self.dfm: nn.Module = LightBag(c * 4, c * 4, norm_cfg=norm_cfg, act_cfg=None)
        else:
            self.dfm = Bag(c * 4, c * 4, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.d_branch_layers.append(self._make_layer(Bottleneck, c * 2, c * 2, 1))
        #: Channels and strides of the training outputs (eval returns the middle one alone).
        self.out_channels = (c * 2, c * 4, c * 2)
        self.out_strides = (8, 8, 8)

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

    def _downsample(self, block: type, in_channels: int, channels: int, stride: int) -> Any:
        if stride == 1 and in_channels == channels * block.expansion:
            return None
        return ConvModule(
            in_channels, channels * block.expansion, 1, stride=stride, norm_cfg=self.norm_cfg,
            act_cfg=None,
        )  # fmt: skip

    def _make_layer(
        self, block: type, in_channels: int, channels: int, num_blocks: int, stride: int = 1
    ) -> nn.Sequential:
        # the blocks keep their own norm default (BN), as in MMSeg
        layers = [
            block(
                in_channels,
                channels,
                stride,
                self._downsample(block, in_channels, channels, stride),
            )
        ]
        width = channels * block.expansion
        for i in range(1, num_blocks):
            act_out = None if i == num_blocks - 1 else self.act_cfg
            layers.append(block(width, channels, stride=1, act_cfg_out=act_out))
        return nn.Sequential(*layers)

    def _make_single_layer(
        self, block: type, in_channels: int, channels: int, stride: int = 1
    ) -> nn.Module:
        downsample = self._downsample(block, in_channels, channels, stride)
        return block(in_channels, channels, stride, downsample, act_cfg_out=None)

    def init_weights(self) -> None:
        """Kaiming (fan-out) convs and unit BNs, then the checkpoint of ``init_cfg`` if any."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)
        if self.init_cfg is not None:
            from segwright.engine.checkpoint import load_checkpoint

            load_checkpoint(self, self.init_cfg["checkpoint"], map_location="cpu", strict=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        size = [x.shape[-2] // 8, x.shape[-1] // 8]

        def up(t: torch.Tensor) -> torch.Tensor:
            return F.interpolate(t, size=size, mode="bilinear", align_corners=self.align_corners)

        relu = self.relu
        x = self.stem(x)
        x_i = relu(self.i_branch_layers[0](x))
        x_p = self.p_branch_layers[0](x)
        x_d = self.d_branch_layers[0](x)
        x_p = self.pag_1(x_p, self.compression_1(x_i))
        x_d = x_d + up(self.diff_1(x_i))
        temp_p = x_p
        x_i = relu(self.i_branch_layers[1](x_i))
        x_p = self.p_branch_layers[1](relu(x_p))
        x_d = self.d_branch_layers[1](relu(x_d))
        x_p = self.pag_2(x_p, self.compression_2(x_i))
        x_d = x_d + up(self.diff_2(x_i))
        temp_d = x_d
        x_i = up(self.spp(self.i_branch_layers[2](x_i)))
        x_p = self.p_branch_layers[2](relu(x_p))
        x_d = self.d_branch_layers[2](relu(x_d))
        out = self.dfm(x_p, x_i, x_d)
        return (temp_p, out, temp_d) if self.training else out
