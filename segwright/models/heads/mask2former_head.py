"""Mask2Former's ``Mask2FormerHead`` as MMSeg 1.2.2 builds it on MMDetection 3.3's head.

Differences from MaskFormer: the pixel decoder (``MSDeformAttnPixelDecoder``) returns several
scales and the decoder layers attend to them in turn (``level_embed`` added); each layer's
cross-attention comes first and is masked to where the previous prediction is foreground
(``sigmoid < 0.5`` is masked, a fully masked row is opened again); predictions (after
``post_norm``) are made before the first layer and after every layer. Matching and the mask
losses read ``num_points`` sampled points (uniform for matching, the most uncertain ones plus
uniform for the losses), drawn from torch's global generator in MMDetection's order.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.heads.detr_transformer import (
    DetrTransformerDecoder,
    DetrTransformerDecoderLayer,
    SinePositionalEncoding,
)
from segwright.models.heads.maskformer_head import MaskFormerHead, mask_embed
from segwright.models.utils import BaseModule, ModuleList
from segwright.models.utils.weight_init import caffe2_xavier_init
from segwright.ops import point_sample
from segwright.ops.point_sample import get_uncertain_point_coords_with_randomness
from segwright.registry import MODELS
from segwright.structures import InstanceData
from segwright.utils.errors import ConfigError


class Mask2FormerTransformerDecoderLayer(DetrTransformerDecoderLayer):
    """Cross-attention, then self-attention, then FFN; each followed by a norm."""

    def forward(  # type: ignore[override]
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
        query = self.cross_attn(
            query, key, value, query_pos=query_pos, key_pos=key_pos, attn_mask=cross_attn_mask,
            key_padding_mask=key_padding_mask,
        )  # fmt: skip
        query = self.norms[0](query)
        query = self.self_attn(
            query, query, query, query_pos=query_pos, key_pos=query_pos, attn_mask=self_attn_mask
        )
        return self.norms[2](self.ffn(self.norms[1](query)))


class Mask2FormerTransformerDecoder(DetrTransformerDecoder):
    """``DetrTransformerDecoder`` of Mask2Former layers (run one by one by the head)."""

    layer_class = Mask2FormerTransformerDecoderLayer


def _uncertainty(logits: torch.Tensor) -> torch.Tensor:
    return -logits.abs()


@MODELS.register_module()
class Mask2FormerHead(MaskFormerHead):
    """Mask2Former head (MMSeg's arguments plus MMDetection's ``Mask2FormerHead`` ones).

    Args:
        num_transformer_feat_level: Scales the decoder layers attend to in turn.
        train_cfg: ``assigner``, ``sampler`` and the point sampling (``num_points``,
            ``oversample_ratio``, ``importance_sample_ratio``).
        strides: Accepted as MMSeg's configs give it here; the pixel decoder has its own.
        Others: as :class:`MaskFormerHead`.
    """

    def __init__(
        self,
        num_classes: int,
        align_corners: bool = False,
        ignore_index: int = 255,
        *,
        in_channels: Sequence[int],
        feat_channels: int,
        out_channels: int,
        num_queries: int = 100,
        num_transformer_feat_level: int = 3,
        pixel_decoder: Mapping[str, Any] | None = None,
        enforce_decoder_input_project: bool = False,
        transformer_decoder: Mapping[str, Any] | None = None,
        positional_encoding: Mapping[str, Any] = dict(num_feats=128, normalize=True),  # noqa: B006
        loss_cls: Mapping[str, Any] | None = None,
        loss_mask: Mapping[str, Any] | None = None,
        loss_dice: Mapping[str, Any] | None = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        num_things_classes: int = 80,
        num_stuff_classes: int = 53,
        in_index: Sequence[int] | None = None,
        strides: Sequence[int] | None = None,
        init_cfg: Any = None,
    ) -> None:
        BaseModule.__init__(self, init_cfg)
        if None in (pixel_decoder, transformer_decoder, loss_cls, loss_mask, loss_dice):
            raise ConfigError(
                "Mask2FormerHead needs pixel_decoder, transformer_decoder, loss_cls, loss_mask "
                "and loss_dice configs (see configs/mask2former)."
            )
        pixel_decoder, transformer_decoder = (
            dict(pixel_decoder or {}),
            dict(transformer_decoder or {}),
        )
        loss_cls = dict(loss_cls or {})
        levels = pixel_decoder["encoder"]["layer_cfg"]["self_attn_cfg"]["num_levels"]
        if levels != num_transformer_feat_level:
            raise ConfigError(
                f"Mask2FormerHead: the pixel decoder's encoder has num_levels={levels} but "
                f"num_transformer_feat_level={num_transformer_feat_level}; they must agree."
            )
        self._init_head(
            num_classes, align_corners, ignore_index, in_channels, in_index, test_cfg, num_queries
        )
        self.num_transformer_feat_level = num_transformer_feat_level
        self.num_heads = transformer_decoder["layer_cfg"]["cross_attn_cfg"]["num_heads"]
        self.num_transformer_decoder_layers = transformer_decoder["num_layers"]
        self._build_pixel_decoder(pixel_decoder, feat_channels, out_channels)
        self.transformer_decoder = Mask2FormerTransformerDecoder(
            **copy.deepcopy(dict(transformer_decoder))
        )
        self.decoder_embed_dims = self.transformer_decoder.embed_dims
        project = self.decoder_embed_dims != feat_channels or enforce_decoder_input_project
        self.decoder_input_projs = ModuleList(
            nn.Conv2d(feat_channels, self.decoder_embed_dims, 1) if project else nn.Identity()
            for _ in range(num_transformer_feat_level)
        )
        self.decoder_positional_encoding = SinePositionalEncoding(**positional_encoding)
        self.query_embed = nn.Embedding(num_queries, feat_channels)
        self.query_feat = nn.Embedding(num_queries, feat_channels)
        self.level_embed = nn.Embedding(num_transformer_feat_level, feat_channels)
        self.cls_embed = nn.Linear(feat_channels, num_classes + 1)
        self.mask_embed = mask_embed(feat_channels, out_channels)
        self._init_training(train_cfg, loss_cls, loss_mask, loss_dice)  # type: ignore[arg-type]
        if train_cfg:
            self.num_points = train_cfg.get("num_points", 12544)
            self.oversample_ratio = train_cfg.get("oversample_ratio", 3.0)
            self.importance_sample_ratio = train_cfg.get("importance_sample_ratio", 0.75)

    def init_weights(self) -> None:
        for proj in self.decoder_input_projs:
            if isinstance(proj, nn.Conv2d):
                caffe2_xavier_init(proj, bias=0)
        self.pixel_decoder.init_weights()
        for param in self.transformer_decoder.parameters():
            if param.dim() > 1:
                nn.init.xavier_normal_(param)
        self._is_init = True

    # -- forward ------------------------------------------------------------------------------

    def _predict_layer(
        self, query: torch.Tensor, mask_feature: torch.Tensor, size: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Class and mask logits of the queries, and the next cross-attention mask."""
        query = self.transformer_decoder.post_norm(query)
        masks = torch.einsum("bqc,bchw->bqhw", self.mask_embed(query), mask_feature)
        attn = F.interpolate(masks, size, mode="bilinear", align_corners=False)
        attn = attn.flatten(2).unsqueeze(1).repeat(1, self.num_heads, 1, 1).flatten(0, 1)
        return self.cls_embed(query), masks, (attn.sigmoid() < 0.5).detach()

    def forward(  # type: ignore[override]
        self, x: Sequence[torch.Tensor], batch_data_samples: Sequence[Any] | None = None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Class logits ``(N, Q, classes + 1)`` and masks ``(N, Q, h, w)`` of every layer."""
        batch = x[0].shape[0]
        mask_feature, memories = self.pixel_decoder(x)
        inputs, positions = [], []
        for i in range(self.num_transformer_feat_level):
            tokens = self.decoder_input_projs[i](memories[i]).flatten(2).transpose(1, 2)
            inputs.append(tokens + self.level_embed.weight[i].view(1, 1, -1))
            no_padding = tokens.new_zeros((batch, *memories[i].shape[-2:]), dtype=torch.bool)
            positions.append(
                self.decoder_positional_encoding(no_padding).flatten(2).transpose(1, 2)
            )
        query = self.query_feat.weight[None].repeat(batch, 1, 1)
        query_pos = self.query_embed.weight[None].repeat(batch, 1, 1)
        cls_pred, mask_pred, attn_mask = self._predict_layer(
            query, mask_feature, memories[0].shape[-2:]
        )
        cls_preds, mask_preds = [cls_pred], [mask_pred]
        for i, layer in enumerate(self.transformer_decoder.layers):
            level = i % self.num_transformer_feat_level
            attn_mask = attn_mask & (attn_mask.sum(-1) != attn_mask.shape[-1]).unsqueeze(-1)
            query = layer(
                query, key=inputs[level], value=inputs[level], query_pos=query_pos,
                key_pos=positions[level], cross_attn_mask=attn_mask,
            )  # fmt: skip
            size = memories[(i + 1) % self.num_transformer_feat_level].shape[-2:]
            cls_pred, mask_pred, attn_mask = self._predict_layer(query, mask_feature, size)
            cls_preds.append(cls_pred)
            mask_preds.append(mask_pred)
        return cls_preds, mask_preds

    @staticmethod
    def _output_size(meta: Mapping[str, Any]) -> tuple[int, int]:
        """The size :meth:`predict` returns logits at: ``pad_shape`` (else ``img_shape``)."""
        return tuple(meta.get("pad_shape", meta["img_shape"])[:2])  # type: ignore[return-value]

    # -- training -----------------------------------------------------------------------------

    def _match(self, cls_score: torch.Tensor, mask_pred: torch.Tensor, gt: InstanceData) -> Any:
        """The sampler's result of matching one image's queries, on ``num_points`` uniform
        points."""
        gt_masks = gt.masks
        points = torch.rand((1, self.num_points, 2), device=cls_score.device)
        pred_points = point_sample(mask_pred[:, None], points.repeat(len(mask_pred), 1, 1))
        gt_points = point_sample(gt_masks[:, None].float(), points.repeat(len(gt_masks), 1, 1))
        result = self.assigner.assign(
            InstanceData(scores=cls_score, masks=pred_points[:, 0]),
            InstanceData(labels=gt.labels, masks=gt_points[:, 0]),
        )
        return self.sampler.sample(result, InstanceData(scores=cls_score, masks=mask_pred), gt)

    def _mask_losses(
        self, preds: torch.Tensor, mask_targets: torch.Tensor, num_masks: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``loss_mask`` and ``loss_dice`` on the most uncertain points (plus uniform ones)."""
        with torch.no_grad():
            points = get_uncertain_point_coords_with_randomness(
                preds[:, None], _uncertainty, self.num_points, self.oversample_ratio,
                self.importance_sample_ratio,
            )  # fmt: skip
            point_targets = point_sample(mask_targets[:, None].float(), points)[:, 0]
        point_preds = point_sample(preds[:, None], points)[:, 0]
        loss_dice = self.loss_dice(point_preds, point_targets, avg_factor=num_masks)
        loss_mask = self.loss_mask(
            point_preds.reshape(-1), point_targets.reshape(-1),
            avg_factor=num_masks * self.num_points,
        )  # fmt: skip
        return loss_mask, loss_dice
