"""The ``BEiT`` backbone: a plain ViT with relative position biases and layer scale.

Keys (MMSeg's): ``patch_embed.projection``, ``cls_token``, ``layers.{i}`` with ``ln1``,
``attn.qkv`` (+ ``attn.q_bias``/``attn.v_bias``: the key projection has no bias),
``attn.relative_position_bias_table`` and the buffer ``attn.relative_position_index``,
``attn.proj``, ``ln2``, ``ffn.layers.0.0``/``ffn.layers.1``, the layer scales ``gamma_1``/
``gamma_2``; ``ln1`` after the last block with ``final_norm``. There is no absolute position
embedding, so inputs must have the training size ``img_size`` (the relative-bias window);
pretrained tables of another window are resized on load as MMSeg does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.backbones.utils import NormEvalMixin, PatchEmbed
from segwright.models.backbones.vit import (
    block_indices,
    img_size_pair,
    load_pretrained_state,
    pretrained_state,
    vit_default_init,
)
from segwright.models.layers import build_norm_layer
from segwright.models.layers.drop import DropPath
from segwright.models.layers.transformer import TransformerEncoderLayer
from segwright.models.utils import BaseModule, ModuleList
from segwright.models.utils.pretrained import init_cfg_from_pretrained
from segwright.models.utils.weight_init import constant_init, trunc_normal_init
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_LN = dict(type="LN")
_GELU = dict(type="GELU")
#: Arguments a ViT block hands every attention; BEiT's attention ignores them (as MMSeg's).
_IGNORED_ATTN_ARGS = {"attn_drop", "proj_drop", "batch_first"}


def relative_position_index(window: tuple[int, int]) -> torch.Tensor:
    """Index into the bias table for every (query, key) pair of ``1 + Wh*Ww`` tokens.

    Patch pairs index their offset ``(dh + Wh - 1) * (2Ww - 1) + (dw + Ww - 1)``; the three
    last table rows are class-to-patch, patch-to-class and class-to-class.
    """
    wh, ww = window
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij"))
    coords = coords.flatten(1)
    offsets = coords[:, :, None] - coords[:, None, :]
    table_size = (2 * wh - 1) * (2 * ww - 1) + 3
    index = torch.zeros((wh * ww + 1,) * 2, dtype=torch.long)
    index[1:, 1:] = (offsets[0] + wh - 1) * (2 * ww - 1) + offsets[1] + ww - 1
    index[0, :] = table_size - 3
    index[:, 0] = table_size - 2
    index[0, 0] = table_size - 1
    return index


def _spline_matrix(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """``(len(dst), len(src))`` weights of not-a-knot cubic spline interpolation.

    It is the interpolating cubic spline that FITPACK fits through gridded data with ``s=0``
    (what ``scipy.interpolate.interp2d(kind='cubic')`` did, separable along each axis);
    points outside ``src``'s range are clamped to it, as FITPACK evaluates.
    """
    n = len(src)
    if n < 4:
        raise ConfigError(f"A cubic spline needs at least 4 points, got {n}.")
    h = src[1:] - src[:-1]
    lhs = src.new_zeros(n, n)
    rhs = src.new_zeros(n, n)
    # not-a-knot ends: the third derivative is continuous at the second and last-but-one point
    lhs[0, :3] = torch.stack((h[1], -(h[0] + h[1]), h[0]))
    lhs[-1, -3:] = torch.stack((h[-1], -(h[-2] + h[-1]), h[-2]))
    for i in range(1, n - 1):
        lhs[i, i - 1 : i + 2] = torch.stack((h[i - 1], 2 * (h[i - 1] + h[i]), h[i]))
        rhs[i, i - 1 : i + 2] = torch.stack((6 / h[i - 1], -6 / h[i - 1] - 6 / h[i], 6 / h[i]))
    moments = torch.linalg.solve(lhs, rhs)  # second derivatives = moments @ values
    x = dst.clamp(src[0], src[-1])
    left = (torch.searchsorted(src, x, right=True) - 1).clamp(0, n - 2)
    width = h[left][:, None]
    a, b = (src[left + 1] - x)[:, None], (x - src[left])[:, None]
    eye = torch.eye(n, dtype=src.dtype)
    return (
        moments[left] * (a**3 / (6 * width) - a * width / 6)
        + moments[left + 1] * (b**3 / (6 * width) - b * width / 6)
        + eye[left] * a / width
        + eye[left + 1] * b / width
    )


def resize_relative_position_table(table: torch.Tensor, dst_size: int) -> torch.Tensor:
    """Resize a ``(S*S + 3, heads)`` bias table of a square window to ``dst_size = 2W - 1``.

    MMSeg's (BEiT's) rule: the source offsets are spread over a geometric sequence whose span
    matches the new window, and each head's ``S x S`` table is interpolated there by a cubic
    spline at the integer offsets; the three class-token entries are kept.
    """
    src_size = int((table.shape[0] - 3) ** 0.5)
    if src_size == dst_size:
        return table
    half = src_size // 2
    low, high = 1.01, 1.5
    while high - low > 1e-6:  # ratio q of a sequence 1, q, q^2 ... summing to dst_size // 2
        q = (low + high) / 2.0
        if (1.0 - q**half) / (1.0 - q) > dst_size // 2:
            high = q
        else:
            low = q
    steps, cur = [], 1.0
    for i in range(half):
        steps.append(cur)
        cur += q ** (i + 1)
    src = torch.tensor([-d for d in reversed(steps)] + [0.0] + steps, dtype=torch.float64)
    t = dst_size // 2.0
    dst = torch.arange(-t, t + 0.1, 1.0, dtype=torch.float64)
    weights = _spline_matrix(src, dst)
    grids = table[:-3].double().T.reshape(-1, src_size, src_size)  # (heads, S, S)
    resized = weights @ grids @ weights.T
    resized = resized.reshape(table.shape[1], -1).T.to(table.dtype)
    return torch.cat((resized, table[-3:]), dim=0)


class BEiTAttention(BaseModule):
    """Self-attention with a learned bias per relative offset (and per head).

    Args:
        embed_dims, num_heads: Width and heads.
        window_size: Token grid ``(Wh, Ww)`` the bias table covers.
        bias: ``'qv_bias'`` (separate query/value biases, none for keys), True or False.
        qk_scale: Query scale (default ``head_dims ** -0.5``).
        attn_drop_rate, proj_drop_rate: Dropouts on the weights / after ``proj``.
        **kwargs: ``attn_drop``/``proj_drop``/``batch_first`` from the ViT block, unused as
            in MMSeg.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        window_size: Sequence[int],
        bias: bool | str = "qv_bias",
        qk_scale: float | None = None,
        attn_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        init_cfg: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(init_cfg)
        unknown = set(kwargs) - _IGNORED_ATTN_ARGS
        if unknown:
            raise ConfigError(f"BEiTAttention got unknown arguments {sorted(unknown)}.")
        if bias not in ("qv_bias", True, False):
            raise ConfigError(f"BEiTAttention bias must be 'qv_bias', True or False: {bias!r}.")
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.bias = bias
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        if bias == "qv_bias":
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
        self.window_size = (int(window_size[0]), int(window_size[1]))
        wh, ww = self.window_size
        self.num_relative_distance = (2 * wh - 1) * (2 * ww - 1) + 3
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros(self.num_relative_distance, num_heads)
        )
        self.register_buffer("relative_position_index", relative_position_index(self.window_size))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=bias is True)
        self.attn_drop = nn.Dropout(attn_drop_rate)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)

    def init_weights(self) -> None:
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shapes: ``(N, 1 + Wh*Ww, C)`` -> same."""
        n, length, c = x.shape
        if self.bias == "qv_bias":
            zeros = torch.zeros_like(self.v_bias, requires_grad=False)
            qkv = F.linear(x, self.qkv.weight, torch.cat((self.q_bias, zeros, self.v_bias)))
        else:
            qkv = self.qkv(x)
        q, k, v = qkv.reshape(n, length, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        attn = attn + bias.view(length, length, -1).permute(2, 0, 1).unsqueeze(0)
        attn = self.attn_drop(attn.softmax(dim=-1))
        out = (attn @ v).transpose(1, 2).reshape(n, length, c)
        return self.proj_drop(self.proj(out))


class BEiTTransformerEncoderLayer(TransformerEncoderLayer):
    """``x + drop_path(gamma_1 * attn(ln1(x)))``, then the same with ``gamma_2`` and the FFN."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        num_fcs: int = 2,
        bias: bool | str = "qv_bias",
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _LN,
        window_size: Sequence[int] | None = None,
        attn_cfg: Mapping[str, Any] | None = None,
        ffn_cfg: Mapping[str, Any] | None = None,
        init_values: float | None = None,
    ) -> None:
        if init_values is None or window_size is None:
            raise ConfigError("BEiTTransformerEncoderLayer needs init_values and window_size.")
        attn_cfg = {**(attn_cfg or {}), "window_size": window_size, "qk_scale": None}
        super().__init__(
            embed_dims=embed_dims, num_heads=num_heads, feedforward_channels=feedforward_channels,
            attn_drop_rate=attn_drop_rate, drop_path_rate=0.0, drop_rate=0.0, num_fcs=num_fcs,
            qkv_bias=bias, act_cfg=act_cfg, norm_cfg=norm_cfg, attn_cfg=attn_cfg,
            ffn_cfg=dict(add_identity=False) if ffn_cfg is None else ffn_cfg,
        )  # fmt: skip
        self.drop_path = DropPath(drop_path_rate)
        self.gamma_1 = nn.Parameter(init_values * torch.ones(embed_dims))
        self.gamma_2 = nn.Parameter(init_values * torch.ones(embed_dims))

    #: The attention class :meth:`build_attn` makes (MAE swaps in its own).
    attn_class: type[BEiTAttention] = BEiTAttention

    def build_attn(self, attn_args: dict[str, Any]) -> None:
        self.attn = self.attn_class(**attn_args)

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.gamma_1 * self.attn(self.norm1(x)))
        return x + self.drop_path(self.gamma_2 * self.ffn(self.norm2(x)))


@MODELS.register_module()
class BEiT(NormEvalMixin, BaseModule):
    """BERT-pretrained image transformer (BEiT) backbone.

    Args:
        img_size: Training size; fixes the relative-bias window ``img_size // patch_size``.
        patch_size, in_channels: Patch embedding (no padding).
        embed_dims, num_layers, num_heads, mlp_ratio: Width, depth, heads, FFN ratio.
        out_indices: Blocks whose outputs are returned (-1: the last).
        qv_bias: Query/value biases (no key bias) in the attention.
        attn_drop_rate, drop_path_rate: Dropouts; stochastic depth rises linearly from 0.
        norm_cfg, act_cfg: Token norm and FFN activation.
        patch_norm: A norm after the patch embedding.
        final_norm: A norm (``ln1``) after the last block.
        num_fcs: Linear layers per FFN.
        norm_eval: Keep norm layers in eval mode while training.
        pretrained: Deprecated path of weights; becomes ``init_cfg=dict(type='Pretrained')``.
        init_values: Initial layer-scale value.
        init_cfg: Initialisation config.

    Shapes:
        ``(N, in_channels, H, W)`` (``H, W = img_size``) -> tuple of
        ``(N, embed_dims, H/p, W/p)``.
    """

    norm_eval_types = (nn.LayerNorm,)

    def __init__(
        self,
        img_size: int | Sequence[int] = 224,
        patch_size: int = 16,
        in_channels: int = 3,
        embed_dims: int = 768,
        num_layers: int = 12,
        num_heads: int = 12,
        mlp_ratio: int = 4,
        out_indices: int | Sequence[int] = -1,
        qv_bias: bool = True,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        norm_cfg: Mapping[str, Any] = _LN,
        act_cfg: Mapping[str, Any] = _GELU,
        patch_norm: bool = False,
        final_norm: bool = False,
        num_fcs: int = 2,
        norm_eval: bool = False,
        pretrained: str | None = None,
        init_values: float = 0.1,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        img_size = img_size_pair(img_size, name)
        self.init_cfg = init_cfg_from_pretrained(name, pretrained, self.init_cfg)
        self.out_indices = block_indices(out_indices, num_layers, name)
        self.in_channels = in_channels
        self.img_size = img_size
        self.patch_size = patch_size
        self.norm_eval = norm_eval
        self.num_layers = num_layers
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.attn_drop_rate = attn_drop_rate
        self.drop_path_rate = drop_path_rate
        self.num_fcs = num_fcs
        self.qv_bias = qv_bias
        self.act_cfg = act_cfg
        self.norm_cfg = norm_cfg
        self.patch_norm = patch_norm
        self.init_values = init_values
        self.window_size = (img_size[0] // patch_size, img_size[1] // patch_size)
        self.patch_shape = self.window_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.patch_embed = PatchEmbed(
            in_channels=in_channels, embed_dims=embed_dims, conv_type="Conv2d",
            kernel_size=patch_size, stride=patch_size, padding=0,
            norm_cfg=norm_cfg if patch_norm else None,
        )  # fmt: skip
        self.layers = self._build_layers()
        self.final_norm = final_norm
        if final_norm:
            self.norm1_name, norm1 = build_norm_layer(norm_cfg, embed_dims, postfix=1)
            self.add_module(self.norm1_name, norm1)
        #: Channels and strides (w.r.t. the input) of the returned feature maps.
        self.out_channels = (embed_dims,) * len(self.out_indices)
        self.out_strides = (patch_size,) * len(self.out_indices)

    def _layer_kwargs(self) -> list[dict[str, Any]]:
        rates = [float(r) for r in torch.linspace(0, self.drop_path_rate, self.num_layers)]
        return [
            dict(
                embed_dims=self.embed_dims,
                num_heads=self.num_heads,
                feedforward_channels=self.mlp_ratio * self.embed_dims,
                attn_drop_rate=self.attn_drop_rate,
                drop_path_rate=rate,
                num_fcs=self.num_fcs,
                act_cfg=self.act_cfg,
                norm_cfg=self.norm_cfg,
                window_size=self.window_size,
                init_values=self.init_values,
            )
            for rate in rates
        ]

    def _build_layers(self) -> ModuleList:
        bias = "qv_bias" if self.qv_bias else False
        return ModuleList(
            BEiTTransformerEncoderLayer(bias=bias, **kw) for kw in self._layer_kwargs()
        )

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def _default_init(self) -> None:
        """MMSeg's init without ``init_cfg``: truncated-normal tokens and Linear layers (FFN
        biases ~N(0, 1e-6)), fan-in Kaiming convs, unit norms."""
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        vit_default_init(self)

    def _basic_init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=0.02, bias=0.0)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, val=1.0, bias=0.0)

    def init_weights(self) -> None:
        """Pretrained weights, other ``init_cfg`` rules, or MMSeg's default init."""
        self._basic_init()
        cfg = self.init_cfg
        if isinstance(cfg, Mapping) and cfg.get("type") == "Pretrained":
            self._load_pretrained(cfg)
        elif cfg is not None:
            super().init_weights()
            return
        else:
            self._default_init()
        self._is_init = True

    def _adapt_checkpoint(self, state: dict[str, Any]) -> dict[str, Any]:
        """Drop the index buffers (ours are built from ``img_size``); resize bias tables of
        another window (square windows only, as in MMSeg)."""
        own = self.state_dict()
        wh, ww = self.window_size
        for key in list(state):
            if "relative_position_index" in key:
                state.pop(key)
            elif "relative_position_bias_table" in key and key in own:
                if state[key].shape == own[key].shape:
                    continue
                if wh != ww:
                    raise ConfigError(
                        f"{type(self).__name__}: resizing the checkpoint's {key} needs a square "
                        f"window; img_size {self.img_size} gives {wh}x{ww}."
                    )
                state[key] = resize_relative_position_table(state[key], 2 * wh - 1)
        return state

    def _load_pretrained(self, cfg: Mapping[str, Any]) -> None:
        state = self._adapt_checkpoint(pretrained_state(cfg))
        load_pretrained_state(self, state, cfg["checkpoint"])

    def _embed(self, inputs: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        x, hw_shape = self.patch_embed(inputs)
        if not torch.jit.is_tracing() and tuple(hw_shape) != self.window_size:
            raise ValueError(
                f"{type(self).__name__} takes inputs of its img_size {self.img_size} (a "
                f"{self.window_size} token window); got {tuple(inputs.shape[-2:])}. Use "
                "test_cfg=dict(mode='slide') with crops of that size."
            )
        return torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1), hw_shape

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x, hw_shape = self._embed(inputs)
        outs = []
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == last and self.final_norm:
                x = self.norm1(x)
            if i in self.out_indices:
                out = x[:, 1:]
                n, _, c = out.shape
                outs.append(out.reshape(n, *hw_shape, c).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)
