"""``ERFNet`` backbone (Romera et al., 2017) with MMSeg's arguments and keys.

An encoder of downsampler blocks (a strided conv concatenated with a max pool) and
factorised residual blocks (3x1 and 1x3 convs, dilated in the last stage), then a decoder of
transposed-conv upsamplers and more residual blocks. One output, at 1/2 of the input by
default. As in MMSeg, the blocks use their own layer defaults (BN with eps 1e-3, ReLU); the
backbone's ``conv_cfg``/``norm_cfg``/``act_cfg`` are stored only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers import (
    build_activation_layer,
    build_conv_layer,
    build_norm_layer,
    resize,
)
from segwright.models.utils import BaseModule
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_CfgArg = Mapping[str, Any] | None
_BN = dict(type="BN", eps=1e-3)
_RELU = dict(type="ReLU")


class DownsamplerBlock(BaseModule):
    """``act(bn([conv3x3/2(x), maxpool2x2(x)]))``; the conv adds ``out - in`` channels."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if out_channels <= in_channels:
            raise ConfigError(
                f"ERFNet's downsampler concatenates its input, so out_channels ({out_channels}) "
                f"must exceed in_channels ({in_channels})."
            )
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.conv = build_conv_layer(
            conv_cfg, in_channels, out_channels - in_channels, kernel_size=3, stride=2, padding=1
        )
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = build_activation_layer(act_cfg)

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - MMSeg's name
        conv_out = self.conv(input)
        # odd sizes: the pool rounds down, the conv up
        pool_out = resize(
            self.pool(input), size=conv_out.shape[2:], mode="bilinear", align_corners=False
        )
        return self.act(self.bn(torch.cat([conv_out, pool_out], dim=1)))


class NonBottleneck1d(BaseModule):
    """Factorised residual block: ``num_conv_layer`` x (3x1 conv, act, 1x3 conv, BN, then act
    (first) or dropout (later)) in ``convs_layers``; the later pairs are dilated; then
    ``act(out + input)``."""

    def __init__(
        self,
        channels: int,
        drop_rate: float = 0,
        dilation: int = 1,
        num_conv_layer: int = 2,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.act = build_activation_layer(act_cfg)
        self.convs_layers = nn.ModuleList()
        for i in range(num_conv_layer):
            d = 1 if i == 0 else dilation
            self.convs_layers.append(
                build_conv_layer(
                    conv_cfg, channels, channels, kernel_size=(3, 1), padding=(d, 0),
                    dilation=(d, 1), bias=True,
                )
            )  # fmt: skip
            self.convs_layers.append(self.act)
            self.convs_layers.append(
                build_conv_layer(
                    conv_cfg, channels, channels, kernel_size=(1, 3), padding=(0, d),
                    dilation=(1, d), bias=True,
                )
            )  # fmt: skip
            self.convs_layers.append(build_norm_layer(norm_cfg, channels)[1])
            self.convs_layers.append(self.act if i == 0 else nn.Dropout(p=drop_rate))

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - MMSeg's name
        output = input
        for layer in self.convs_layers:
            output = layer(output)
        return self.act(output + input)


class UpsamplerBlock(BaseModule):
    """``act(bn(conv_transpose3x3/2(x)))``: twice the size."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = _BN,
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.conv = nn.ConvTranspose2d(
            in_channels, out_channels, kernel_size=3, stride=2, padding=1, output_padding=1
        )
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = build_activation_layer(act_cfg)

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - MMSeg's name
        return self.act(self.bn(self.conv(input)))


@MODELS.register_module()
class ERFNet(BaseModule):
    """ERFNet: an encoder-decoder of factorised residual blocks.

    Args:
        in_channels: Image channels.
        enc_downsample_channels: Widths after each downsampler (one more than stages).
        enc_stage_non_bottlenecks: Residual blocks after each downsampler but the first; the
            last stage's count must be a multiple of ``len(enc_non_bottleneck_dilations)``.
        enc_non_bottleneck_dilations: Dilations cycled through in the last encoder stage.
        enc_non_bottleneck_channels: Kept for MMSeg's signature (the stages use the
            downsamplers' widths); one per stage.
        dec_upsample_channels: One per upsampler (only its length is used, as in MMSeg).
        dec_stages_non_bottleneck: Residual blocks after each upsampler.
        dec_non_bottleneck_channels: Widths of the decoder stages.
        dropout_ratio: Dropout in the encoder's residual blocks.
        conv_cfg, norm_cfg, act_cfg: Stored, as in MMSeg.
        init_cfg: Initialisation config.

    Shapes:
        ``(N, in_channels, H, W)`` -> a one-element tuple ``(N, C, H / s, W / s)`` with
        ``C = dec_non_bottleneck_channels[-1]``, ``s = out_strides[0]`` (2 by default).
    """

    def __init__(
        self,
        in_channels: int = 3,
        enc_downsample_channels: Sequence[int] = (16, 64, 128),
        enc_stage_non_bottlenecks: Sequence[int] = (5, 8),
        enc_non_bottleneck_dilations: Sequence[int] = (2, 4, 8, 16),
        enc_non_bottleneck_channels: Sequence[int] = (64, 128),
        dec_upsample_channels: Sequence[int] = (64, 16),
        dec_stages_non_bottleneck: Sequence[int] = (2, 2),
        dec_non_bottleneck_channels: Sequence[int] = (64, 16),
        dropout_ratio: float = 0.1,
        conv_cfg: _CfgArg = None,
        norm_cfg: _CfgArg = dict(type="BN", requires_grad=True),  # noqa: B006 - MMSeg default
        act_cfg: _CfgArg = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        down = tuple(enc_downsample_channels)
        enc_blocks, dilations = (
            tuple(enc_stage_non_bottlenecks),
            tuple(enc_non_bottleneck_dilations),
        )
        dec_blocks, dec_channels = (
            tuple(dec_stages_non_bottleneck),
            tuple(dec_non_bottleneck_channels),
        )
        stages = len(down) - 1
        if not (
            len(dec_upsample_channels) == len(enc_blocks) == len(enc_non_bottleneck_channels)
            == stages and len(dec_blocks) == len(dec_channels) == len(dec_upsample_channels)
        ):  # fmt: skip
            raise ConfigError(
                "ERFNet needs one more enc_downsample_channels than encoder stages "
                "(enc_stage_non_bottlenecks, enc_non_bottleneck_channels) and decoder stages "
                "(dec_upsample_channels, dec_stages_non_bottleneck, "
                f"dec_non_bottleneck_channels); got {down}, {enc_blocks}, "
                f"{tuple(enc_non_bottleneck_channels)}, {tuple(dec_upsample_channels)}, "
                f"{dec_blocks}, {dec_channels}."
            )
        if enc_blocks[-1] % len(dilations):
            raise ConfigError(
                f"ERFNet's last encoder stage cycles through the dilations {dilations}: its "
                f"block count ({enc_blocks[-1]}) must be a multiple of {len(dilations)}."
            )
        self.in_channels = in_channels
        self.enc_downsample_channels = enc_downsample_channels
        self.enc_stage_non_bottlenecks = enc_stage_non_bottlenecks
        self.enc_non_bottleneck_dilations = enc_non_bottleneck_dilations
        self.enc_non_bottleneck_channels = enc_non_bottleneck_channels
        self.dec_upsample_channels = dec_upsample_channels
        self.dec_stages_non_bottleneck = dec_stages_non_bottleneck
        self.dec_non_bottleneck_channels = dec_non_bottleneck_channels
        self.dropout_ratio = dropout_ratio
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.encoder = nn.ModuleList([DownsamplerBlock(in_channels, down[0])])
        for i in range(stages):
            width = down[i + 1]
            self.encoder.append(DownsamplerBlock(down[i], width))
            if i == stages - 1:  # the last stage: dilated blocks, cycling through dilations
                for _ in range(enc_blocks[-1] // len(dilations)):
                    self.encoder.extend(NonBottleneck1d(width, dropout_ratio, d) for d in dilations)
            else:
                self.encoder.extend(
                    NonBottleneck1d(width, dropout_ratio) for _ in range(enc_blocks[i])
                )
        self.decoder = nn.ModuleList()
        for i, width in enumerate(dec_channels):
            self.decoder.append(UpsamplerBlock(down[-1] if i == 0 else dec_channels[i - 1], width))
            self.decoder.extend(NonBottleneck1d(width) for _ in range(dec_blocks[i]))
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = (dec_channels[-1],)
        self.out_strides = (2 ** (len(down) - len(dec_channels)),)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        for block in self.encoder:
            x = block(x)
        for block in self.decoder:
            x = block(x)
        return (x,)
