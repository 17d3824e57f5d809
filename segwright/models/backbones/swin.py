"""``SwinTransformer`` (shifted-window attention) with MMSeg's arguments and keys.

Keys: ``patch_embed.projection``/``.norm``, optionally ``absolute_pos_embed``,
``stages.{i}.blocks.{j}`` (``norm1``, ``attn.w_msa.relative_position_bias_table``, the buffer
``attn.w_msa.relative_position_index``, ``attn.w_msa.qkv``/``.proj``, ``norm2``,
``ffn.layers.0.0``/``.1``), ``stages.{i}.downsample`` (``norm``, ``reduction``), ``norm{i}``.

Odd blocks of a stage shift their windows by ``window_size // 2``; maps that are not a
multiple of the window are zero-padded bottom/right (after ``norm1``), then cropped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.backbones.utils import AdaptivePadding, PatchEmbed, _pair, freeze
from segwright.models.layers import build_norm_layer
from segwright.models.layers.checkpoint import checkpointed
from segwright.models.layers.drop import build_dropout, drop_path_rates
from segwright.models.layers.transformer import FFN
from segwright.models.utils import BaseModule, ModuleList
from segwright.models.utils.pretrained import init_cfg_from_pretrained
from segwright.models.utils.weight_init import constant_init, trunc_normal_init
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

logger = logging.getLogger(__name__)

_LN = dict(type="LN")
_GELU = dict(type="GELU")
#: Added to the attention logits of token pairs from different regions of a shifted window.
_MASK_VALUE = -100.0


class PatchMerging(BaseModule):
    """Merge each ``kernel_size`` neighbourhood of tokens: unfold (channel-major, as MMSeg's
    converted checkpoints expect), norm, Linear.

    Shapes:
        ``(N, H*W, in_channels)``, ``(H, W)`` -> ``(N, h*w, out_channels)``, ``(h, w)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 2,
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] | str = "corner",
        dilation: int | tuple[int, int] = 1,
        bias: bool = False,
        norm_cfg: Mapping[str, Any] | None = _LN,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        kernel, step, dil = _pair(kernel_size), _pair(stride or kernel_size), _pair(dilation)
        if isinstance(padding, str):
            self.adap_padding: AdaptivePadding | None = AdaptivePadding(kernel, step, dil, padding)
            padding = 0
        else:
            self.adap_padding = None
        self.sampler = nn.Unfold(kernel, dilation=dil, padding=_pair(padding), stride=step)
        sample_dim = kernel[0] * kernel[1] * in_channels
        self.norm = build_norm_layer(norm_cfg, sample_dim)[1] if norm_cfg is not None else None
        self.reduction = nn.Linear(sample_dim, out_channels, bias=bias)

    def forward(
        self, x: torch.Tensor, input_size: tuple[int, int]
    ) -> tuple[torch.Tensor, tuple[int, int]]:
        n, length, c = x.shape
        h, w = input_size
        if length != h * w:
            raise ValueError(f"PatchMerging: {length} tokens do not make an {h}x{w} map.")
        x = x.reshape(n, h, w, c).permute(0, 3, 1, 2)
        if self.adap_padding is not None:
            x = self.adap_padding(x)
            h, w = x.shape[-2:]
        s = self.sampler
        out_h = (h + 2 * s.padding[0] - s.dilation[0] * (s.kernel_size[0] - 1) - 1) // s.stride[0]
        out_w = (w + 2 * s.padding[1] - s.dilation[1] * (s.kernel_size[1] - 1) - 1) // s.stride[1]
        x = s(x).transpose(1, 2)
        if self.norm is not None:
            x = self.norm(x)
        return self.reduction(x), (int(out_h) + 1, int(out_w) + 1)


def relative_position_index(window: tuple[int, int]) -> torch.Tensor:
    """``index[a, b]`` into the ``(2Wh-1)*(2Ww-1)`` bias table for window positions a, b."""
    wh, ww = window
    rows, cols = torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    d_row = rows[:, None] - rows[None, :] + wh - 1
    d_col = cols[:, None] - cols[None, :] + ww - 1
    return d_row * (2 * ww - 1) + d_col


class WindowMSA(BaseModule):
    """Self-attention inside windows with a learned relative position bias.

    Shapes:
        ``(windows * N, Wh*Ww, C)`` -> same; ``mask`` ``(windows, Wh*Ww, Wh*Ww)``.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        window_size: int | tuple[int, int],
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        attn_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if embed_dims % num_heads:
            raise ConfigError(f"Swin width {embed_dims} is not divisible by {num_heads} heads.")
        self.embed_dims = embed_dims
        self.window_size = _pair(window_size)
        self.num_heads = num_heads
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads)
        )
        self.register_buffer("relative_position_index", relative_position_index(self.window_size))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop_rate)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)

    def init_weights(self) -> None:
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, length, c = x.shape
        heads = self.num_heads
        q, k, v = self.qkv(x).reshape(b, length, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        bias = bias.reshape(length, length, heads).permute(2, 0, 1)  # (heads, L, L)
        if mask is not None:  # (windows, L, L): broadcast over the images
            windows = mask.shape[0]
            bias = bias.unsqueeze(0) + mask.unsqueeze(1)
            q, k, v = (t.reshape(b // windows, windows, *t.shape[1:]) for t in (q, k, v))
        drop = self.attn_drop.p if self.training else 0.0
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias.to(q.dtype), dropout_p=drop, scale=self.scale
        )
        out = out.reshape(b, heads, length, -1).transpose(1, 2)
        return self.proj_drop(self.proj(out.reshape(b, length, c)))


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """``(N, H, W, C)`` -> ``(N * H/w * W/w, w*w, C)``, windows in row-major order."""
    n, h, w, c = x.shape
    x = x.reshape(n, h // window, window, w // window, window, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window * window, c)


def window_reverse(windows: torch.Tensor, window: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: ``(N * h/w * w/w, w*w, C)`` -> ``(N, h, w, C)``."""
    c = windows.shape[-1]
    x = windows.reshape(-1, h // window, w // window, window, window, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, h, w, c)


class ShiftWindowMSA(BaseModule):
    """Window attention on a (cyclically shifted) padded map, then ``dropout_layer``."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        window_size: int,
        shift_size: int = 0,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        attn_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        dropout_layer: Mapping[str, Any] | None = dict(type="DropPath", drop_prob=0.0),  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if not 0 <= shift_size < window_size:
            raise ConfigError(f"Swin shift_size {shift_size} must be in [0, {window_size}).")
        self.window_size = window_size
        self.shift_size = shift_size
        self.w_msa = WindowMSA(
            embed_dims, num_heads, _pair(window_size), qkv_bias=qkv_bias, qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate, proj_drop_rate=proj_drop_rate,
        )  # fmt: skip
        self.drop = build_dropout(dropout_layer)

    def _shift_mask(self, h: int, w: int, device: torch.device) -> torch.Tensor:
        """``(windows, w*w, w*w)``: 0 within a region of the rolled map, -100 across."""
        win, shift = self.window_size, self.shift_size
        region = torch.zeros(1, h, w, 1, device=device)
        bounds = ((0, -win), (-win, -shift), (-shift, None))
        for i, (r0, r1) in enumerate(bounds):
            for j, (c0, c1) in enumerate(bounds):
                region[:, r0:r1, c0:c1] = 3 * i + j
        ids = window_partition(region, win).squeeze(-1)
        diff = ids.unsqueeze(1) - ids.unsqueeze(2)
        return torch.where(diff != 0, _MASK_VALUE, 0.0)

    def forward(self, query: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        n, length, c = query.shape
        h, w = hw_shape
        if length != h * w:
            raise ValueError(f"Swin attention: {length} tokens do not make an {h}x{w} map.")
        win, shift = self.window_size, self.shift_size
        pad_r, pad_b = (win - w % win) % win, (win - h % win) % win
        x = F.pad(query.reshape(n, h, w, c), (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = h + pad_b, w + pad_r
        mask = None
        if shift > 0:
            x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
            mask = self._shift_mask(hp, wp, x.device)
        x = window_reverse(self.w_msa(window_partition(x, win), mask=mask), win, hp, wp)
        if shift > 0:
            x = torch.roll(x, shifts=(shift, shift), dims=(1, 2))
        if pad_r or pad_b:
            x = x[:, :h, :w]
        return self.drop(x.reshape(n, h * w, c))


class SwinBlock(BaseModule):
    """Pre-norm block: ``x + attn(norm1(x))``, then ``x + ffn(norm2(x))``."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        window_size: int = 7,
        shift: bool = False,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _LN,
        with_cp: bool = False,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.with_cp = with_cp
        drop_path = dict(type="DropPath", drop_prob=drop_path_rate)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ShiftWindowMSA(
            embed_dims, num_heads, window_size, shift_size=window_size // 2 if shift else 0,
            qkv_bias=qkv_bias, qk_scale=qk_scale, attn_drop_rate=attn_drop_rate,
            proj_drop_rate=drop_rate, dropout_layer=drop_path,
        )  # fmt: skip
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(
            embed_dims, feedforward_channels, num_fcs=2, act_cfg=act_cfg, ffn_drop=drop_rate,
            dropout_layer=drop_path, add_identity=True,
        )  # fmt: skip

    def forward(self, x: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        def inner(t: torch.Tensor) -> torch.Tensor:
            t = t + self.attn(self.norm1(t), hw_shape)
            return self.ffn(self.norm2(t), identity=t)

        return checkpointed(inner, x, self.with_cp)


class SwinBlockSequence(BaseModule):
    """``depth`` blocks (every second one shifted), then an optional downsample; ``forward``
    returns ``(next_x, next_hw, stage_out, stage_hw)``."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        depth: int,
        window_size: int = 7,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float | Sequence[float] = 0.0,
        downsample: nn.Module | None = None,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _LN,
        with_cp: bool = False,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if isinstance(drop_path_rate, Sequence):
            rates = [float(r) for r in drop_path_rate]
            if len(rates) != depth:
                raise ConfigError(f"Swin stage: {len(rates)} drop-path rates for depth {depth}.")
        else:
            rates = [float(drop_path_rate)] * depth
        self.blocks = ModuleList(
            SwinBlock(
                embed_dims,
                num_heads,
                feedforward_channels,
                window_size=window_size,
                shift=i % 2 == 1,
                qkv_bias=qkv_bias,
                qk_scale=qk_scale,
                drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate,
                drop_path_rate=rates[i],
                act_cfg=act_cfg,
                norm_cfg=norm_cfg,
                with_cp=with_cp,
            )  # fmt: skip
            for i in range(depth)
        )
        self.downsample = downsample

    def forward(
        self, x: torch.Tensor, hw_shape: tuple[int, int]
    ) -> tuple[torch.Tensor, tuple[int, int], torch.Tensor, tuple[int, int]]:
        for block in self.blocks:
            x = block(x, hw_shape)
        if self.downsample is None:
            return x, hw_shape, x, hw_shape
        down, down_hw = self.downsample(x, hw_shape)
        return down, down_hw, x, hw_shape


@MODELS.register_module()
class SwinTransformer(BaseModule):
    """Swin Transformer: a patch embedding, then stages of (shifted-)window attention blocks,
    each but the last ending in a PatchMerging that halves the map and doubles the width.

    Args:
        pretrain_img_size: Size the absolute position embedding was made for.
        in_channels: Input image channels.
        embed_dims: Width of the first stage (stage ``i``: ``embed_dims * 2**i``).
        patch_size: Patch-embedding kernel (equal to ``strides[0]``).
        window_size: Attention window side.
        mlp_ratio: FFN hidden width over the stage width.
        depths, num_heads: Blocks and attention heads per stage.
        strides: Patch embedding stride, then each PatchMerging's.
        out_indices: Stages whose (normed) outputs are returned.
        qkv_bias, qk_scale: Attention projection bias, logit scale (None: ``head_dim**-0.5``).
        patch_norm: Norm in the patch embedding and PatchMerging.
        drop_rate, attn_drop_rate: Dropouts; ``drop_path_rate``: stochastic depth, rising
            linearly over all blocks.
        use_abs_pos_embed: Add a learned absolute position embedding (needs inputs of
            ``pretrain_img_size``).
        act_cfg, norm_cfg: FFN activation, token norm.
        with_cp: Gradient checkpointing in the blocks.
        pretrained: Deprecated; becomes ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        frozen_stages: Freeze the patch embedding and the first ``frozen_stages`` stages.
        init_cfg: Initialisation config (None: MMSeg's default).

    Shapes:
        ``(N, in_channels, H, W)`` -> tuple of ``(N, out_channels[i], ceil(H / s_i), ...)``.
    """

    def __init__(
        self,
        pretrain_img_size: int | tuple[int, ...] = 224,
        in_channels: int = 3,
        embed_dims: int = 96,
        patch_size: int = 4,
        window_size: int = 7,
        mlp_ratio: float = 4,
        depths: Sequence[int] = (2, 2, 6, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        strides: Sequence[int] = (4, 2, 2, 2),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        patch_norm: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        use_abs_pos_embed: bool = False,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _LN,
        with_cp: bool = False,
        pretrained: str | None = None,
        frozen_stages: int = -1,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg_from_pretrained("SwinTransformer", pretrained, init_cfg))
        if isinstance(pretrain_img_size, Sequence) and len(pretrain_img_size) == 1:
            pretrain_img_size = pretrain_img_size[0]
        img_size = _pair(pretrain_img_size)  # type: ignore[arg-type]
        if strides[0] != patch_size:
            raise ConfigError(f"SwinTransformer strides[0] must equal patch_size={patch_size}.")
        if min(len(num_heads), len(strides)) < len(depths):
            raise ConfigError(
                f"SwinTransformer num_heads {tuple(num_heads)} and strides {tuple(strides)} "
                f"need a value per stage of depths {tuple(depths)}."
            )
        stages = len(depths)
        self.out_indices = tuple(out_indices)
        if any(not 0 <= i < stages for i in self.out_indices):
            raise ConfigError(
                f"SwinTransformer out_indices {tuple(out_indices)} must be in 0..{stages - 1}."
            )
        returned = sorted(set(self.out_indices))  # outputs come in stage order
        self.frozen_stages = frozen_stages
        self.use_abs_pos_embed = use_abs_pos_embed
        patch_norm_cfg = norm_cfg if patch_norm else None
        self.patch_embed = PatchEmbed(
            in_channels, embed_dims, kernel_size=patch_size, stride=strides[0],
            padding="corner", norm_cfg=patch_norm_cfg,
        )  # fmt: skip
        if use_abs_pos_embed:
            patches = (img_size[0] // patch_size) * (img_size[1] // patch_size)
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, patches, embed_dims))
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        rates = drop_path_rates(drop_path_rate, sum(depths))
        self.stages = ModuleList()
        width, total_stride, strides_out, cur = embed_dims, strides[0], [], 0
        for i in range(stages):
            downsample = None
            if i < stages - 1:
                downsample = PatchMerging(
                    width, 2 * width, stride=strides[i + 1], norm_cfg=patch_norm_cfg
                )
            self.stages.append(
                SwinBlockSequence(
                    width,
                    num_heads[i],
                    int(mlp_ratio * width),
                    depths[i],
                    window_size=window_size,
                    qkv_bias=qkv_bias,
                    qk_scale=qk_scale,
                    drop_rate=drop_rate,
                    attn_drop_rate=attn_drop_rate,
                    drop_path_rate=rates[cur : cur + depths[i]],
                    downsample=downsample,
                    act_cfg=act_cfg,
                    norm_cfg=norm_cfg,
                    with_cp=with_cp,
                )  # fmt: skip
            )
            cur += depths[i]
            strides_out.append(total_stride)
            if downsample is not None:
                width = downsample.out_channels
                total_stride *= strides[i + 1]
        self.num_features = [int(embed_dims * 2**i) for i in range(stages)]
        for i in self.out_indices:
            self.add_module(f"norm{i}", build_norm_layer(norm_cfg, self.num_features[i])[1])
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = tuple(self.num_features[i] for i in returned)
        self.out_strides = tuple(strides_out[i] for i in returned)

    def train(self, mode: bool = True) -> SwinTransformer:
        super().train(mode)
        self._freeze_stages()
        return self

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen: list[nn.Module] = [self.patch_embed, self.drop_after_pos]
        for i in range(self.frozen_stages):
            frozen.append(self.stages[i])
            if i in self.out_indices:
                frozen.append(getattr(self, f"norm{i}"))
        if self.use_abs_pos_embed:
            self.absolute_pos_embed.requires_grad = False
        freeze(*frozen)

    def init_weights(self) -> None:
        """Pretrained weights (bias tables resized), other ``init_cfg`` rules, or MMSeg's
        default (truncated-normal Linear, unit LayerNorm)."""
        cfg = self.init_cfg
        if isinstance(cfg, Mapping) and cfg.get("type") == "Pretrained":
            self._load_pretrained(cfg)
            self._is_init = True
            return
        if cfg is not None or self._is_init:
            super().init_weights()
            return
        if self.use_abs_pos_embed:
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=0.02, bias=0.0)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, val=1.0, bias=0.0)
        self._is_init = True

    def _load_pretrained(self, cfg: Mapping[str, Any]) -> None:
        from segwright.engine.checkpoint import (  # engine is a floor below; imported lazily
            extract_state_dict,
            load_state_dict,
            read_checkpoint,
        )

        if not cfg.get("checkpoint"):
            raise ConfigError(f"init_cfg {dict(cfg)!r} needs checkpoint='path/to/file.pth'.")
        state = extract_state_dict(read_checkpoint(cfg["checkpoint"], "cpu"))
        state = {k.removeprefix("backbone."): v for k, v in state.items()}
        own = self.state_dict()
        for key, table in list(state.items()):
            if "relative_position_bias_table" not in key or key not in own:
                continue
            target = own[key]
            if table.shape[1] == target.shape[1] and table.shape[0] != target.shape[0]:
                side, new = int(table.shape[0] ** 0.5), int(target.shape[0] ** 0.5)
                grid = table.t().reshape(1, -1, side, side)
                grid = F.interpolate(grid, size=(new, new), mode="bicubic")
                state[key] = grid.reshape(target.shape[1], -1).t().contiguous()
                logger.info("Resized %s to %s", key, tuple(target.shape))
        report = load_state_dict(self, state)
        logger.info("Loaded %s into SwinTransformer: %s", cfg["checkpoint"], report.summary())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            x = x + self.absolute_pos_embed
        x = self.drop_after_pos(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape, out, out_hw = stage(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f"norm{i}")(out)
                n, _, c = out.shape
                outs.append(out.reshape(n, *out_hw, c).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)
