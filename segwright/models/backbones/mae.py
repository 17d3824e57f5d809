"""The ``MAE`` backbone: BEiT's blocks (full qkv bias) plus an absolute position embedding.

Keys are BEiT's (see :mod:`segwright.models.backbones.beit`) with ``attn.qkv.bias`` instead of
``q_bias``/``v_bias``, plus ``pos_embed`` (``1 + (H/p)*(W/p)`` tokens, added as it is: inputs
have the training size ``img_size``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.backbones.beit import BEiT, BEiTAttention, BEiTTransformerEncoderLayer
from segwright.models.backbones.vit import resize_pos_embed
from segwright.models.utils import ModuleList
from segwright.registry import MODELS

logger = logging.getLogger(__name__)

_LN = dict(type="LN")
_GELU = dict(type="GELU")


class MAEAttention(BEiTAttention):
    """BEiT's attention whose relative position bias starts at zero (MAE's init)."""

    def init_weights(self) -> None:
        nn.init.zeros_(self.relative_position_bias_table)


class MAETransformerEncoderLayer(BEiTTransformerEncoderLayer):
    """BEiT's block with :class:`MAEAttention`."""

    attn_class = MAEAttention


@MODELS.register_module()
class MAE(BEiT):
    """Masked-autoencoder-pretrained ViT backbone (MMSeg's ``MAE``).

    Args are :class:`BEiT`'s without ``qv_bias`` (the attention always has a full qkv bias).

    Shapes:
        ``(N, in_channels, H, W)`` (``H, W = img_size``) -> tuple of
        ``(N, embed_dims, H/p, W/p)``.
    """

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
        super().__init__(
            img_size=img_size, patch_size=patch_size, in_channels=in_channels,
            embed_dims=embed_dims, num_layers=num_layers, num_heads=num_heads,
            mlp_ratio=mlp_ratio, out_indices=out_indices, qv_bias=False,
            attn_drop_rate=attn_drop_rate, drop_path_rate=drop_path_rate, norm_cfg=norm_cfg,
            act_cfg=act_cfg, patch_norm=patch_norm, final_norm=final_norm, num_fcs=num_fcs,
            norm_eval=norm_eval, pretrained=pretrained, init_values=init_values,
            init_cfg=init_cfg,
        )  # fmt: skip
        self.num_patches = self.patch_shape[0] * self.patch_shape[1]
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches + 1, embed_dims))

    def _build_layers(self) -> ModuleList:
        return ModuleList(
            MAETransformerEncoderLayer(bias=True, **kw) for kw in self._layer_kwargs()
        )

    def _basic_init(self) -> None:
        """BEiT's basic init, then the output projections of block ``i`` scaled by
        ``1 / sqrt(2 * (i + 1))`` (MAE's depth rescaling)."""
        super()._basic_init()
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                layer.attn.proj.weight.div_(math.sqrt(2.0 * (i + 1)))
                layer.ffn.layers[1].weight.div_(math.sqrt(2.0 * (i + 1)))

    def _adapt_checkpoint(self, state: dict[str, Any]) -> dict[str, Any]:
        """BEiT's checks, and a square ``pos_embed`` of another grid resized (bicubic)."""
        state = super()._adapt_checkpoint(state)
        pos = state.get("pos_embed")
        if pos is not None and pos.shape != self.pos_embed.shape:
            old = int(math.sqrt(pos.shape[1] - 1))
            new = int(math.sqrt(self.num_patches))
            logger.info("Resize the pos_embed grid from %dx%d to %dx%d", old, old, new, new)
            state["pos_embed"] = resize_pos_embed(pos, (new, new), (old, old), "bicubic")
        return state

    def _embed(self, inputs: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        x, hw_shape = super()._embed(inputs)
        return x + self.pos_embed, hw_shape
