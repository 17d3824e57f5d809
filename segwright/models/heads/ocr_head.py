"""OCRNet's ``OCRHead``: pixels attend to class ("object") regions of a coarse prediction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.cascade_decode_head import BaseCascadeDecodeHead
from segwright.models.layers import ConvModule
from segwright.models.layers.self_attention_block import SelfAttentionBlock
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


class SpatialGatherModule(nn.Module):
    """One feature vector per class: features averaged with the class's softmax over positions.

    Args:
        scale: Multiplies the logits before the spatial softmax (sharper regions when > 1).

    Shapes:
        feats (N, C, H, W), probs (N, K, H, W) -> (N, C, K, 1).
    """

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, feats: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        weights = (self.scale * probs.flatten(2)).softmax(dim=2)  # (N, K, HW)
        context = torch.matmul(weights, feats.flatten(2).transpose(1, 2))  # (N, K, C)
        return context.transpose(1, 2).contiguous().unsqueeze(3)


class ObjectAttentionBlock(SelfAttentionBlock):
    """Pixels (queries) attend to the class vectors (keys/values); fused with the pixels.

    Two conv-norm-act layers project keys and queries, one the values and one the output;
    ``bottleneck`` fuses ``[context, query_feats]`` back to ``in_channels``.

    Args:
        in_channels: Channels of the pixel and class features (and of the output).
        channels: Key/query width (similarities are scaled by ``channels ** -0.5``).
        scale: Must be 1: with a query max-pool MMSeg 1.2.2's block fails in ``forward``.
        conv_cfg, norm_cfg, act_cfg: Layer configs.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        scale: int,
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> None:
        if scale > 1:
            raise ConfigError(
                f"OCRHead scale={scale} is not supported: it max-pools the queries, and MMSeg "
                "1.2.2's ObjectAttentionBlock then fails to reshape its context. Use scale=1."
            )
        super().__init__(
            key_in_channels=in_channels,
            query_in_channels=in_channels,
            channels=channels,
            out_channels=in_channels,
            share_key_query=False,
            query_downsample=None,
            key_downsample=None,
            key_query_num_convs=2,
            value_out_num_convs=1,
            key_query_norm=True,
            value_out_norm=True,
            matmul_norm=True,
            with_out=True,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
        self.bottleneck = ConvModule(
            in_channels * 2, in_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg
        )

    def forward(self, query_feats: torch.Tensor, key_feats: torch.Tensor) -> torch.Tensor:
        context = super().forward(query_feats, key_feats)
        return self.bottleneck(torch.cat([context, query_feats], dim=1))


@MODELS.register_module()
class OCRHead(BaseCascadeDecodeHead):
    """Object-contextual representations: the second stage of OCRNet.

    ``bottleneck`` (3x3) -> class vectors gathered with the previous stage's logits
    (``spatial_gather_module``) -> ``object_context_block`` -> ``conv_seg``.

    Args:
        ocr_channels: Key/query width of the object attention.
        scale: Logit scale of the spatial softmax; only 1 works (see
            :class:`ObjectAttentionBlock`).
        **kwargs: :class:`BaseDecodeHead` arguments.

    Shapes:
        ``prev_output`` must have the size of the head's (transformed) input.
    """

    def __init__(self, ocr_channels: int, scale: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ocr_channels = ocr_channels
        self.scale = scale
        layers = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.object_context_block = ObjectAttentionBlock(
            self.channels, ocr_channels, scale, **layers
        )
        self.spatial_gather_module = SpatialGatherModule(scale)
        self.bottleneck = ConvModule(
            self.in_channels,  # type: ignore[arg-type]
            self.channels, 3, padding=1, **layers,
        )  # fmt: skip

    def forward(  # type: ignore[override]
        self, inputs: Sequence[torch.Tensor], prev_output: torch.Tensor
    ) -> torch.Tensor:
        feats = self.bottleneck(self._transform_inputs(inputs))
        if prev_output.shape[2:] != feats.shape[2:]:
            raise ConfigError(
                f"OCRHead: the previous stage's logits are {tuple(prev_output.shape[2:])} but "
                f"the features are {tuple(feats.shape[2:])}; both heads must read maps of the "
                "same size (same in_index / input_transform resolution)."
            )
        context = self.spatial_gather_module(feats, prev_output)
        return self.cls_seg(self.object_context_block(feats, context))
