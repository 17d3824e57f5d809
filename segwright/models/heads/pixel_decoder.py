"""MMDetection 3.3's pixel decoders of MaskFormer: ``PixelDecoder`` (an FPN over the levels)
and ``TransformerEncoderPixelDecoder`` (a DETR encoder on the coarsest level first).

Both return ``(mask_feature, memory)``: per-pixel embeddings at the finest level and what the
transformer decoder attends to (the coarsest input, or the encoder's output). Registered in the
``mmdet`` scope (configs name them ``mmdet.PixelDecoder``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.detr_transformer import DetrTransformerEncoder, SinePositionalEncoding
from segwright.models.layers import ConvModule
from segwright.models.utils import BaseModule, ModuleList
from segwright.models.utils.weight_init import caffe2_xavier_init
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_GN = dict(type="GN", num_groups=32)
_RELU = dict(type="ReLU")


def padding_mask(feat: torch.Tensor, batch_img_metas: Sequence[Mapping[str, Any]]) -> torch.Tensor:
    """True where ``feat``'s pixels lie in the batch padding (nearest-resized image mask).

    Shapes:
        ``feat`` (N, C, h, w) -> (N, h, w) bool.
    """
    height, width = batch_img_metas[0]["batch_input_shape"]
    mask = feat.new_ones((feat.shape[0], height, width), dtype=torch.float32)
    for i, meta in enumerate(batch_img_metas):
        img_h, img_w = meta["img_shape"][:2]
        mask[i, :img_h, :img_w] = 0
    return F.interpolate(mask[:, None], size=feat.shape[-2:], mode="nearest").bool()[:, 0]


@MODELS.register_module(scope="mmdet")
class PixelDecoder(BaseModule):
    """Top-down FPN: ``last_feat_conv`` on the coarsest level, then lateral + 3x3 output convs.

    Args:
        in_channels: Channels of the input levels (finest first).
        feat_channels: FPN width.
        out_channels: Width of the mask features (``mask_feature`` conv).
        norm_cfg, act_cfg: Norm and activation of the ConvModules (no conv bias with a norm).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        feat_channels: int,
        out_channels: int,
        norm_cfg: Mapping[str, Any] | None = _GN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg)
        self.in_channels = list(in_channels)
        self.num_inputs = len(self.in_channels)
        self.use_bias = norm_cfg is None
        args = dict(bias=self.use_bias, norm_cfg=norm_cfg)
        self.lateral_convs = ModuleList()
        self.output_convs = ModuleList()
        for channels in self.in_channels[:-1]:
            self.lateral_convs.append(ConvModule(channels, feat_channels, 1, act_cfg=None, **args))
            self.output_convs.append(
                ConvModule(feat_channels, feat_channels, 3, padding=1, act_cfg=act_cfg, **args)
            )
        self.last_feat_conv: nn.Module | None = ConvModule(
            self.in_channels[-1], feat_channels, 3, padding=1, act_cfg=act_cfg, **args
        )
        self.mask_feature = nn.Conv2d(feat_channels, out_channels, 3, padding=1)

    def init_weights(self) -> None:
        for lateral, output in zip(self.lateral_convs, self.output_convs):
            caffe2_xavier_init(lateral.conv, bias=0)
            caffe2_xavier_init(output.conv, bias=0)
        caffe2_xavier_init(self.mask_feature, bias=0)
        if self.last_feat_conv is not None:
            caffe2_xavier_init(self.last_feat_conv.conv, bias=0)
        self._is_init = True

    def _top_down(self, y: torch.Tensor, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        for i in range(self.num_inputs - 2, -1, -1):
            lateral = self.lateral_convs[i](feats[i])
            y = lateral + F.interpolate(y, size=lateral.shape[-2:], mode="nearest")
            y = self.output_convs[i](y)
        return self.mask_feature(y)

    def forward(
        self, feats: Sequence[torch.Tensor], batch_img_metas: Sequence[Mapping[str, Any]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mask_feature (N, out, H0, W0), memory = feats[-1])``."""
        y = self.last_feat_conv(feats[-1])  # type: ignore[misc]  (set in this class)
        return self._top_down(y, feats), feats[-1]


@MODELS.register_module(scope="mmdet")
class TransformerEncoderPixelDecoder(PixelDecoder):
    """``PixelDecoder`` whose coarsest level goes through a DETR encoder first.

    Args:
        encoder: ``DetrTransformerEncoder`` arguments (``embed_dims == feat_channels``).
        positional_encoding: ``SinePositionalEncoding`` arguments.
        **kwargs: :class:`PixelDecoder` arguments.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        feat_channels: int,
        out_channels: int,
        norm_cfg: Mapping[str, Any] | None = _GN,
        act_cfg: Mapping[str, Any] | None = _RELU,
        encoder: Mapping[str, Any] | None = None,
        positional_encoding: Mapping[str, Any] = dict(num_feats=128, normalize=True),  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        super().__init__(in_channels, feat_channels, out_channels, norm_cfg, act_cfg, init_cfg)
        self.last_feat_conv = None
        if encoder is None:
            raise ConfigError("TransformerEncoderPixelDecoder needs an encoder config.")
        self.encoder = DetrTransformerEncoder(**encoder)
        self.encoder_embed_dims = self.encoder.embed_dims
        if self.encoder_embed_dims != feat_channels:
            raise ConfigError(
                f"TransformerEncoderPixelDecoder: the encoder's embed_dims "
                f"({self.encoder_embed_dims}) must equal feat_channels ({feat_channels})."
            )
        self.positional_encoding = SinePositionalEncoding(**positional_encoding)
        self.encoder_in_proj = nn.Conv2d(self.in_channels[-1], feat_channels, 1)
        self.encoder_out_proj = ConvModule(
            feat_channels, feat_channels, 3, padding=1, bias=self.use_bias, norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )  # fmt: skip

    def init_weights(self) -> None:
        super().init_weights()
        caffe2_xavier_init(self.encoder_in_proj, bias=0)
        caffe2_xavier_init(self.encoder_out_proj.conv, bias=0)
        for param in self.encoder.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)

    def forward(
        self, feats: Sequence[torch.Tensor], batch_img_metas: Sequence[Mapping[str, Any]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mask_feature, memory)``; memory is the encoder output ``(N, C, h, w)``."""
        last = feats[-1]
        batch, _, height, width = last.shape
        mask = padding_mask(last, batch_img_metas)
        pos = self.positional_encoding(mask).flatten(2).transpose(1, 2)
        tokens = self.encoder_in_proj(last).flatten(2).transpose(1, 2)
        memory = self.encoder(tokens, pos, mask.flatten(1))
        memory = memory.transpose(1, 2).reshape(batch, self.encoder_embed_dims, height, width)
        return self._top_down(self.encoder_out_proj(memory), feats), memory
