"""mmpretrain's ``ConvNeXt`` backbone (V1 and V2 archs), with its arguments and keys.

MMSeg's configs name it ``mmpretrain.ConvNeXt``; the ``mmpretrain.`` scope prefix reads
segwright's shared table, so that name builds this class (no mmpretrain install needed).

Keys: ``downsample_layers.0`` (stem: ``0`` a patchify conv, ``1`` a channel LayerNorm),
``downsample_layers.{i}`` (``0`` LayerNorm, ``1`` a 2x2 stride-2 conv), ``stages.{i}.{j}``
blocks (``depthwise_conv``, ``norm``, ``pointwise_conv1``, ``pointwise_conv2``, ``gamma``
and, for V2, ``grn.gamma``/``grn.beta``) and ``norm{i}`` for each returned stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from itertools import chain
from typing import Any

import torch
from torch import nn

from segwright.models.layers import build_activation_layer, build_norm_layer
from segwright.models.layers.checkpoint import checkpointed
from segwright.models.layers.drop import DropPath, drop_path_rates
from segwright.models.layers.norm import LayerNorm2d
from segwright.models.utils import BaseModule, ModuleList, Sequential
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_LN2D = dict(type="LN2d", eps=1e-6)
_GELU = dict(type="GELU")


class GRN(nn.Module):
    """Global response normalisation (ConvNeXt V2): ``x + gamma * x * n(x) + beta`` where
    ``n(x)`` is each channel's spatial L2 norm over the channels' mean of it."""

    def __init__(self, in_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.eps = eps
        self.gamma = nn.Parameter(torch.zeros(in_channels))
        self.beta = nn.Parameter(torch.zeros(in_channels))

    def forward(self, x: torch.Tensor, data_format: str = "channel_first") -> torch.Tensor:
        if data_format == "channel_last":  # (N, H, W, C)
            gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
            nx = gx / (gx.mean(dim=-1, keepdim=True) + self.eps)
            return self.gamma * (x * nx) + self.beta + x
        gx = torch.norm(x, p=2, dim=(2, 3), keepdim=True)
        nx = gx / (gx.mean(dim=1, keepdim=True) + self.eps)
        return self.gamma.view(1, -1, 1, 1) * (x * nx) + self.beta.view(1, -1, 1, 1) + x


class ConvNeXtBlock(BaseModule):
    """7x7 depthwise conv, channel norm, pointwise MLP (Linear on channel-last tokens when
    ``linear_pw_conv``, else 1x1 convs), optional GRN, layer scale ``gamma``, residual."""

    def __init__(
        self,
        in_channels: int,
        dw_conv_cfg: Mapping[str, Any] = dict(kernel_size=7, padding=3),  # noqa: B006
        norm_cfg: Mapping[str, Any] = _LN2D,
        act_cfg: Mapping[str, Any] = _GELU,
        mlp_ratio: float = 4.0,
        linear_pw_conv: bool = True,
        drop_path_rate: float = 0.0,
        layer_scale_init_value: float = 1e-6,
        use_grn: bool = False,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.depthwise_conv = nn.Conv2d(in_channels, in_channels, groups=in_channels, **dw_conv_cfg)
        self.linear_pw_conv = linear_pw_conv
        self.norm = build_norm_layer(norm_cfg, in_channels)[1]
        if not isinstance(self.norm, LayerNorm2d):
            raise ConfigError(
                f"ConvNeXt blocks normalise with LN2d (it reads maps and channel-last tokens); "
                f"got norm_cfg={dict(norm_cfg)!r}."
            )
        mid = int(mlp_ratio * in_channels)
        pw_conv = nn.Linear if linear_pw_conv else partial(nn.Conv2d, kernel_size=1)
        self.pointwise_conv1 = pw_conv(in_channels, mid)
        self.act = build_activation_layer(act_cfg)
        self.pointwise_conv2 = pw_conv(mid, in_channels)
        self.grn = GRN(mid) if use_grn else None
        self.gamma = (
            nn.Parameter(torch.full((in_channels,), float(layer_scale_init_value)))
            if layer_scale_init_value > 0
            else None
        )
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.depthwise_conv(x)
        layout = "channel_last" if self.linear_pw_conv else "channel_first"
        if self.linear_pw_conv:
            x = x.permute(0, 2, 3, 1)
        x = self.act(self.pointwise_conv1(self.norm(x, data_format=layout)))
        if self.grn is not None:
            x = self.grn(x, data_format=layout)
        x = self.pointwise_conv2(x)
        if self.linear_pw_conv:
            x = x.permute(0, 3, 1, 2)
        if self.gamma is not None:
            x = x * self.gamma.view(1, -1, 1, 1)
        return shortcut + self.drop_path(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return checkpointed(self._inner, x, self.with_cp)


@MODELS.register_module()
class ConvNeXt(BaseModule):
    """ConvNeXt: a patchify stem, then four stages of ConvNeXt blocks separated by norm +
    2x2 stride-2 convs; stage ``i`` has stride ``stem_patch_size * 2**i``.

    Args:
        arch: ``'atto'``...``'huge'`` or ``dict(depths=[...], channels=[...])``.
        in_channels: Input image channels.
        stem_patch_size: Stem conv kernel and stride.
        norm_cfg, act_cfg: Channel norm (``LN2d``) and MLP activation.
        linear_pw_conv: Pointwise MLP as Linear layers (channel-last) rather than 1x1 convs.
        use_grn: Global response normalisation in the MLP (ConvNeXt V2).
        drop_path_rate: Stochastic depth, rising linearly over all blocks.
        layer_scale_init_value: Initial layer scale (0: none).
        out_indices: Stages returned (negative counts from the end).
        frozen_stages: Freeze the first ``frozen_stages`` downsample layers and stages.
        gap_before_final_norm: Return globally pooled, normed vectors (classification)
            instead of normed maps; segmentation configs set False.
        with_cp: Gradient checkpointing in the blocks.
        init_cfg: Initialisation; the default is mmpretrain's (truncated-normal Conv2d and
            Linear, unit LayerNorm).

    Shapes:
        ``(N, in_channels, H, W)`` -> tuple of ``(N, channels[i], H / s_i, W / s_i)``.
    """

    arch_settings: dict[str, dict[str, list[int]]] = {
        "atto": dict(depths=[2, 2, 6, 2], channels=[40, 80, 160, 320]),
        "femto": dict(depths=[2, 2, 6, 2], channels=[48, 96, 192, 384]),
        "pico": dict(depths=[2, 2, 6, 2], channels=[64, 128, 256, 512]),
        "nano": dict(depths=[2, 2, 8, 2], channels=[80, 160, 320, 640]),
        "tiny": dict(depths=[3, 3, 9, 3], channels=[96, 192, 384, 768]),
        "small": dict(depths=[3, 3, 27, 3], channels=[96, 192, 384, 768]),
        "base": dict(depths=[3, 3, 27, 3], channels=[128, 256, 512, 1024]),
        "large": dict(depths=[3, 3, 27, 3], channels=[192, 384, 768, 1536]),
        "xlarge": dict(depths=[3, 3, 27, 3], channels=[256, 512, 1024, 2048]),
        "huge": dict(depths=[3, 3, 27, 3], channels=[352, 704, 1408, 2816]),
    }

    def __init__(
        self,
        arch: str | Mapping[str, Sequence[int]] = "tiny",
        in_channels: int = 3,
        stem_patch_size: int = 4,
        norm_cfg: Mapping[str, Any] = _LN2D,
        act_cfg: Mapping[str, Any] = _GELU,
        linear_pw_conv: bool = True,
        use_grn: bool = False,
        drop_path_rate: float = 0.0,
        layer_scale_init_value: float = 1e-6,
        out_indices: int | Sequence[int] = -1,
        frozen_stages: int = 0,
        gap_before_final_norm: bool = True,
        with_cp: bool = False,
        init_cfg: Any = [  # noqa: B006 - mmpretrain's default
            dict(type="TruncNormal", layer=["Conv2d", "Linear"], std=0.02, bias=0.0),
            dict(type="Constant", layer=["LayerNorm"], val=1.0, bias=0.0),
        ],
    ) -> None:
        super().__init__(init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_settings:
                raise ConfigError(
                    f"ConvNeXt arch {arch!r} is unknown; use one of {sorted(self.arch_settings)} "
                    "or dict(depths=[...], channels=[...])."
                )
            arch = self.arch_settings[arch]
        elif not isinstance(arch, Mapping) or not {"depths", "channels"} <= set(arch):
            raise ConfigError(f"ConvNeXt arch dict needs 'depths' and 'channels', got {arch!r}.")
        self.depths = list(arch["depths"])
        self.channels = list(arch["channels"])
        if len(self.depths) != len(self.channels):
            raise ConfigError(f"ConvNeXt arch: depths and channels differ in length: {arch!r}.")
        self.num_stages = stages = len(self.depths)
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        indices = [i + stages if i < 0 else i for i in indices]
        if any(not 0 <= i < stages for i in indices):
            raise ConfigError(f"ConvNeXt out_indices {out_indices} must name stages of {stages}.")
        self.out_indices = indices
        self.frozen_stages = frozen_stages
        self.gap_before_final_norm = gap_before_final_norm

        rates = drop_path_rates(drop_path_rate, sum(self.depths))
        channels = self.channels
        self.downsample_layers = ModuleList()
        self.downsample_layers.append(
            Sequential(
                nn.Conv2d(in_channels, channels[0], stem_patch_size, stride=stem_patch_size),
                build_norm_layer(norm_cfg, channels[0])[1],
            )
        )
        self.stages = ModuleList()
        cur = 0
        for i, depth in enumerate(self.depths):
            if i > 0:
                self.downsample_layers.append(
                    Sequential(
                        build_norm_layer(norm_cfg, channels[i - 1])[1],
                        nn.Conv2d(channels[i - 1], channels[i], 2, stride=2),
                    )
                )
            self.stages.append(
                Sequential(
                    *(
                        ConvNeXtBlock(
                            channels[i],
                            norm_cfg=norm_cfg,
                            act_cfg=act_cfg,
                            linear_pw_conv=linear_pw_conv,
                            drop_path_rate=rates[cur + j],
                            layer_scale_init_value=layer_scale_init_value,
                            use_grn=use_grn,
                            with_cp=with_cp,
                        )  # fmt: skip
                        for j in range(depth)
                    )
                )
            )
            cur += depth
            if i in self.out_indices:
                self.add_module(f"norm{i}", build_norm_layer(norm_cfg, channels[i])[1])
        returned = [i for i in range(stages) if i in self.out_indices]
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(channels[i] for i in returned)
        self.out_strides = tuple(stem_patch_size * 2**i for i in returned)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages):
            for module in (self.downsample_layers[i], self.stages[i]):
                module.eval()
            params = chain(self.downsample_layers[i].parameters(), self.stages[i].parameters())
            for param in params:
                param.requires_grad = False

    def train(self, mode: bool = True) -> ConvNeXt:
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(self.downsample_layers[i](x))
            if i in self.out_indices:
                norm = getattr(self, f"norm{i}")
                if self.gap_before_final_norm:
                    outs.append(norm(x.mean([-2, -1], keepdim=True)).flatten(1))
                else:
                    outs.append(norm(x))
        return tuple(outs)
