"""MMCV's ``MultiheadAttention`` and MMSeg's ``EfficientMultiheadAttention`` (one base).

Both wrap ``torch.nn.MultiheadAttention`` as ``attn`` (keys ``attn.in_proj_weight``,
``attn.out_proj.*``), add ``proj_drop`` and ``dropout_layer`` on the branch and the residual.
The efficient variant (SegFormer, Twins, ViT-free) only adds the spatial reduction of keys and
values (``sr`` conv + ``norm``), as MMSeg's subclass of MMCV's class does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.models.layers.drop import build_dropout
from segwright.models.layers.norm import build_norm_layer
from segwright.models.layers.shape_convert import nchw_to_nlc, nlc_to_nchw
from segwright.models.utils import BaseModule
from segwright.utils.errors import ConfigError

_LN = dict(type="LN")


class MultiheadAttention(BaseModule):
    """MMCV's ``MultiheadAttention``: positions added to queries and keys (not to values),
    optional masks, dropout and a residual.

    Args:
        embed_dims, num_heads: Width and heads.
        attn_drop, proj_drop: Dropout on the attention weights / after the attention.
        dropout_layer: ``dict(type='Dropout'|'DropPath', drop_prob=p)`` on the branch, or None.
        batch_first: Tokens are ``(N, L, C)`` (True) or ``(L, N, C)``.
        dropout: MMCV's deprecated name that sets both ``attn_drop`` and ``proj_drop``.
        bias: Biases of the input and output projections (MMCV passes it on to
            ``nn.MultiheadAttention``; MMSeg's ViT sets it from ``qkv_bias``).
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        dropout_layer: Mapping[str, Any] | None = dict(type="Dropout", drop_prob=0.0),  # noqa: B006
        init_cfg: Any = None,
        batch_first: bool = False,
        dropout: float | None = None,
        bias: bool = True,
    ) -> None:
        super().__init__(init_cfg)
        if dropout is not None:
            attn_drop = proj_drop = dropout
        if embed_dims % num_heads:
            raise ConfigError(
                f"{type(self).__name__}: embed_dims={embed_dims} is not divisible by "
                f"num_heads={num_heads}."
            )
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.batch_first = batch_first
        self.attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=attn_drop, bias=bias, batch_first=batch_first
        )
        self.proj_drop = nn.Dropout(proj_drop)
        self.dropout_layer = build_dropout(dropout_layer)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        identity: torch.Tensor | None = None,
        query_pos: torch.Tensor | None = None,
        key_pos: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attention of ``query`` (+pos) over ``key`` (+pos) / ``value``, plus ``identity``."""
        key = query if key is None else key
        value = key if value is None else value
        identity = query if identity is None else identity
        if key_pos is None and query_pos is not None and query_pos.shape == key.shape:
            key_pos = query_pos
        if query_pos is not None:
            query = query + query_pos
        if key_pos is not None:
            key = key + key_pos
        out = self.attend(query, key, value, attn_mask, key_padding_mask)
        return identity + self.dropout_layer(self.proj_drop(out))

    def attend(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``self.attn`` on tokens laid out as ``batch_first`` says (no residual, no dropout
        after it)."""
        if torch.jit.is_tracing() and attn_mask is None and key_padding_mask is None:
            return self._traced_attention(query, key, value)
        return self.attn(
            query, key, value, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
            need_weights=False,
        )[0]  # fmt: skip

    def _traced_attention(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``self.attn``'s eval forward, written so that the token count stays symbolic.

        ``nn.MultiheadAttention`` freezes the sequence length into the traced graph (ONNX export),
        so an export with dynamic height and width would only run at the traced size. Same
        weights, same result; attention dropout is off as in eval mode.

        Shapes:
            ``query`` (N, L, C), ``key``/``value`` (N, S, C) -> (N, L, C) (sequence-first when
            not ``batch_first``); ``value`` defaults to ``key``.
        """
        value = key if value is None else value
        if not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        attn = self.attn
        weight, bias = attn.in_proj_weight, attn.in_proj_bias
        c, heads = self.embed_dims, self.num_heads
        biases = (None, None, None) if bias is None else (bias[:c], bias[c : 2 * c], bias[2 * c :])
        q = nn.functional.linear(query, weight[:c], biases[0])
        k = nn.functional.linear(key, weight[c : 2 * c], biases[1])
        v = nn.functional.linear(value, weight[2 * c :], biases[2])
        n = query.shape[0]
        q, k, v = (t.reshape(n, -1, heads, c // heads).transpose(1, 2) for t in (q, k, v))
        scores = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1)
        out = attn.out_proj((scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(n, -1, c))
        return out if self.batch_first else out.transpose(0, 1)


class EfficientMultiheadAttention(MultiheadAttention):
    """Multi-head attention whose keys/values are spatially reduced by ``sr_ratio``.

    ``sr`` (a ``sr_ratio``-strided conv) and ``norm`` shrink the key/value tokens by
    ``sr_ratio**2``; with ``sr_ratio=1`` this is :class:`MultiheadAttention` on batch-first
    self-attention.

    Args:
        embed_dims, num_heads: Attention width and heads.
        attn_drop: Dropout on the attention weights.
        proj_drop: Dropout after the attention.
        drop_path_rate: DropPath of the residual branch (``dropout_layer``).
        batch_first: Tokens are ``(N, L, C)`` (always True here, as in MiT).
        qkv_bias: Biases of the input and output projections.
        norm_cfg: Norm after the spatial reduction.
        sr_ratio: Spatial reduction ratio (1: none).
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        drop_path_rate: float = 0.0,
        init_cfg: Any = None,
        batch_first: bool = True,
        qkv_bias: bool = False,
        norm_cfg: Mapping[str, Any] = _LN,
        sr_ratio: int = 1,
    ) -> None:
        if not batch_first:
            raise ConfigError(f"{type(self).__name__} supports batch_first=True only.")
        super().__init__(
            embed_dims, num_heads, attn_drop=attn_drop, proj_drop=proj_drop,
            dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate), init_cfg=init_cfg,
            batch_first=batch_first, bias=qkv_bias,
        )  # fmt: skip
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(embed_dims, embed_dims, sr_ratio, stride=sr_ratio)
            self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def forward(  # type: ignore[override] - MMSeg's signature
        self,
        x: torch.Tensor,
        hw_shape: tuple[int, int] | None = None,
        identity: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Self-attention over the reduced tokens plus residual; ``hw_shape`` is needed only
        for ``sr_ratio > 1``.

        Shapes: ``x`` (N, H*W, C) -> (N, H*W, C).
        """
        x_kv = x
        if self.sr_ratio > 1:
            if hw_shape is None:
                raise ValueError(f"{type(self).__name__} with sr_ratio > 1 needs hw_shape.")
            x_kv = self.norm(nchw_to_nlc(self.sr(nlc_to_nchw(x, hw_shape))))
        out = self.attend(x, x_kv, x_kv)
        return (x if identity is None else identity) + self.dropout_layer(self.proj_drop(out))
