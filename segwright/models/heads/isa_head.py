"""ISANet's ``ISAHead``: interlaced sparse self-attention (long-range, then short-range).

The map is cut into ``down_factor`` = (loc_h, loc_w) local groups. The *global* relation
attends among pixels that share a position inside their group (one pixel per group, spread
over the whole map); the *local* relation then attends within each group. Two cheap
attentions give every pixel a path to every other one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from segwright.models.heads.decode_head import BaseDecodeHead
from segwright.models.layers import ConvModule
from segwright.models.layers.self_attention_block import (
    SelfAttentionBlock as _SelfAttentionBlock,
)
from segwright.registry import MODELS

Cfg = Mapping[str, Any] | None


class SelfAttentionBlock(_SelfAttentionBlock):
    """ISA's attention: two-layer ConvModule query/key, plain value conv, ConvModule output.

    Args:
        in_channels: Channels of the input (and output).
        channels: Query/key channels (energies scaled by ``channels ** -0.5``).
        conv_cfg, norm_cfg, act_cfg: Layer configs of the ConvModules.
    """

    def __init__(
        self, in_channels: int, channels: int, conv_cfg: Cfg, norm_cfg: Cfg, act_cfg: Cfg
    ) -> None:
        super().__init__(
            key_in_channels=in_channels,
            query_in_channels=in_channels,
            channels=channels,
            out_channels=in_channels,
            share_key_query=False,
            query_downsample=None,
            key_downsample=None,
            key_query_num_convs=2,
            key_query_norm=True,
            value_out_num_convs=1,
            value_out_norm=False,
            matmul_norm=True,
            with_out=False,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
        self.output_project = self.build_project(
            in_channels, in_channels, num_convs=1, use_conv_module=True, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg,
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.output_project(super().forward(x, x))


@MODELS.register_module()
class ISAHead(BaseDecodeHead):
    """Interlaced sparse self-attention head.

    ``in_conv`` (3x3) -> pad to a multiple of ``down_factor`` (split evenly, extra at the
    end) -> ``global_relation`` -> ``local_relation`` -> crop -> ``out_conv`` (1x1 over
    ``[attended, in_conv output]``) -> ``conv_seg``.

    Args:
        isa_channels: Query/key channels of both relations.
        down_factor: Local group size (loc_h, loc_w).
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(
        self, isa_channels: int, down_factor: Sequence[int] = (8, 8), **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.down_factor = down_factor
        layers = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.in_conv = ConvModule(self.in_channels, self.channels, 3, padding=1, **layers)  # type: ignore[arg-type]
        self.global_relation = SelfAttentionBlock(self.channels, isa_channels, **layers)
        self.local_relation = SelfAttentionBlock(self.channels, isa_channels, **layers)
        self.out_conv = ConvModule(self.channels * 2, self.channels, 1, **layers)

    def _interlaced_attention(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        loc_h, loc_w = self.down_factor
        glb_h, glb_w = math.ceil(h / loc_h), math.ceil(w / loc_w)
        pad_h, pad_w = glb_h * loc_h - h, glb_w * loc_w - w
        top, left = pad_h // 2, pad_w // 2
        if pad_h > 0 or pad_w > 0:
            x = F.pad(x, (left, pad_w - left, top, pad_h - top))
        # pixel (gy * loc_h + ly, gx * loc_w + lx) -> group (gy, gx), offset (ly, lx)
        x = x.reshape(n, c, glb_h, loc_h, glb_w, loc_w)
        # long range: one map per offset, its pixels spread one per group
        x = x.permute(0, 3, 5, 1, 2, 4).reshape(n * loc_h * loc_w, c, glb_h, glb_w)
        x = self.global_relation(x).reshape(n, loc_h, loc_w, c, glb_h, glb_w)
        # short range: one map per group
        x = x.permute(0, 4, 5, 3, 1, 2).reshape(n * glb_h * glb_w, c, loc_h, loc_w)
        x = self.local_relation(x).reshape(n, glb_h, glb_w, c, loc_h, loc_w)
        x = x.permute(0, 3, 1, 4, 2, 5).reshape(n, c, glb_h * loc_h, glb_w * loc_w)
        return x[:, :, top : top + h, left : left + w]

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        residual = self.in_conv(self._transform_inputs(inputs))
        out = self.out_conv(torch.cat([self._interlaced_attention(residual), residual], dim=1))
        return self.cls_seg(out)
