"""ANNNet's ``ANNHead``: asymmetric non-local fusion (AFNB) and context (APNB) blocks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule
from segwright.models.layers.self_attention_block import SelfAttentionBlock as _AttentionBlock
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


class PPMConcat(nn.ModuleList):
    """Adaptive average pools whose flattened outputs are concatenated: the sampled keys.

    Shapes:
        (N, C, H, W) -> (N, C, sum(s * s for s in pool_scales)).
    """

    def __init__(self, pool_scales: Sequence[int] = (1, 3, 6, 8)) -> None:
        super().__init__([nn.AdaptiveAvgPool2d(s) for s in pool_scales])

    def forward(self, feats: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.cat([pool(feats).flatten(2) for pool in self], dim=2)


class SelfAttentionBlock(_AttentionBlock):
    """ANN's attention block: keys/values pooled by :class:`PPMConcat`, optional query max-pool.

    Args:
        low_in_channels: Channels of the key feature.
        high_in_channels: Channels of the query feature.
        channels: Key/query projection channels.
        out_channels: Output channels.
        share_key_query: One projection for key and query.
        query_scale: Max-pool size of the query (1: none).
        key_pool_scales: Pool sizes of :class:`PPMConcat`.
        conv_cfg, norm_cfg, act_cfg: Layer configs.
    """

    def __init__(
        self,
        low_in_channels: int,
        high_in_channels: int,
        channels: int,
        out_channels: int,
        share_key_query: bool,
        query_scale: int,
        key_pool_scales: Sequence[int],
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> None:
        super().__init__(
            key_in_channels=low_in_channels,
            query_in_channels=high_in_channels,
            channels=channels,
            out_channels=out_channels,
            share_key_query=share_key_query,
            query_downsample=nn.MaxPool2d(kernel_size=query_scale) if query_scale > 1 else None,
            key_downsample=PPMConcat(key_pool_scales),
            key_query_num_convs=1,
            key_query_norm=True,
            value_out_num_convs=1,
            value_out_norm=False,
            matmul_norm=True,
            with_out=True,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )


class AFNB(nn.Module):
    """Asymmetric fusion non-local block: high-level queries attend to low-level keys.

    The attention stages (one per query scale) are summed, concatenated with the high-level
    feature and fused by a 1x1 ConvModule without activation.
    """

    def __init__(
        self,
        low_in_channels: int,
        high_in_channels: int,
        channels: int,
        out_channels: int,
        query_scales: Sequence[int],
        key_pool_scales: Sequence[int],
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            SelfAttentionBlock(
                low_in_channels, high_in_channels, channels, out_channels, False, scale,
                key_pool_scales, conv_cfg, norm_cfg, act_cfg,
            )
            for scale in query_scales
        )  # fmt: skip
        self.bottleneck = ConvModule(
            out_channels + high_in_channels, out_channels, 1, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=None,
        )  # fmt: skip

    def forward(self, low_feats: torch.Tensor, high_feats: torch.Tensor) -> torch.Tensor:
        context = torch.stack([stage(high_feats, low_feats) for stage in self.stages]).sum(0)
        return self.bottleneck(torch.cat([context, high_feats], dim=1))


class APNB(nn.Module):
    """Asymmetric pyramid non-local block: self-attention with shared key/query projection."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        out_channels: int,
        query_scales: Sequence[int],
        key_pool_scales: Sequence[int],
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            SelfAttentionBlock(
                in_channels, in_channels, channels, out_channels, True, scale, key_pool_scales,
                conv_cfg, norm_cfg, act_cfg,
            )
            for scale in query_scales
        )  # fmt: skip
        self.bottleneck = ConvModule(
            2 * in_channels, out_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )  # fmt: skip

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        context = torch.stack([stage(feats, feats) for stage in self.stages]).sum(0)
        return self.bottleneck(torch.cat([context, feats], dim=1))


@MODELS.register_module()
class ANNHead(BaseDecodeHead):
    """Asymmetric Non-local Network head on two inputs (low, high level).

    ``fusion`` (AFNB) -> dropout -> 3x3 ``bottleneck`` -> ``context`` (APNB) -> ``conv_seg``.

    Args:
        project_channels: Key/query projection channels of the attention blocks.
        query_scales: Query max-pool sizes (one attention stage each).
        key_pool_scales: Pool sizes that sample the keys.
        **kwargs: :class:`BaseDecodeHead` arguments; ``in_channels``/``in_index`` have 2 items.
    """

    def __init__(
        self,
        project_channels: int,
        query_scales: Sequence[int] = (1,),
        key_pool_scales: Sequence[int] = (1, 3, 6, 8),
        **kwargs: Any,
    ) -> None:
        transform = kwargs.pop("input_transform", "multiple_select")
        if transform != "multiple_select":
            raise ConfigError(
                f"ANNHead always uses input_transform='multiple_select', got {transform!r}."
            )
        super().__init__(input_transform="multiple_select", **kwargs)
        if len(self.in_channels) != 2:  # type: ignore[arg-type]
            raise ConfigError(
                "ANNHead takes two inputs (low level, high level): in_channels and in_index "
                f"need 2 items, got in_channels={self.in_channels}."
            )
        low, high = self.in_channels  # type: ignore[misc]
        self.project_channels = project_channels
        layers = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.fusion = AFNB(
            low_in_channels=low, high_in_channels=high, channels=project_channels,
            out_channels=high, query_scales=query_scales, key_pool_scales=key_pool_scales,
            **layers,
        )  # fmt: skip
        self.bottleneck = ConvModule(high, self.channels, 3, padding=1, **layers)
        self.context = APNB(
            in_channels=self.channels, channels=project_channels, out_channels=self.channels,
            query_scales=query_scales, key_pool_scales=key_pool_scales, **layers,
        )  # fmt: skip

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        low, high = self._transform_inputs(inputs)
        out = self.fusion(low, high)
        if self.dropout is not None:
            out = self.dropout(out)
        return self.context(self.bottleneck(out))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._forward_feature(inputs))
