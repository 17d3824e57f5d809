"""SegNeXt's ``MSCAN`` backbone (multi-scale convolutional attention) with MMSeg's keys.

Stage ``i`` (1-based) is ``patch_embed{i}`` (stage 1: a two-conv stem ``proj.0``-``proj.4``;
later: ``proj`` + BN ``norm``), the blocks ``block{i}.{j}`` and a LayerNorm ``norm{i}``. A block
holds ``norm1``, ``attn`` (``proj_1``, ``spatial_gating_unit`` with depthwise ``conv0``, strip
convs ``conv{k}_1``/``conv{k}_2`` and ``conv3``, ``proj_2``), ``norm2``, ``mlp`` (``fc1``,
``dwconv``, ``fc2``) and the per-channel ``layer_scale_1``/``layer_scale_2``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.layers import build_activation_layer, build_norm_layer
from segwright.models.layers.drop import DropPath, drop_path_rates
from segwright.models.layers.shape_convert import nchw_to_nlc, nlc_to_nchw
from segwright.models.utils import BaseModule, ModuleList
from segwright.models.utils.pretrained import init_cfg_from_pretrained
from segwright.models.utils.weight_init import (
    mit_default_init,
)
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_GELU = dict(type="GELU")
_SYNC_BN = dict(type="SyncBN", requires_grad=True)
_KERNELS = (5, (1, 7), (1, 11), (1, 21))
_PADDINGS = (2, (0, 3), (0, 5), (0, 10))
#: Initial value of the per-channel scales of the two residual branches.
_LAYER_SCALE = 1e-2


class Mlp(BaseModule):
    """1x1 conv -> 3x3 depthwise conv -> act -> dropout -> 1x1 conv -> dropout, on maps."""

    def __init__(
        self,
        in_features: int,
        hidden_features: int | None = None,
        out_features: int | None = None,
        act_cfg: Mapping[str, Any] = _GELU,
        drop: float = 0.0,
    ) -> None:
        super().__init__()
        hidden = hidden_features or in_features
        self.fc1 = nn.Conv2d(in_features, hidden, 1)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, bias=True, groups=hidden)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Conv2d(hidden, out_features or in_features, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.dwconv(self.fc1(x))))
        return self.drop(self.fc2(x))


class StemConv(BaseModule):
    """Two stride-2 3x3 convs (to ``out_channels // 2``, then ``out_channels``) with norms."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _SYNC_BN,
    ) -> None:
        super().__init__()
        half = out_channels // 2
        self.proj = nn.Sequential(
            nn.Conv2d(in_channels, half, 3, stride=2, padding=1),
            build_norm_layer(norm_cfg, half)[1],
            build_activation_layer(act_cfg),
            nn.Conv2d(half, out_channels, 3, stride=2, padding=1),
            build_norm_layer(norm_cfg, out_channels)[1],
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)
        h, w = x.shape[2:]
        return nchw_to_nlc(x), h, w


class OverlapPatchEmbed(BaseModule):
    """A strided ``patch_size`` conv (padding ``patch_size // 2``) and a norm on the map."""

    def __init__(
        self,
        patch_size: int = 7,
        stride: int = 4,
        in_channels: int = 3,
        embed_dim: int = 768,
        norm_cfg: Mapping[str, Any] = _SYNC_BN,
    ) -> None:
        super().__init__()
        self.proj = nn.Conv2d(
            in_channels, embed_dim, patch_size, stride=stride, padding=patch_size // 2
        )
        self.norm = build_norm_layer(norm_cfg, embed_dim)[1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)
        h, w = x.shape[2:]
        return nchw_to_nlc(self.norm(x)), h, w


def _pair_list(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


class MSCAAttention(BaseModule):
    """Multi-scale conv attention: a depthwise conv, then strip-conv branches (1xk then kx1)
    summed with it, a 1x1 channel mix; the result multiplies the input."""

    def __init__(
        self,
        channels: int,
        kernel_sizes: Sequence[Any] = _KERNELS,
        paddings: Sequence[Any] = _PADDINGS,
    ) -> None:
        super().__init__()
        if len(kernel_sizes) != len(paddings):
            raise ConfigError(
                f"MSCAN attention_kernel_sizes {kernel_sizes} and attention_kernel_paddings "
                f"{paddings} must have the same length."
            )
        self.conv0 = nn.Conv2d(
            channels, channels, kernel_sizes[0], padding=paddings[0], groups=channels
        )
        self.num_branches = len(kernel_sizes) - 1
        for i, (kernel, pad) in enumerate(zip(kernel_sizes[1:], paddings[1:])):
            kernel, pad = _pair_list(kernel), _pair_list(pad)
            for suffix, k, p in ((1, kernel, pad), (2, kernel[::-1], pad[::-1])):
                conv = nn.Conv2d(channels, channels, tuple(k), padding=tuple(p), groups=channels)
                self.add_module(f"conv{i}_{suffix}", conv)
        self.conv3 = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attn = self.conv0(x)
        total = attn
        for i in range(self.num_branches):
            total = total + getattr(self, f"conv{i}_2")(getattr(self, f"conv{i}_1")(attn))
        return self.conv3(total) * x


class MSCASpatialAttention(BaseModule):
    """``x + proj_2(msca(act(proj_1(x))))``."""

    def __init__(
        self,
        in_channels: int,
        attention_kernel_sizes: Sequence[Any] = _KERNELS,
        attention_kernel_paddings: Sequence[Any] = _PADDINGS,
        act_cfg: Mapping[str, Any] = _GELU,
    ) -> None:
        super().__init__()
        self.proj_1 = nn.Conv2d(in_channels, in_channels, 1)
        self.activation = build_activation_layer(act_cfg)
        self.spatial_gating_unit = MSCAAttention(
            in_channels, attention_kernel_sizes, attention_kernel_paddings
        )
        self.proj_2 = nn.Conv2d(in_channels, in_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.spatial_gating_unit(self.activation(self.proj_1(x)))
        return self.proj_2(out) + x


class MSCABlock(BaseModule):
    """``x + s1 * attn(norm1(x))``, then ``x + s2 * mlp(norm2(x))`` (BN norms, on maps)."""

    def __init__(
        self,
        channels: int,
        attention_kernel_sizes: Sequence[Any] = _KERNELS,
        attention_kernel_paddings: Sequence[Any] = _PADDINGS,
        mlp_ratio: float = 4.0,
        drop: float = 0.0,
        drop_path: float = 0.0,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _SYNC_BN,
    ) -> None:
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, channels)[1]
        self.attn = MSCASpatialAttention(
            channels, attention_kernel_sizes, attention_kernel_paddings, act_cfg
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, channels)[1]
        self.mlp = Mlp(channels, int(channels * mlp_ratio), act_cfg=act_cfg, drop=drop)
        self.layer_scale_1 = nn.Parameter(torch.full((channels,), _LAYER_SCALE))
        self.layer_scale_2 = nn.Parameter(torch.full((channels,), _LAYER_SCALE))

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = nlc_to_nchw(x, (h, w))
        scale_1 = self.layer_scale_1[:, None, None]
        scale_2 = self.layer_scale_2[:, None, None]
        x = x + self.drop_path(scale_1 * self.attn(self.norm1(x)))
        x = x + self.drop_path(scale_2 * self.mlp(self.norm2(x)))
        return nchw_to_nlc(x)


@MODELS.register_module()
class MSCAN(BaseModule):
    """SegNeXt's encoder: a conv stem then overlapping patch embeddings, each followed by
    multi-scale conv-attention blocks and a LayerNorm; every stage is returned.

    Args:
        in_channels: Input image channels (the stem reads 3, as MMSeg's does).
        embed_dims, mlp_ratios, depths: Per stage.
        drop_rate: Dropout in the MLPs; ``drop_path_rate``: stochastic depth (linear over
            all blocks).
        num_stages: Number of stages.
        attention_kernel_sizes, attention_kernel_paddings: The square kernel, then one strip
            kernel (``[1, k]``) per branch, and their paddings.
        act_cfg, norm_cfg: Activation and (batch) norm of the convs.
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_cfg: Initialisation config; None gives MMSeg's (fan-out normal convs, unit LN).

    Shapes:
        ``(N, 3, H, W)`` -> tuple of ``(N, embed_dims[i], H / 2**(i+2), W / 2**(i+2))``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        embed_dims: Sequence[int] = (64, 128, 256, 512),
        mlp_ratios: Sequence[float] = (4, 4, 4, 4),
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        depths: Sequence[int] = (3, 4, 6, 3),
        num_stages: int = 4,
        attention_kernel_sizes: Sequence[Any] = _KERNELS,
        attention_kernel_paddings: Sequence[Any] = _PADDINGS,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _SYNC_BN,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.init_cfg = init_cfg_from_pretrained("MSCAN", pretrained, self.init_cfg)
        for name, values in (("embed_dims", embed_dims), ("mlp_ratios", mlp_ratios)):
            if len(values) < num_stages or len(depths) < num_stages:
                raise ConfigError(
                    f"MSCAN {name} {values} and depths {depths} need num_stages={num_stages} values."
                )
        self.depths = list(depths)
        self.num_stages = num_stages
        rates = drop_path_rates(drop_path_rate, sum(depths))
        cur = 0
        for i in range(num_stages):
            if i == 0:
                embed: nn.Module = StemConv(3, embed_dims[0], norm_cfg=norm_cfg)
            else:
                embed = OverlapPatchEmbed(3, 2, embed_dims[i - 1], embed_dims[i], norm_cfg)
            blocks = ModuleList(
                MSCABlock(
                    embed_dims[i],
                    attention_kernel_sizes,
                    attention_kernel_paddings,
                    mlp_ratio=mlp_ratios[i],
                    drop=drop_rate,
                    drop_path=rates[cur + j],
                    act_cfg=act_cfg,
                    norm_cfg=norm_cfg,
                )  # fmt: skip
                for j in range(depths[i])
            )
            cur += depths[i]
            self.add_module(f"patch_embed{i + 1}", embed)
            self.add_module(f"block{i + 1}", blocks)
            self.add_module(f"norm{i + 1}", nn.LayerNorm(embed_dims[i]))
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(embed_dims[:num_stages])
        self.out_strides = tuple(2 ** (i + 2) for i in range(num_stages))

    def init_weights(self) -> None:
        """``init_cfg`` rules, or MMSeg's default when it is None."""
        if self.init_cfg is not None or self._is_init:
            super().init_weights()
            return
        mit_default_init(self)
        self._is_init = True

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for i in range(1, self.num_stages + 1):
            x, h, w = getattr(self, f"patch_embed{i}")(x)
            for block in getattr(self, f"block{i}"):
                x = block(x, h, w)
            x = nlc_to_nchw(getattr(self, f"norm{i}")(x), (h, w)).contiguous()
            outs.append(x)
        return tuple(outs)
