"""``SelfAttentionBlock``: MMSeg's general non-local block (key/query/value 1x1 projections).

Shared by attention heads (ANN here); the attribute names ``key_project``, ``query_project``,
``value_project`` and ``out_project`` are MMSeg's, so their checkpoints load.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.models.layers.conv import ConvModule
from segwright.utils.errors import ConfigError


class SelfAttentionBlock(nn.Module):
    """Attention of query positions over (optionally downsampled) key positions.

    Args:
        key_in_channels, query_in_channels: Channels of the key/value and the query features.
        channels: Channels of the key/query (and, with ``with_out``, value) projections.
        out_channels: Output channels.
        share_key_query: One projection for key and query (needs equal input channels).
        query_downsample, key_downsample: Modules applied after projecting (or None).
        key_query_num_convs, value_out_num_convs: 1x1 layers per projection.
        key_query_norm, value_out_norm: ConvModules (conv-norm-act) instead of plain convs.
        matmul_norm: Scale similarities by ``channels ** -0.5``.
        with_out: Project the context with ``out_project``.
        conv_cfg, norm_cfg, act_cfg: Layer configs of the ConvModules.

    Shapes:
        query_feats (N, Cq, H, W), key_feats (N, Ck, h, w) -> (N, out_channels, H, W).
    """

    def __init__(
        self,
        key_in_channels: int,
        query_in_channels: int,
        channels: int,
        out_channels: int,
        share_key_query: bool,
        query_downsample: nn.Module | None,
        key_downsample: nn.Module | None,
        key_query_num_convs: int,
        value_out_num_convs: int,
        key_query_norm: bool,
        value_out_norm: bool,
        matmul_norm: bool,
        with_out: bool,
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> None:
        super().__init__()
        if share_key_query and key_in_channels != query_in_channels:
            raise ConfigError(
                "SelfAttentionBlock: share_key_query=True needs key_in_channels == "
                f"query_in_channels, got {key_in_channels} and {query_in_channels}."
            )
        self.key_in_channels = key_in_channels
        self.query_in_channels = query_in_channels
        self.out_channels = out_channels
        self.channels = channels
        self.share_key_query = share_key_query
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        layers = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.key_project = self.build_project(
            key_in_channels, channels, key_query_num_convs, key_query_norm, **layers
        )
        if share_key_query:
            self.query_project = self.key_project
        else:
            self.query_project = self.build_project(
                query_in_channels, channels, key_query_num_convs, key_query_norm, **layers
            )
        self.value_project = self.build_project(
            key_in_channels, channels if with_out else out_channels, value_out_num_convs,
            value_out_norm, **layers,
        )  # fmt: skip
        self.out_project: nn.Module | None = None
        if with_out:
            self.out_project = self.build_project(
                channels, out_channels, value_out_num_convs, value_out_norm, **layers
            )
        self.query_downsample = query_downsample
        self.key_downsample = key_downsample
        self.matmul_norm = matmul_norm
        self.init_weights()

    def init_weights(self) -> None:
        """A plain-conv output projection starts at zero, so the block starts as a no-op."""
        if self.out_project is not None and not isinstance(self.out_project, ConvModule):
            for module in self.out_project.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.zeros_(module.weight)
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)

    @staticmethod
    def build_project(
        in_channels: int,
        channels: int,
        num_convs: int,
        use_conv_module: bool,
        conv_cfg: Mapping[str, Any] | None,
        norm_cfg: Mapping[str, Any] | None,
        act_cfg: Mapping[str, Any] | None,
    ) -> nn.Module:
        """``num_convs`` 1x1 layers (a Sequential only when there are several)."""
        layers: list[nn.Module] = []
        for i in range(num_convs):
            cin = in_channels if i == 0 else channels
            if use_conv_module:
                layers.append(
                    ConvModule(
                        cin, channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg
                    )
                )
            else:
                layers.append(nn.Conv2d(cin, channels, 1))
        return layers[0] if len(layers) == 1 else nn.Sequential(*layers)

    def forward(self, query_feats: torch.Tensor, key_feats: torch.Tensor) -> torch.Tensor:
        n = query_feats.size(0)
        query = self.query_project(query_feats)
        if self.query_downsample is not None:
            query = self.query_downsample(query)
        query = query.flatten(2).transpose(1, 2)  # (N, Lq, C)
        key = self.key_project(key_feats)
        value = self.value_project(key_feats)
        if self.key_downsample is not None:
            key = self.key_downsample(key)
            value = self.key_downsample(value)
        key = key.flatten(2)  # (N, C, Lk)
        value = value.flatten(2).transpose(1, 2)  # (N, Lk, Cv)
        sim = torch.matmul(query, key)
        if self.matmul_norm:
            sim = (self.channels**-0.5) * sim
        context = torch.matmul(sim.softmax(dim=-1), value)  # (N, Lq, Cv)
        context = context.transpose(1, 2).reshape(n, -1, *query_feats.shape[2:])
        if self.out_project is not None:
            context = self.out_project(context)
        return context
