"""Twins backbones ``PCPVT`` and ``SVT`` with MMSeg's arguments and keys.

Keys: ``patch_embeds.{i}`` (``projection``, ``norm``), ``position_encodings.{i}.proj`` (a
3x3 depthwise conv, the conditional position encoding applied after the first block of a
stage), ``layers.{i}.{j}`` (``norm1``, ``attn``, ``norm2``, ``ffn.layers.0.0``/``ffn.layers.1``)
and, with ``norm_after_stage``, ``norm_list.{i}``.

PCPVT's blocks use global sub-sampled attention (MiT's efficient attention: keys
``attn.attn.in_proj_weight``, ``attn.sr``, ``attn.norm``); SVT swaps every even block for
locally-grouped (window) attention (``attn.qkv``, ``attn.proj``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.backbones.swin import window_partition, window_reverse
from segwright.models.backbones.utils import PatchEmbed
from segwright.models.layers import build_norm_layer
from segwright.models.layers.attention import EfficientMultiheadAttention
from segwright.models.layers.drop import DropPath, build_dropout, drop_path_rates
from segwright.models.layers.transformer import FFN
from segwright.models.utils import BaseModule, ModuleList
from segwright.models.utils.pretrained import init_cfg_from_pretrained
from segwright.models.utils.weight_init import (
    mit_default_init,
)
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_LN = dict(type="LN")
_GELU = dict(type="GELU")
#: Added to the logits between padded and real tokens of a window.
_PAD_MASK_VALUE = -1000.0


class GlobalSubsampledAttention(EfficientMultiheadAttention):
    """MiT's spatially reduced attention, with MMCV's ``dropout_layer`` dict for the residual."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        dropout_layer: Mapping[str, Any] | None = None,
        batch_first: bool = True,
        qkv_bias: bool = True,
        norm_cfg: Mapping[str, Any] = _LN,
        sr_ratio: int = 1,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(
            embed_dims, num_heads, attn_drop=attn_drop, proj_drop=proj_drop,
            batch_first=batch_first, qkv_bias=qkv_bias, norm_cfg=norm_cfg, sr_ratio=sr_ratio,
            init_cfg=init_cfg,
        )  # fmt: skip
        self.dropout_layer = build_dropout(dropout_layer)


def _block_drop_path(rate: float) -> nn.Module:
    return DropPath(rate) if rate > 0 else nn.Identity()


class GSAEncoderLayer(BaseModule):
    """``x + drop_path(gsa(norm1(x)))``, then ``x + drop_path(ffn(norm2(x)))``.

    As in MMSeg, the attention's and the FFN's own DropPath apply as well as the block's
    (stochastic depth is applied twice in training; eval is unaffected).
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        num_fcs: int = 2,
        qkv_bias: bool = True,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _LN,
        sr_ratio: float = 1.0,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        drop_path = dict(type="DropPath", drop_prob=drop_path_rate)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = GlobalSubsampledAttention(
            embed_dims, num_heads, attn_drop=attn_drop_rate, proj_drop=drop_rate,
            dropout_layer=drop_path, qkv_bias=qkv_bias, norm_cfg=norm_cfg,
            sr_ratio=int(sr_ratio),
        )  # fmt: skip
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(
            embed_dims, feedforward_channels, num_fcs=num_fcs, act_cfg=act_cfg,
            ffn_drop=drop_rate, dropout_layer=drop_path, add_identity=False,
        )  # fmt: skip
        self.drop_path = _block_drop_path(drop_path_rate)

    def forward(self, x: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        zero = x.new_zeros(())  # the attention adds no residual of its own here
        x = x + self.drop_path(self.attn(self.norm1(x), hw_shape, identity=zero))
        return x + self.drop_path(self.ffn(self.norm2(x)))


class LocallyGroupedSelfAttention(BaseModule):
    """Self-attention inside non-overlapping ``window_size`` windows of the token map.

    Maps are zero-padded at the bottom/right to whole windows. MMSeg keeps padded and real
    tokens apart (logit -1000 between them) only when both the height and the width were
    padded; with one side padded its mask covers the whole map and nothing is masked. That
    behaviour is kept, so its checkpoints give its numbers.

    Shapes:
        ``(N, H*W, C)`` -> same.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int = 8,
        qkv_bias: bool = False,
        qk_scale: float | None = None,
        attn_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        window_size: int = 1,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if embed_dims % num_heads:
            raise ConfigError(f"Twins width {embed_dims} is not divisible by {num_heads} heads.")
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop_rate)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)
        self.window_size = window_size

    def _pad_mask(self, hp: int, wp: int, h: int, w: int, device: torch.device) -> torch.Tensor:
        padded = torch.zeros(1, hp, wp, 1, device=device)
        padded[:, h:] = 1
        padded[:, :, w:] = 1
        ids = window_partition(padded, self.window_size).squeeze(-1)  # (windows, L)
        diff = ids.unsqueeze(1) - ids.unsqueeze(2)
        return torch.where(diff != 0, _PAD_MASK_VALUE, 0.0)

    def forward(self, x: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        n, length, c = x.shape
        h, w = hw_shape
        win, heads = self.window_size, self.num_heads
        pad_r, pad_b = (win - w % win) % win, (win - h % win) % win
        x = F.pad(x.reshape(n, h, w, c), (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = h + pad_b, w + pad_r
        windows = window_partition(x, win)  # (n * windows, L, c)
        b, size = windows.shape[:2]
        q, k, v = self.qkv(windows).reshape(b, size, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        mask = None
        if pad_r and pad_b:
            mask = self._pad_mask(hp, wp, h, w, x.device)
            mask = mask.repeat(n, 1, 1).unsqueeze(1).to(q.dtype)  # (n * windows, 1, L, L)
        drop = self.attn_drop.p if self.training else 0.0
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=drop, scale=self.scale
        )
        out = window_reverse(out.transpose(1, 2).reshape(b, size, c), win, hp, wp)
        out = out[:, :h, :w].reshape(n, length, c)
        return self.proj_drop(self.proj(out))


class LSAEncoderLayer(BaseModule):
    """Like :class:`GSAEncoderLayer`, with locally-grouped attention."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        num_fcs: int = 2,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _LN,
        window_size: int = 1,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = LocallyGroupedSelfAttention(
            embed_dims, num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate, proj_drop_rate=drop_rate, window_size=window_size,
        )  # fmt: skip
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(
            embed_dims, feedforward_channels, num_fcs=num_fcs, act_cfg=act_cfg,
            ffn_drop=drop_rate, dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate),
            add_identity=False,
        )  # fmt: skip
        self.drop_path = _block_drop_path(drop_path_rate)

    def forward(self, x: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), hw_shape))
        return x + self.drop_path(self.ffn(self.norm2(x)))


class ConditionalPositionEncoding(BaseModule):
    """A 3x3 depthwise conv over the token map (plus the map itself when ``stride == 1``)."""

    def __init__(
        self, in_channels: int, embed_dims: int = 768, stride: int = 1, init_cfg: Any = None
    ) -> None:
        super().__init__(init_cfg)
        self.proj = nn.Conv2d(
            in_channels, embed_dims, 3, stride=stride, padding=1, bias=True, groups=embed_dims
        )
        self.stride = stride

    def forward(self, x: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        n, _, c = x.shape
        feat = x.transpose(1, 2).reshape(n, c, *hw_shape)
        out = self.proj(feat)
        if self.stride == 1:
            out = out + feat
        return out.flatten(2).transpose(1, 2)


def _per_stage(name: str, values: Sequence[Any], stages: int) -> list[Any]:
    if len(values) < stages:
        raise ConfigError(f"Twins {name} needs one value per stage ({stages}), got {values}.")
    return list(values)


@MODELS.register_module()
class PCPVT(BaseModule):
    """Twins-PCPVT: PVT stages (patch embedding, global sub-sampled attention blocks) with a
    conditional position encoding after each stage's first block.

    Args:
        in_channels: Input image channels.
        embed_dims, patch_sizes, strides, num_heads, mlp_ratios, depths, sr_ratios: Per stage.
        out_indices: Stages whose outputs are returned.
        qkv_bias: Attention projection biases.
        drop_rate, attn_drop_rate, drop_path_rate: Dropouts and stochastic depth (rising
            linearly over all blocks).
        norm_cfg: Norm of the patch embeddings and ``norm_list`` (blocks always use LN).
        norm_after_stage: A norm at the end of each stage.
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_cfg: Initialisation config; None gives MMSeg's (truncated-normal Linear, unit
            norms, fan-out normal convs).

    Shapes:
        ``(N, in_channels, H, W)`` -> tuple of ``(N, embed_dims[i], H / s_i, W / s_i)``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        embed_dims: Sequence[int] = (64, 128, 256, 512),
        patch_sizes: Sequence[int] = (4, 2, 2, 2),
        strides: Sequence[int] = (4, 2, 2, 2),
        num_heads: Sequence[int] = (1, 2, 4, 8),
        mlp_ratios: Sequence[int] = (4, 4, 4, 4),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        qkv_bias: bool = False,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        norm_cfg: Mapping[str, Any] = _LN,
        depths: Sequence[int] = (3, 4, 6, 3),
        sr_ratios: Sequence[int] = (8, 4, 2, 1),
        norm_after_stage: bool = False,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        self.init_cfg = init_cfg_from_pretrained(name, pretrained, self.init_cfg)
        stages = len(depths)
        self.depths = list(depths)
        embed_dims = _per_stage("embed_dims", embed_dims, stages)
        patch_sizes = _per_stage("patch_sizes", patch_sizes, stages)
        strides = _per_stage("strides", strides, stages)
        num_heads = _per_stage("num_heads", num_heads, stages)
        mlp_ratios = _per_stage("mlp_ratios", mlp_ratios, stages)
        sr_ratios = _per_stage("sr_ratios", sr_ratios, stages)
        self.out_indices = tuple(out_indices)
        returned = [i for i in range(stages) if i in self.out_indices]  # in stage order
        if not returned:
            raise ConfigError(f"{name} out_indices {out_indices} name no stage of {stages}.")
        self.patch_embeds = ModuleList(
            PatchEmbed(
                in_channels if i == 0 else embed_dims[i - 1],
                embed_dims[i],
                kernel_size=patch_sizes[i],
                stride=strides[i],
                padding="corner",
                norm_cfg=norm_cfg,
            )  # fmt: skip
            for i in range(stages)
        )
        self.position_encoding_drops = ModuleList(nn.Dropout(drop_rate) for _ in range(stages))
        self.position_encodings = ModuleList(
            ConditionalPositionEncoding(d, d) for d in embed_dims[:stages]
        )
        #: Stochastic depth per block, over all stages.
        self._rates = drop_path_rates(drop_path_rate, sum(depths))
        self.layers = ModuleList()
        cur = 0
        for k in range(stages):
            self.layers.append(
                ModuleList(
                    GSAEncoderLayer(
                        embed_dims[k],
                        num_heads[k],
                        mlp_ratios[k] * embed_dims[k],
                        drop_rate=drop_rate,
                        attn_drop_rate=attn_drop_rate,
                        drop_path_rate=self._rates[cur + i],
                        qkv_bias=qkv_bias,
                        sr_ratio=sr_ratios[k],
                    )  # fmt: skip
                    for i in range(depths[k])
                )
            )
            cur += depths[k]
        self.norm_after_stage = norm_after_stage
        if norm_after_stage:
            self.norm_list = ModuleList(build_norm_layer(norm_cfg, d)[1] for d in embed_dims)
        total, stage_strides = 1, []
        for s in strides[:stages]:
            total *= s
            stage_strides.append(total)
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(embed_dims[i] for i in returned)
        self.out_strides = tuple(stage_strides[i] for i in returned)

    def init_weights(self) -> None:
        """``init_cfg`` rules, or MMSeg's default when it is None."""
        if self.init_cfg is not None or self._is_init:
            super().init_weights()
            return
        mit_default_init(self, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm))
        self._is_init = True

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        n = x.shape[0]
        for i, blocks in enumerate(self.layers):
            x, hw_shape = self.patch_embeds[i](x)
            x = self.position_encoding_drops[i](x)
            for j, block in enumerate(blocks):
                x = block(x, hw_shape)
                if j == 0:
                    x = self.position_encodings[i](x, hw_shape)
            if self.norm_after_stage:
                x = self.norm_list[i](x)
            x = x.reshape(n, *hw_shape, -1).permute(0, 3, 1, 2).contiguous()
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


@MODELS.register_module()
class SVT(PCPVT):
    """Twins-SVT: PCPVT whose even blocks use locally-grouped (window) attention.

    Args:
        windiow_sizes: Window side per stage (MMSeg's spelling of the argument).
        Others: as :class:`PCPVT` (defaults differ: three stages, ``norm_after_stage``).
    """

    def __init__(
        self,
        in_channels: int = 3,
        embed_dims: Sequence[int] = (64, 128, 256),
        patch_sizes: Sequence[int] = (4, 2, 2, 2),
        strides: Sequence[int] = (4, 2, 2, 2),
        num_heads: Sequence[int] = (1, 2, 4),
        mlp_ratios: Sequence[int] = (4, 4, 4),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        qkv_bias: bool = False,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.2,
        norm_cfg: Mapping[str, Any] = _LN,
        depths: Sequence[int] = (4, 4, 4),
        sr_ratios: Sequence[int] = (4, 2, 1),
        windiow_sizes: Sequence[int] = (7, 7, 7),
        norm_after_stage: bool = True,
        pretrained: str | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(
            in_channels, embed_dims, patch_sizes, strides, num_heads, mlp_ratios, out_indices,
            qkv_bias, drop_rate, attn_drop_rate, drop_path_rate, norm_cfg, depths, sr_ratios,
            norm_after_stage, pretrained, init_cfg,
        )  # fmt: skip
        windows = _per_stage("windiow_sizes", windiow_sizes, len(depths))
        cur = 0
        for k, depth in enumerate(depths):
            for i in range(0, depth, 2):
                self.layers[k][i] = LSAEncoderLayer(
                    embed_dims[k], num_heads[k], mlp_ratios[k] * embed_dims[k],
                    drop_rate=drop_rate, attn_drop_rate=attn_drop_rate,
                    drop_path_rate=self._rates[cur + i], qkv_bias=qkv_bias,
                    window_size=windows[k],
                )  # fmt: skip
            cur += depth
