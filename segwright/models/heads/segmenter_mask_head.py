"""Segmenter's ``SegmenterMaskTransformerHead``: class embeddings decoded with the patches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import build_norm_layer
from segwright.models.layers.transformer import transformer_encoder_layers
from segwright.models.utils.weight_init import constant_init, trunc_normal_init
from segwright.registry import MODELS

_LN = dict(type="LN")
_GELU = dict(type="GELU")


@MODELS.register_module()
class SegmenterMaskTransformerHead(BaseDecodeHead):
    """Mask transformer: ``num_classes`` learned class tokens (``cls_emb``) join the projected
    patch tokens (``dec_proj``) in ``num_layers`` ViT blocks; the masks are the cosine
    similarities of projected patches and classes, normalised over classes (``mask_norm``).

    It has no ``conv_seg``; ``channels`` and ``dropout_ratio`` are unused.

    Args:
        in_channels: Channels of the input feature.
        num_layers, num_heads, embed_dims, mlp_ratio: The decoder blocks.
        drop_path_rate, drop_rate, attn_drop_rate: Dropouts of the blocks (stochastic depth
            rising linearly from 0).
        num_fcs, qkv_bias, act_cfg, norm_cfg: Block layers.
        init_std: Std of the truncated-normal init of the class tokens and Linear layers.
        **kwargs: :class:`BaseDecodeHead` arguments.

    Shapes:
        ``(N, in_channels, h, w)`` -> ``(N, num_classes, h, w)``.
    """

    def __init__(
        self,
        in_channels: int,
        num_layers: int,
        num_heads: int,
        embed_dims: int,
        mlp_ratio: int = 4,
        drop_path_rate: float = 0.1,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        num_fcs: int = 2,
        qkv_bias: bool = True,
        act_cfg: Mapping[str, Any] = _GELU,
        norm_cfg: Mapping[str, Any] = _LN,
        init_std: float = 0.02,
        **kwargs: Any,
    ) -> None:
        super().__init__(in_channels=in_channels, **kwargs)
        self.layers = transformer_encoder_layers(
            num_layers, drop_path_rate, embed_dims=embed_dims, num_heads=num_heads,
            feedforward_channels=mlp_ratio * embed_dims, attn_drop_rate=attn_drop_rate,
            drop_rate=drop_rate, num_fcs=num_fcs, qkv_bias=qkv_bias, act_cfg=act_cfg,
            norm_cfg=norm_cfg, batch_first=True,
        )  # fmt: skip
        self.dec_proj = nn.Linear(in_channels, embed_dims)
        self.cls_emb = nn.Parameter(torch.randn(1, self.num_classes, embed_dims))
        self.patch_proj = nn.Linear(embed_dims, embed_dims, bias=False)
        self.classes_proj = nn.Linear(embed_dims, embed_dims, bias=False)
        self.decoder_norm = build_norm_layer(norm_cfg, embed_dims, postfix=1)[1]
        self.mask_norm = build_norm_layer(norm_cfg, self.num_classes, postfix=2)[1]
        self.init_std = init_std
        del self.conv_seg  # masks come from similarities, not a classifier conv

    def init_weights(self) -> None:
        """Truncated-normal class tokens and Linear layers, unit LayerNorms (MMSeg's)."""
        nn.init.trunc_normal_(self.cls_emb, std=self.init_std)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=self.init_std, bias=0)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, val=1.0, bias=0.0)
        self._is_init = True

    def forward(self, inputs: Any) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        b, c, h, w = x.shape
        x = self.dec_proj(x.permute(0, 2, 3, 1).reshape(b, h * w, c))
        x = torch.cat((x, self.cls_emb.expand(b, -1, -1)), dim=1)
        for layer in self.layers:
            x = layer(x)
        x = self.decoder_norm(x)
        k = self.num_classes
        patches = F.normalize(self.patch_proj(x[:, :-k]), dim=2, p=2)
        classes = F.normalize(self.classes_proj(x[:, -k:]), dim=2, p=2)
        masks = self.mask_norm(patches @ classes.transpose(1, 2))
        return masks.permute(0, 2, 1).contiguous().view(b, -1, h, w)  # contiguous NCHW, as MMSeg
