"""MMCV's ``FFN`` and the pre-norm ViT encoder block (ViT, BEiT/MAE, Segmenter's decoder).

Keys: ``ln1``, ``attn.attn.in_proj_weight``/``attn.attn.out_proj`` (MMCV's
``MultiheadAttention``), ``ln2``, ``ffn.layers.0.0`` and ``ffn.layers.1`` (two fcs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.models.layers.activation import build_activation_layer
from segwright.models.layers.attention import MultiheadAttention
from segwright.models.layers.checkpoint import checkpointed
from segwright.models.layers.drop import build_dropout, drop_path_rates
from segwright.models.layers.norm import build_norm_layer
from segwright.models.utils import BaseModule, ModuleList, Sequential
from segwright.utils.errors import ConfigError

_LN = dict(type="LN")
_GELU = dict(type="GELU")


class FFN(BaseModule):
    """MMCV's feed-forward block: ``num_fcs`` Linear layers with an activation, plus residual.

    ``layers`` is ``[[fc, act, drop] * (num_fcs - 1), fc, drop]`` (keys ``layers.0.0``,
    ``layers.1`` for two fcs); the output goes through ``dropout_layer`` (e.g. DropPath) and
    is added to ``identity`` when ``add_identity``.
    """

    def __init__(
        self,
        embed_dims: int = 256,
        feedforward_channels: int = 1024,
        num_fcs: int = 2,
        act_cfg: Mapping[str, Any] = dict(type="ReLU", inplace=True),  # noqa: B006 - MMCV default
        ffn_drop: float = 0.0,
        dropout_layer: Mapping[str, Any] | None = None,
        add_identity: bool = True,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if num_fcs < 2:
            raise ConfigError(f"FFN num_fcs must be at least 2, got {num_fcs}.")
        self.embed_dims = embed_dims
        self.feedforward_channels = feedforward_channels
        self.num_fcs = num_fcs
        layers: list[nn.Module] = []
        width = embed_dims
        for _ in range(num_fcs - 1):
            layers.append(
                Sequential(
                    nn.Linear(width, feedforward_channels),
                    build_activation_layer(act_cfg),
                    nn.Dropout(ffn_drop),
                )
            )
            width = feedforward_channels
        layers += [nn.Linear(feedforward_channels, embed_dims), nn.Dropout(ffn_drop)]
        self.layers = Sequential(*layers)
        self.dropout_layer = build_dropout(dropout_layer)
        self.add_identity = add_identity

    def forward(self, x: torch.Tensor, identity: torch.Tensor | None = None) -> torch.Tensor:
        out = self.dropout_layer(self.layers(x))
        if not self.add_identity:
            return out
        return (x if identity is None else identity) + out


class TransformerEncoderLayer(BaseModule):
    """Pre-norm ViT block: ``x + attn(ln1(x))``, then ``x + drop_path(ffn(ln2(x)))``.

    Stochastic depth applies to the FFN branch only, as in MMSeg. ``attn_cfg``/``ffn_cfg``
    may override the attention's/FFN's remaining arguments; subclasses (BEiT) swap the
    attention through :meth:`build_attn`.
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
        qkv_bias: bool | str = True,  # BEiT: 'qv_bias'
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _LN,
        batch_first: bool = True,
        attn_cfg: Mapping[str, Any] | None = None,
        ffn_cfg: Mapping[str, Any] | None = None,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, embed_dims, postfix=1)
        self.add_module(self.norm1_name, norm1)
        attn_args = dict(attn_cfg or {})
        attn_args.update(
            embed_dims=embed_dims, num_heads=num_heads, attn_drop=attn_drop_rate,
            proj_drop=drop_rate, batch_first=batch_first, bias=qkv_bias,
        )  # fmt: skip
        self.build_attn(attn_args)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, embed_dims, postfix=2)
        self.add_module(self.norm2_name, norm2)
        ffn_args = dict(ffn_cfg or {})
        ffn_args.update(
            embed_dims=embed_dims, feedforward_channels=feedforward_channels, num_fcs=num_fcs,
            ffn_drop=drop_rate, act_cfg=act_cfg,
            dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate)
            if drop_path_rate > 0 else None,
        )  # fmt: skip
        self.ffn = FFN(**ffn_args)
        self.with_cp = with_cp

    def build_attn(self, attn_args: dict[str, Any]) -> None:
        """``self.attn``: MMCV's ``MultiheadAttention`` (``bias`` from ``qkv_bias``)."""
        self.attn = MultiheadAttention(**attn_args)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attn(self.norm1(x), identity=x)
        return self.ffn(self.norm2(x), identity=x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shapes: ``(N, L, C)`` -> ``(N, L, C)``."""
        return checkpointed(self._inner, x, self.with_cp)


def transformer_encoder_layers(
    num_layers: int, drop_path_rate: float, **layer_args: Any
) -> ModuleList:
    """``num_layers`` :class:`TransformerEncoderLayer` blocks whose stochastic depth rises
    linearly from 0 to ``drop_path_rate`` (ViT's ``layers``, Segmenter's decoder)."""
    return ModuleList(
        TransformerEncoderLayer(drop_path_rate=rate, **layer_args)
        for rate in drop_path_rates(drop_path_rate, num_layers)
    )
