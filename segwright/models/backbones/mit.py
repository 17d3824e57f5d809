"""SegFormer's ``MixVisionTransformer`` (MiT) backbone with MMSeg's arguments and keys.

Stage ``i`` is ``layers.{i}``: ``layers.{i}.0`` an overlapping ``PatchEmbed`` (``projection``,
``norm``), ``layers.{i}.1.{j}`` the encoder blocks (``norm1``, ``attn``, ``norm2``, ``ffn``),
``layers.{i}.2`` a final LayerNorm. Attention wraps ``torch.nn.MultiheadAttention`` as MMCV
does, so its keys are ``attn.attn.in_proj_weight``, ``attn.attn.out_proj.weight`` ...;
the spatial reduction is ``attn.sr`` + ``attn.norm``; the Mix-FFN convs are ``ffn.layers.0``
(1x1), ``ffn.layers.1`` (3x3 depthwise) and ``ffn.layers.4`` (1x1).

MiT-B0: ``embed_dims=32, num_layers=[2, 2, 2, 2], num_heads=[1, 2, 5, 8]``; B1-B5 use
``embed_dims=64`` with ``num_layers`` [2,2,2,2], [3,4,6,3], [3,8,27,3], [3,6,40,3].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.utils import PatchEmbed
from segwright.models.layers import build_activation_layer, build_norm_layer
from segwright.models.layers.attention import EfficientMultiheadAttention
from segwright.models.layers.checkpoint import checkpointed
from segwright.models.layers.drop import DropPath
from segwright.models.layers.shape_convert import nchw_to_nlc, nlc_to_nchw
from segwright.models.utils import BaseModule, ModuleList, Sequential
from segwright.models.utils.pretrained import init_cfg_from_pretrained
from segwright.models.utils.weight_init import (
    mit_default_init,
)
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_LN = dict(type="LN")
_GELU = dict(type="GELU")


class MixFFN(BaseModule):
    """1x1 conv -> 3x3 depthwise conv (positional information) -> act -> 1x1 conv, on tokens.

    ``layers`` is ``[fc1, pe_conv, act, drop, fc2, drop]`` (MMSeg's indices), and the result
    is added to ``identity`` through ``dropout_layer`` (DropPath).
    """

    def __init__(
        self,
        embed_dims: int,
        feedforward_channels: int,
        act_cfg: Mapping[str, Any] = _GELU,
        ffn_drop: float = 0.0,
        drop_path_rate: float = 0.0,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.embed_dims = embed_dims
        self.feedforward_channels = feedforward_channels
        self.activate = build_activation_layer(act_cfg)
        drop = nn.Dropout(ffn_drop)
        self.layers = Sequential(
            nn.Conv2d(embed_dims, feedforward_channels, 1),
            nn.Conv2d(
                feedforward_channels,
                feedforward_channels,
                3,
                padding=1,
                groups=feedforward_channels,
            ),
            self.activate,
            drop,
            nn.Conv2d(feedforward_channels, embed_dims, 1),
            drop,
        )
        self.dropout_layer = DropPath(drop_path_rate)

    def forward(
        self, x: torch.Tensor, hw_shape: tuple[int, int], identity: torch.Tensor | None = None
    ) -> torch.Tensor:
        out = nchw_to_nlc(self.layers(nlc_to_nchw(x, hw_shape)))
        return (x if identity is None else identity) + self.dropout_layer(out)


class TransformerEncoderLayer(BaseModule):
    """Pre-norm block: ``x + attn(norm1(x))``, then ``x + ffn(norm2(x))``."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        qkv_bias: bool = True,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _LN,
        batch_first: bool = True,
        sr_ratio: int = 1,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = EfficientMultiheadAttention(
            embed_dims, num_heads, attn_drop=attn_drop_rate, proj_drop=drop_rate,
            drop_path_rate=drop_path_rate, batch_first=batch_first, qkv_bias=qkv_bias,
            norm_cfg=norm_cfg, sr_ratio=sr_ratio,
        )  # fmt: skip
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = MixFFN(
            embed_dims, feedforward_channels, act_cfg=act_cfg, ffn_drop=drop_rate,
            drop_path_rate=drop_path_rate,
        )  # fmt: skip
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        def inner(t: torch.Tensor) -> torch.Tensor:
            t = self.attn(self.norm1(t), hw_shape, identity=t)
            return self.ffn(self.norm2(t), hw_shape, identity=t)

        return checkpointed(inner, x, self.with_cp)


@MODELS.register_module()
class MixVisionTransformer(BaseModule):
    """Hierarchical transformer of SegFormer: four stages of overlapping patch embedding and
    efficient-attention blocks, at strides 4, 8, 16, 32 by default.

    Args:
        in_channels: Input image channels.
        embed_dims: Base width; stage ``i`` has ``embed_dims * num_heads[i]`` channels.
        num_stages: Number of stages.
        num_layers, num_heads, patch_sizes, strides, sr_ratios: Per-stage blocks, attention
            heads, patch-embedding kernel and stride, attention spatial reduction.
        out_indices: Stages whose outputs are returned.
        mlp_ratio: Mix-FFN hidden width over the stage width.
        qkv_bias: Attention projection biases.
        drop_rate, attn_drop_rate: Dropout after attention/FFN, on the attention weights.
        drop_path_rate: Stochastic depth, rising linearly from 0 over all blocks.
        act_cfg, norm_cfg: FFN activation and token norm (LN, eps 1e-6).
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_cfg: Initialisation config; None gives MMSeg's (truncated-normal Linear,
            fan-out normal Conv2d, unit LayerNorm).
        with_cp: Gradient checkpointing in the blocks.

    Shapes:
        ``(N, in_channels, H, W)`` -> tuple of ``(N, out_channels[i], h_i, w_i)`` with
        ``h_i = ceil(H / out_strides[i])``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        embed_dims: int = 64,
        num_stages: int = 4,
        num_layers: Sequence[int] = (3, 4, 6, 3),
        num_heads: Sequence[int] = (1, 2, 4, 8),
        patch_sizes: Sequence[int] = (7, 3, 3, 3),
        strides: Sequence[int] = (4, 2, 2, 2),
        sr_ratios: Sequence[int] = (8, 4, 2, 1),
        out_indices: int | Sequence[int] = (0, 1, 2, 3),
        mlp_ratio: int = 4,
        qkv_bias: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = dict(type="LN", eps=1e-6),  # noqa: B006 - MMSeg default
        pretrained: str | None = None,
        init_cfg: Any = None,
        with_cp: bool = False,
    ) -> None:
        super().__init__(init_cfg)
        self.init_cfg = init_cfg_from_pretrained("MixVisionTransformer", pretrained, self.init_cfg)
        per_stage = dict(
            num_layers=tuple(num_layers), num_heads=tuple(num_heads),
            patch_sizes=tuple(patch_sizes), strides=tuple(strides), sr_ratios=tuple(sr_ratios),
        )  # fmt: skip
        for name, value in per_stage.items():
            if len(value) != num_stages:
                raise ConfigError(
                    f"MixVisionTransformer {name} must have num_stages={num_stages} values, "
                    f"got {value}."
                )
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        if not out_indices or max(out_indices) >= num_stages or min(out_indices) < 0:
            raise ConfigError(
                f"MixVisionTransformer out_indices {out_indices} must name stages "
                f"0..{num_stages - 1}."
            )
        self.embed_dims = embed_dims
        self.num_stages = num_stages
        self.num_layers = per_stage["num_layers"]
        self.num_heads = per_stage["num_heads"]
        self.patch_sizes = per_stage["patch_sizes"]
        self.strides = per_stage["strides"]
        self.sr_ratios = per_stage["sr_ratios"]
        self.out_indices = out_indices
        self.with_cp = with_cp

        total = sum(self.num_layers)
        rates = [float(r) for r in torch.linspace(0, drop_path_rate, total)]  # stochastic depth
        self.layers = ModuleList()
        stage_channels, stage_strides, total_stride, cur = [], [], 1, 0
        for i, num_layer in enumerate(self.num_layers):
            width = embed_dims * self.num_heads[i]
            patch_embed = PatchEmbed(
                in_channels=in_channels, embed_dims=width, kernel_size=self.patch_sizes[i],
                stride=self.strides[i], padding=self.patch_sizes[i] // 2, norm_cfg=norm_cfg,
            )  # fmt: skip
            blocks = ModuleList(
                TransformerEncoderLayer(
                    embed_dims=width,
                    num_heads=self.num_heads[i],
                    feedforward_channels=mlp_ratio * width,
                    drop_rate=drop_rate,
                    attn_drop_rate=attn_drop_rate,
                    drop_path_rate=rates[cur + j],
                    qkv_bias=qkv_bias,
                    act_cfg=act_cfg,
                    norm_cfg=norm_cfg,
                    sr_ratio=self.sr_ratios[i],
                    with_cp=with_cp,
                )
                for j in range(num_layer)
            )
            norm = build_norm_layer(norm_cfg, width)[1]
            self.layers.append(ModuleList([patch_embed, blocks, norm]))
            in_channels = width
            cur += num_layer
            total_stride *= self.strides[i]
            stage_channels.append(width)
            stage_strides.append(total_stride)
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(stage_channels[i] for i in out_indices)
        self.out_strides = tuple(stage_strides[i] for i in out_indices)

    def init_weights(self) -> None:
        """MMSeg's default init when ``init_cfg`` is None, else the ``init_cfg`` rules."""
        if self.init_cfg is not None or self._is_init:
            super().init_weights()  # also warns on a second call
            return
        mit_default_init(self)
        self._is_init = True

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for i, (patch_embed, blocks, norm) in enumerate(self.layers):
            x, hw_shape = patch_embed(x)
            for block in blocks:
                x = block(x, hw_shape)
            x = nlc_to_nchw(norm(x), hw_shape)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
