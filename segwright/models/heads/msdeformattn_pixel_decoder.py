"""Mask2Former's multi-scale deformable-attention pixel decoder (MMDetection 3.3's
``MSDeformAttnPixelDecoder``) and its parts: MMCV's ``MultiScaleDeformableAttention`` (keys
``sampling_offsets``, ``attention_weights``, ``value_proj``, ``output_proj``) on the plain
PyTorch operator :func:`segwright.ops.multi_scale_deformable_attn`, and the deformable DETR
encoder (``encoder.layers.{i}.self_attn``, ``ffn``, ``norms``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.detr_transformer import (
    DetrTransformerEncoder,
    DetrTransformerEncoderLayer,
    SinePositionalEncoding,
)
from segwright.models.layers import ConvModule
from segwright.models.utils import BaseModule, ModuleList
from segwright.models.utils.device_constants import constant_like
from segwright.models.utils.weight_init import caffe2_xavier_init, xavier_init
from segwright.ops import multi_scale_deformable_attn
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_GN = dict(type="GN", num_groups=32)
_RELU = dict(type="ReLU")
_LN = dict(type="LN")


class MultiScaleDeformableAttention(BaseModule):
    """Each query samples ``num_points`` points per head and level around its reference point.

    Args:
        embed_dims, num_heads: Width and heads.
        num_levels, num_points: Levels and points per level sampled.
        im2col_step: MMCV's CUDA batching (unused here).
        dropout: Dropout on the output before the residual.
        batch_first: Tokens are ``(N, L, C)`` (True) or ``(L, N, C)``.
        norm_cfg: Unused (MMCV's argument).
        value_proj_ratio: Width of the projected values relative to ``embed_dims``.
    """

    def __init__(
        self,
        embed_dims: int = 256,
        num_heads: int = 8,
        num_levels: int = 4,
        num_points: int = 4,
        im2col_step: int = 64,
        dropout: float = 0.1,
        batch_first: bool = False,
        norm_cfg: Mapping[str, Any] | None = None,
        init_cfg: Any = None,
        value_proj_ratio: float = 1.0,
    ) -> None:
        super().__init__(init_cfg)
        if embed_dims % num_heads:
            raise ConfigError(f"embed_dims={embed_dims} is not divisible by num_heads={num_heads}.")
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.num_levels = num_levels
        self.num_points = num_points
        self.im2col_step = im2col_step
        self.batch_first = batch_first
        self.dropout = nn.Dropout(dropout)
        samples = num_heads * num_levels * num_points
        self.sampling_offsets = nn.Linear(embed_dims, samples * 2)
        self.attention_weights = nn.Linear(embed_dims, samples)
        width = int(embed_dims * value_proj_ratio)
        self.value_proj = nn.Linear(embed_dims, width)
        self.output_proj = nn.Linear(width, embed_dims)
        self.init_weights()

    def init_weights(self) -> None:
        """Offsets start on rays (one direction per head, 1..P steps); weights uniform."""
        nn.init.zeros_(self.sampling_offsets.weight)
        angles = torch.arange(self.num_heads, dtype=torch.float32) * (2 * math.pi / self.num_heads)
        rays = torch.stack([angles.cos(), angles.sin()], -1)
        rays = rays / rays.abs().max(-1, keepdim=True)[0]
        grid = rays.view(self.num_heads, 1, 1, 2).repeat(1, self.num_levels, self.num_points, 1)
        grid = grid * torch.arange(1, self.num_points + 1, dtype=torch.float32).view(1, 1, -1, 1)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.reshape(-1))
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        xavier_init(self.value_proj, distribution="uniform", bias=0.0)
        xavier_init(self.output_proj, distribution="uniform", bias=0.0)
        self._is_init = True

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        identity: torch.Tensor | None = None,
        query_pos: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        reference_points: torch.Tensor | None = None,
        spatial_shapes: torch.Tensor | None = None,
        level_start_index: torch.Tensor | None = None,
        level_shapes: Sequence[tuple[int, int]] | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Shapes: query (N, Q, C), value (N, S, C), reference_points (N, Q, L, 2 or 4).

        ``level_shapes``: ``spatial_shapes`` as Python ints, when the caller has them; the
        operator then splits ``value`` without reading the tensor back (a sync on CUDA).
        """
        if reference_points is None or spatial_shapes is None:
            raise ValueError("MultiScaleDeformableAttention needs reference_points and shapes.")
        value = query if value is None else value
        identity = query if identity is None else identity
        if query_pos is not None:
            query = query + query_pos
        if not self.batch_first:
            query, value = query.transpose(0, 1), value.transpose(0, 1)
        batch, queries, _ = query.shape
        value = self.value_proj(value)
        if key_padding_mask is not None:
            value = value.masked_fill(key_padding_mask[..., None], 0.0)
        value = value.view(batch, value.shape[1], self.num_heads, -1)
        shape = (batch, queries, self.num_heads, self.num_levels, self.num_points)
        offsets = self.sampling_offsets(query).view(*shape, 2)
        weights = self.attention_weights(query).view(batch, queries, self.num_heads, -1)
        weights = weights.softmax(-1).view(shape)
        ref = reference_points[:, :, None, :, None]
        if reference_points.shape[-1] == 2:
            normalizer = torch.stack([spatial_shapes[..., 1], spatial_shapes[..., 0]], -1)
            locations = ref + offsets / normalizer[None, None, None, :, None, :]
        elif reference_points.shape[-1] == 4:
            locations = ref[..., :2] + offsets / self.num_points * ref[..., 2:] * 0.5
        else:
            raise ValueError(
                f"reference_points must end in 2 or 4 values, got {reference_points.shape[-1]}."
            )
        out = self.output_proj(
            multi_scale_deformable_attn(
                value, spatial_shapes if level_shapes is None else level_shapes, locations, weights
            )
        )
        if not self.batch_first:
            out = out.transpose(0, 1)
        return self.dropout(out) + identity


class DeformableEncoderLayer(DetrTransformerEncoderLayer):
    """Deformable self-attention then FFN, each followed by a norm (``norms.0``, ``norms.1``)."""

    self_attn_class = MultiScaleDeformableAttention

    def __init__(
        self,
        self_attn_cfg: Mapping[str, Any],
        ffn_cfg: Mapping[str, Any],
        norm_cfg: Mapping[str, Any] = _LN,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(self_attn_cfg, ffn_cfg, norm_cfg, init_cfg)

    def forward(  # type: ignore[override]
        self, query: torch.Tensor, query_pos: torch.Tensor, **kwargs: Any
    ) -> torch.Tensor:
        query = self.self_attn(query, value=query, query_pos=query_pos, **kwargs)
        return self.norms[1](self.ffn(self.norms[0](query)))


class Mask2FormerTransformerEncoder(DetrTransformerEncoder):
    """``num_layers`` deformable encoder layers (reference points given by the caller)."""

    layer_class = DeformableEncoderLayer


@MODELS.register_module(scope="mmdet")
class MSDeformAttnPixelDecoder(BaseModule):
    """Deformable encoder over the coarsest ``num_levels`` inputs, then an FPN to the finer ones.

    Args:
        in_channels, strides: Channels and strides of the inputs (finest first).
        feat_channels: Encoder/FPN width.
        out_channels: Width of the mask features (1x1 ``mask_feature`` conv).
        num_outs: Multi-scale outputs returned for the transformer decoder (coarsest first).
        norm_cfg, act_cfg: Norm and activation of the ConvModules.
        encoder: Deformable encoder config (``num_layers``, ``layer_cfg``).
        positional_encoding: ``SinePositionalEncoding`` arguments.

    Returns of forward:
        ``(mask_feature (N, out, H0, W0), [num_outs maps (N, feat, h, w)])``.
    """

    def __init__(
        self,
        in_channels: Sequence[int] = (256, 512, 1024, 2048),
        strides: Sequence[int] = (4, 8, 16, 32),
        feat_channels: int = 256,
        out_channels: int = 256,
        num_outs: int = 3,
        norm_cfg: Mapping[str, Any] | None = _GN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        encoder: Mapping[str, Any] | None = None,
        positional_encoding: Mapping[str, Any] = dict(num_feats=128, normalize=True),  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        if encoder is None:
            raise ConfigError("MSDeformAttnPixelDecoder needs an encoder config.")
        self.strides = list(strides)
        self.num_input_levels = len(in_channels)
        self.num_encoder_levels = int(encoder["layer_cfg"]["self_attn_cfg"]["num_levels"])
        if not 1 <= self.num_encoder_levels <= self.num_input_levels:
            raise ConfigError(
                f"MSDeformAttnPixelDecoder: num_levels={self.num_encoder_levels} must be between "
                f"1 and the {self.num_input_levels} inputs."
            )
        coarse = range(
            self.num_input_levels - 1, self.num_input_levels - self.num_encoder_levels - 1, -1
        )
        self.input_convs = ModuleList(
            ConvModule(in_channels[i], feat_channels, 1, norm_cfg=norm_cfg, act_cfg=None, bias=True)
            for i in coarse
        )
        self.encoder = Mask2FormerTransformerEncoder(**encoder)
        self.postional_encoding = SinePositionalEncoding(**positional_encoding)  # MMDet's key
        self.level_encoding = nn.Embedding(self.num_encoder_levels, feat_channels)
        self.use_bias = norm_cfg is None
        args = dict(bias=self.use_bias, norm_cfg=norm_cfg)
        self.lateral_convs = ModuleList()
        self.output_convs = ModuleList()
        for i in range(self.num_input_levels - self.num_encoder_levels - 1, -1, -1):
            self.lateral_convs.append(
                ConvModule(in_channels[i], feat_channels, 1, act_cfg=None, **args)
            )
            self.output_convs.append(
                ConvModule(feat_channels, feat_channels, 3, padding=1, act_cfg=act_cfg, **args)
            )
        self.mask_feature = nn.Conv2d(feat_channels, out_channels, 1)
        self.num_outs = num_outs

    def init_weights(self) -> None:
        for conv in self.input_convs:
            xavier_init(conv.conv, gain=1, bias=0, distribution="uniform")
        for lateral, output in zip(self.lateral_convs, self.output_convs):
            caffe2_xavier_init(lateral.conv, bias=0)
            caffe2_xavier_init(output.conv, bias=0)
        caffe2_xavier_init(self.mask_feature, bias=0)
        nn.init.normal_(self.level_encoding.weight, mean=0, std=1)
        for param in self.encoder.parameters():
            if param.dim() > 1:
                nn.init.xavier_normal_(param)
        for module in self.encoder.layers.modules():
            if isinstance(module, MultiScaleDeformableAttention):
                module.init_weights()
        self._is_init = True

    def _reference_points(self, height: int, width: int, level: int, device: Any) -> torch.Tensor:
        """Pixel centres ``(x, y)`` of a level, normalised to ``[0, 1]`` (row-major)."""
        stride = self.strides[level]
        xs = (torch.arange(width, device=device) + 0.5) * stride
        ys = (torch.arange(height, device=device) + 0.5) * stride
        ys, xs = torch.meshgrid(ys, xs, indexing="ij")
        points = torch.stack([xs.reshape(-1), ys.reshape(-1)], -1)
        # a constant in the points' dtype kept per device: the same quotient as the int64 tensor
        # it replaces (the integers are exact floats), without a blocking copy each forward
        return points / constant_like(self, [width * stride, height * stride], points)

    def forward(
        self, feats: Sequence[torch.Tensor], batch_img_metas: Any = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        batch = feats[0].shape[0]
        tokens, positions, shapes, refs = [], [], [], []
        for i in range(self.num_encoder_levels):
            level = self.num_input_levels - i - 1
            feat = feats[level]
            height, width = feat.shape[-2:]
            no_padding = feat.new_zeros((batch, height, width), dtype=torch.bool)
            pos = self.postional_encoding(no_padding) + self.level_encoding.weight[i].view(
                1, -1, 1, 1
            )
            tokens.append(self.input_convs[i](feat).flatten(2).transpose(1, 2))
            positions.append(pos.flatten(2).transpose(1, 2))
            shapes.append((height, width))
            refs.append(self._reference_points(height, width, level, feat.device))
        no_shape = torch.empty(0, dtype=torch.long, device=feats[0].device)
        spatial_shapes = constant_like(self, [n for hw in shapes for n in hw], no_shape).view(-1, 2)
        sizes = [h * w for h, w in shapes]
        reference = torch.cat(refs)[None, :, None].repeat(batch, 1, self.num_encoder_levels, 1)
        memory = self.encoder(
            torch.cat(tokens, 1), torch.cat(positions, 1), key_padding_mask=None,
            spatial_shapes=spatial_shapes, reference_points=reference, level_shapes=shapes,
        )  # fmt: skip
        outs = [
            part.transpose(1, 2).reshape(batch, -1, h, w)
            for part, (h, w) in zip(memory.split(sizes, dim=1), shapes)
        ]
        for i in range(self.num_input_levels - self.num_encoder_levels - 1, -1, -1):
            lateral = self.lateral_convs[i](feats[i])
            y = lateral + F.interpolate(
                outs[-1], size=lateral.shape[-2:], mode="bilinear", align_corners=False
            )
            outs.append(self.output_convs[i](y))
        return self.mask_feature(outs[-1]), outs[: self.num_outs]
