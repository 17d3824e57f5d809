"""DETR's transformer pieces as MMDetection 3.3 lays them out (MaskFormer's decoder and the
``TransformerEncoderPixelDecoder``'s encoder), plus the sine positional encoding.

Keys: ``layers.{i}.self_attn.attn`` / ``cross_attn.attn`` (MMCV's ``MultiheadAttention``:
``in_proj_weight``, ``out_proj``), ``layers.{i}.ffn.layers.*`` (MMCV's ``FFN``),
``layers.{i}.norms.{j}`` and the decoder's ``post_norm``. Post-norm blocks: each sub-layer adds
its residual, then a LayerNorm.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.models.layers import build_norm_layer
from segwright.models.layers.attention import MultiheadAttention
from segwright.models.layers.transformer import FFN
from segwright.models.utils import BaseModule, ModuleList
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_LN = dict(type="LN")
#: MMDetection's defaults of the DETR layers' attention and FFN configs (read-only).
_ATTN = dict(embed_dims=256, num_heads=8, dropout=0.0)
_FFN = dict(
    embed_dims=256,
    feedforward_channels=1024,
    num_fcs=2,
    ffn_drop=0.0,
    act_cfg=dict(type="ReLU", inplace=True),
)


def _batch_first(cfg: Mapping[str, Any], where: str) -> dict[str, Any]:
    cfg = copy.deepcopy(dict(cfg))
    if not cfg.setdefault("batch_first", True):
        raise ConfigError(f"{where}: DETR layers take batch-first tokens; set batch_first=True.")
    return cfg


class DetrLayerBase(BaseModule):
    """Builds a DETR layer's parts in MMDetection's order: ``self_attn`` (a
    :attr:`self_attn_class`), ``cross_attn`` (a decoder's), ``ffn`` and ``num_norms``
    LayerNorms ``norms``."""

    #: The self-attention module (Deformable DETR's layers swap in their own).
    self_attn_class: type[nn.Module] = MultiheadAttention

    def _init_layers(
        self,
        self_attn_cfg: Mapping[str, Any],
        ffn_cfg: Mapping[str, Any],
        norm_cfg: Mapping[str, Any],
        num_norms: int,
        cross_attn_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        self.self_attn = self.self_attn_class(**_batch_first(self_attn_cfg, "self_attn_cfg"))
        if cross_attn_cfg is not None:
            self.cross_attn = MultiheadAttention(**_batch_first(cross_attn_cfg, "cross_attn_cfg"))
        self.embed_dims = self.self_attn.embed_dims
        self.ffn = FFN(**ffn_cfg)
        self.norms = ModuleList(
            build_norm_layer(norm_cfg, self.embed_dims)[1] for _ in range(num_norms)
        )


class DetrTransformerEncoderLayer(DetrLayerBase):
    """Self-attention then FFN, each followed by a norm (``norms.0``, ``norms.1``)."""

    def __init__(
        self,
        self_attn_cfg: Mapping[str, Any] = _ATTN,
        ffn_cfg: Mapping[str, Any] = _FFN,
        norm_cfg: Mapping[str, Any] = _LN,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self._init_layers(self_attn_cfg, ffn_cfg, norm_cfg, 2)

    def forward(
        self, query: torch.Tensor, query_pos: torch.Tensor, key_padding_mask: torch.Tensor | None
    ) -> torch.Tensor:
        query = self.self_attn(
            query, query, query, query_pos=query_pos, key_pos=query_pos,
            key_padding_mask=key_padding_mask,
        )  # fmt: skip
        return self.norms[1](self.ffn(self.norms[0](query)))


class DetrTransformerDecoderLayer(DetrLayerBase):
    """Self-attention, cross-attention, FFN, each followed by a norm (``norms.0..2``)."""

    def __init__(
        self,
        self_attn_cfg: Mapping[str, Any] = _ATTN,
        cross_attn_cfg: Mapping[str, Any] = _ATTN,
        ffn_cfg: Mapping[str, Any] = _FFN,
        norm_cfg: Mapping[str, Any] = _LN,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self._init_layers(self_attn_cfg, ffn_cfg, norm_cfg, 3, cross_attn_cfg)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        query_pos: torch.Tensor | None = None,
        key_pos: torch.Tensor | None = None,
        self_attn_mask: torch.Tensor | None = None,
        cross_attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        query = self.self_attn(
            query, query, query, query_pos=query_pos, key_pos=query_pos, attn_mask=self_attn_mask
        )
        query = self.norms[0](query)
        query = self.cross_attn(
            query, key, value, query_pos=query_pos, key_pos=key_pos, attn_mask=cross_attn_mask,
            key_padding_mask=key_padding_mask,
        )  # fmt: skip
        return self.norms[2](self.ffn(self.norms[1](query)))


class DetrTransformerEncoder(BaseModule):
    """``num_layers`` encoder layers (:attr:`layer_class`) built from ``layer_cfg``."""

    layer_class: type[nn.Module] = DetrTransformerEncoderLayer

    def __init__(
        self, num_layers: int, layer_cfg: Mapping[str, Any], num_cp: int = -1, init_cfg: Any = None
    ) -> None:
        super().__init__(init_cfg)
        if num_cp > 0:
            raise ConfigError(
                f"{type(self).__name__}: num_cp (fairscale activation checkpointing) is not "
                "supported; remove it."
            )
        self.num_layers = num_layers
        self.num_cp = num_cp
        self.layers = ModuleList(self.layer_class(**layer_cfg) for _ in range(num_layers))
        self.embed_dims = self.layers[0].embed_dims

    def forward(
        self, query: torch.Tensor, query_pos: torch.Tensor, *args: Any, **kwargs: Any
    ) -> torch.Tensor:
        """Each layer in turn on ``query``; the rest (DETR: ``key_padding_mask``) goes to every
        layer.

        Shapes: ``query``/``query_pos`` (N, L, C), ``key_padding_mask`` (N, L).
        """
        for layer in self.layers:
            query = layer(query, query_pos, *args, **kwargs)
        return query


class DetrTransformerDecoder(BaseModule):
    """``num_layers`` decoder layers and a shared ``post_norm``.

    Returns every layer's normed output stacked ``(num_layers, N, Q, C)`` with
    ``return_intermediate``, else the last one as ``(1, N, Q, C)``.
    """

    layer_class: type[nn.Module] = DetrTransformerDecoderLayer

    def __init__(
        self,
        num_layers: int,
        layer_cfg: Mapping[str, Any],
        post_norm_cfg: Mapping[str, Any] | None = _LN,
        return_intermediate: bool = True,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.num_layers = num_layers
        self.return_intermediate = return_intermediate
        self.layers = ModuleList(self.layer_class(**layer_cfg) for _ in range(num_layers))
        self.embed_dims = self.layers[0].embed_dims
        self.post_norm = build_norm_layer(post_norm_cfg, self.embed_dims)[1]

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        query_pos: torch.Tensor,
        key_pos: torch.Tensor,
        key_padding_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        outs = []
        for layer in self.layers:
            query = layer(
                query, key=key, value=value, query_pos=query_pos, key_pos=key_pos,
                key_padding_mask=key_padding_mask,
            )  # fmt: skip
            if self.return_intermediate:
                outs.append(self.post_norm(query))
        if self.return_intermediate:
            return torch.stack(outs)
        return self.post_norm(query).unsqueeze(0)


@MODELS.register_module(scope="mmdet")
class SinePositionalEncoding(BaseModule):
    """DETR's sine/cosine position encoding of the unpadded pixels (``num_feats`` per axis).

    Args:
        num_feats: Channels per axis (output has ``2 * num_feats``).
        temperature: Frequency base.
        normalize: Scale cumulative positions to ``[0, scale]``.
        scale, eps, offset: Normalisation constants.

    Shapes:
        ``mask`` (N, H, W), nonzero at padding -> (N, 2 * num_feats, H, W).
    """

    def __init__(
        self,
        num_feats: int,
        temperature: int = 10000,
        normalize: bool = False,
        scale: float = 2 * math.pi,
        eps: float = 1e-6,
        offset: float = 0.0,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.num_feats = num_feats
        self.temperature = temperature
        self.normalize = normalize
        self.scale = scale
        self.eps = eps
        self.offset = offset

    def forward(self, mask: torch.Tensor | None, input: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            batch, height, width = mask.shape
            valid = 1 - mask.to(torch.int)
            y = valid.cumsum(1, dtype=torch.float32)
            x = valid.cumsum(2, dtype=torch.float32)
        elif input is not None:
            batch, _, height, width = input.shape
            y, x = torch.meshgrid(
                torch.arange(1, height + 1, dtype=torch.float32, device=input.device),
                torch.arange(1, width + 1, dtype=torch.float32, device=input.device),
                indexing="ij",
            )
            y, x = y.expand(batch, -1, -1), x.expand(batch, -1, -1)
        else:
            raise ValueError("SinePositionalEncoding needs a mask or an input tensor.")
        if self.normalize:
            y = (y + self.offset) / (y[:, -1:, :] + self.eps) * self.scale
            x = (x + self.offset) / (x[:, :, -1:] + self.eps) * self.scale
        steps = torch.arange(self.num_feats, dtype=torch.float32, device=y.device)
        steps = self.temperature ** (2 * (steps // 2) / self.num_feats)

        def encode(pos: torch.Tensor) -> torch.Tensor:
            pos = pos[..., None] / steps
            pair = torch.stack((pos[..., 0::2].sin(), pos[..., 1::2].cos()), dim=4)
            return pair.view(batch, height, width, -1)

        return torch.cat((encode(y), encode(x)), dim=3).permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return f"num_feats={self.num_feats}, temperature={self.temperature}, normalize={self.normalize}"
