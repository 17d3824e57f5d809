"""``RPNHead``: Faster/Mask R-CNN's region proposal network (MMDetection 3.3).

A shared 3x3 conv + ReLU, then per anchor an objectness logit (``rpn_cls``) and box deltas
(``rpn_reg``). Proposals: per level the ``nms_pre`` best anchors, decoded and clipped to the
image, tiny boxes dropped, NMS within each level, the best ``max_per_img`` kept. Parameter
names are MMDetection's, so its checkpoints' ``rpn_head.*`` load as they are.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.dense_heads.anchor_head import (
    ANCHOR_GENERATOR,
    BBOX_CODER,
    LOSS_BBOX,
    LOSS_CLS,
    NORMAL_CONV_INIT,
    AnchorHead,
)
from segwright.models.dense_heads.utils import cfg_value, meta_scale_factor, meta_shape
from segwright.models.layers import ConvModule
from segwright.ops import batched_nms
from segwright.registry import MODELS
from segwright.structures import InstanceData, scale_boxes
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class RPNHead(AnchorHead):
    """Region proposal head: object-or-not scores and box deltas for every anchor.

    Args:
        in_channels: Channels of each input level.
        num_classes: Must be 1 (object vs background).
        init_cfg: Initialisation config; default Normal(0, 0.01) for every ``Conv2d``.
        num_convs: Shared 3x3 convs; above 1 they are ``ConvModule``s (``rpn_conv.0.conv``...).
        feat_channels: Channels of the shared convs.
        anchor_generator, bbox_coder, reg_decoded_bbox, loss_cls, loss_bbox, train_cfg,
            test_cfg: As for :class:`AnchorHead` (MMDetection's defaults). ``test_cfg`` (or
            the ``proposal_cfg`` given at training) holds ``nms_pre``, ``nms``,
            ``max_per_img`` and ``min_bbox_size``.

    Raises:
        ConfigError: ``num_classes`` other than 1, ``num_convs`` below 1, or bad parts.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int = 1,
        init_cfg: Any = NORMAL_CONV_INIT,
        num_convs: int = 1,
        feat_channels: int = 256,
        anchor_generator: Any = ANCHOR_GENERATOR,
        bbox_coder: Any = BBOX_CODER,
        reg_decoded_bbox: bool = False,
        loss_cls: Any = LOSS_CLS,
        loss_bbox: Any = LOSS_BBOX,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        if num_classes != 1:
            raise ConfigError(
                f"RPNHead: num_classes must be 1 (object vs background), got {num_classes}."
            )
        if not isinstance(num_convs, numbers.Integral) or num_convs < 1:
            raise ConfigError(f"RPNHead: num_convs must be an integer >= 1, got {num_convs!r}.")
        self.num_convs = int(num_convs)
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            feat_channels=feat_channels,
            anchor_generator=anchor_generator,
            bbox_coder=bbox_coder,
            reg_decoded_bbox=reg_decoded_bbox,
            loss_cls=loss_cls,
            loss_bbox=loss_bbox,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg,
        )

    def _init_layers(self) -> None:
        if self.num_convs > 1:
            # inplace=False: the ReLU of forward_single reads the same tensor for autograd.
            self.rpn_conv: nn.Module = nn.Sequential(
                *(
                    ConvModule(
                        self.in_channels if i == 0 else self.feat_channels,
                        self.feat_channels,
                        3,
                        padding=1,
                        inplace=False,
                    )
                    for i in range(self.num_convs)
                )
            )
        else:
            self.rpn_conv = nn.Conv2d(self.in_channels, self.feat_channels, 3, padding=1)
        self.rpn_cls = nn.Conv2d(
            self.feat_channels, self.num_base_priors * self.cls_out_channels, 1
        )
        self.rpn_reg = nn.Conv2d(
            self.feat_channels, self.num_base_priors * self.bbox_coder.encode_size, 1
        )

    def forward_single(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Objectness logits and box deltas of one level.

        Shapes:
            x (B, in_channels, H, W) -> (B, A * cls_out_channels, H, W), (B, A * 4, H, W).
        """
        x = F.relu(self.rpn_conv(x))
        return self.rpn_cls(x), self.rpn_reg(x)

    def loss_by_feat(
        self,
        cls_scores: Sequence[torch.Tensor],
        bbox_preds: Sequence[torch.Tensor],
        batch_gt_instances: Sequence[InstanceData],
        batch_img_metas: Sequence[Mapping[str, Any]],
        batch_gt_instances_ignore: Sequence[InstanceData | None] | None = None,
    ) -> dict[str, list[torch.Tensor]]:
        """Per-level losses: ``dict(loss_rpn_cls=[...], loss_rpn_bbox=[...])``.

        Shapes:
            cls_scores: one (B, A * C, H_l, W_l) per level; bbox_preds: one (B, A * 4, H_l, W_l).
        """
        losses = super().loss_by_feat(
            cls_scores,
            bbox_preds,
            batch_gt_instances,
            batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore,
        )
        return dict(loss_rpn_cls=losses["loss_cls"], loss_rpn_bbox=losses["loss_bbox"])

    def _proposal_cfg(self, cfg: Mapping[str, Any] | None) -> dict[str, Any]:
        cfg = self.test_cfg if cfg is None else cfg
        if cfg is None:
            raise ConfigError(
                "RPNHead has no test_cfg, so it cannot make proposals. Give test_cfg (the "
                "detector's test_cfg.rpn), e.g. dict(nms_pre=1000, max_per_img=1000, "
                "nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0)."
            )
        where = "test_cfg/proposal_cfg"
        cfg_value(cfg, "nms", "RPNHead", where)
        max_per_img = cfg_value(cfg, "max_per_img", "RPNHead", where)
        if not isinstance(max_per_img, numbers.Integral) or max_per_img < 0:
            raise ConfigError(
                f"RPNHead: {where} max_per_img must be an integer >= 0, got {max_per_img!r}."
            )
        return copy.deepcopy(dict(cfg))

    def _predict_by_feat_single(
        self,
        cls_score_list: Sequence[torch.Tensor],
        bbox_pred_list: Sequence[torch.Tensor],
        score_factor_list: Sequence[torch.Tensor | None],
        mlvl_priors: Sequence[torch.Tensor],
        img_meta: Mapping[str, Any],
        cfg: Mapping[str, Any] | None,
        rescale: bool = False,
        with_nms: bool = True,
    ) -> InstanceData:
        """Proposals of one image: per-level top ``nms_pre``, decode, post-process.

        Args:
            cls_score_list: Per level, the image's objectness logits.
            bbox_pred_list: Per level, the image's box deltas.
            score_factor_list: Unused (RPN has no score factors).
            mlvl_priors: Per level, the anchors.
            img_meta: Metainfo with ``img_shape`` (and ``scale_factor`` when ``rescale``).
            cfg: Post-processing config; None uses ``test_cfg``.
            rescale: Divide the boxes by ``scale_factor``.
            with_nms: Must be True.

        Shapes:
            cls_score_list: one (A * C, H_l, W_l) per level; bbox_pred_list: one
            (A * 4, H_l, W_l); mlvl_priors: one (H_l * W_l * A, 4) -> InstanceData of K <=
            ``max_per_img`` proposals: bboxes (K, 4), scores (K,), labels (K,) zeros.
        """
        cfg = self._proposal_cfg(cfg)
        img_shape = meta_shape(img_meta, "img_shape", "RPNHead")
        nms_pre = cfg.get("nms_pre", -1)
        reg_dim = self.bbox_coder.encode_size
        mlvl_bbox_preds, mlvl_priors_kept, mlvl_scores, level_ids = [], [], [], []
        for level, (cls_score, bbox_pred, priors) in enumerate(
            zip(cls_score_list, bbox_pred_list, mlvl_priors)
        ):
            if cls_score.shape[-2:] != bbox_pred.shape[-2:]:
                raise ValueError(
                    f"RPNHead: level {level} has scores of size {tuple(cls_score.shape[-2:])} "
                    f"but box predictions of size {tuple(bbox_pred.shape[-2:])}."
                )
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, reg_dim)
            cls_score = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
            if self.use_sigmoid_cls:
                scores = cls_score.sigmoid()
            else:  # the background channel is the last one
                scores = cls_score.softmax(-1)[:, :-1]
            scores = scores.reshape(-1)
            if 0 < nms_pre < scores.shape[0]:
                # A full descending sort, then the first nms_pre: MMDetection's choice, which
                # decides the order among tied scores.
                ranked, order = scores.sort(descending=True)
                keep = order[:nms_pre]
                scores = ranked[:nms_pre]
                bbox_pred = bbox_pred[keep, :]
                priors = priors[keep]
            mlvl_bbox_preds.append(bbox_pred)
            mlvl_priors_kept.append(priors)
            mlvl_scores.append(scores)
            level_ids.append(scores.new_full((scores.size(0),), level, dtype=torch.long))

        bboxes = self.bbox_coder.decode(
            torch.cat(mlvl_priors_kept), torch.cat(mlvl_bbox_preds), max_shape=img_shape
        )
        return self._bbox_post_process(
            bboxes,
            torch.cat(mlvl_scores),
            torch.cat(level_ids),
            cfg,
            rescale=rescale,
            with_nms=with_nms,
            img_meta=img_meta,
        )

    def _bbox_post_process(
        self,
        bboxes: torch.Tensor,
        scores: torch.Tensor,
        level_ids: torch.Tensor,
        cfg: Mapping[str, Any],
        rescale: bool = False,
        with_nms: bool = True,
        img_meta: Mapping[str, Any] | None = None,
    ) -> InstanceData:
        """Rescale, drop boxes not wider and taller than ``min_bbox_size``, NMS per level, top K.

        Shapes:
            bboxes (N, 4); scores (N,); level_ids (N,) -> InstanceData of K proposals.
        """
        if not with_nms:
            raise ValueError("RPNHead: proposals are always NMS-ed; with_nms must be True.")
        if rescale:
            scale_factor = meta_scale_factor(img_meta or {}, "RPNHead")  # 1.0 without Resize
            bboxes = scale_boxes(bboxes, [1 / s for s in scale_factor])

        min_bbox_size = cfg.get("min_bbox_size", -1)
        if min_bbox_size >= 0:
            widths = bboxes[:, 2] - bboxes[:, 0]
            heights = bboxes[:, 3] - bboxes[:, 1]
            valid = (widths > min_bbox_size) & (heights > min_bbox_size)
            if not valid.all():
                bboxes, scores, level_ids = bboxes[valid], scores[valid], level_ids[valid]

        results = InstanceData()
        if bboxes.numel() == 0:
            results.bboxes = bboxes.reshape(0, 4)
            results.scores = scores.new_zeros(0)
            results.labels = scores.new_zeros(0, dtype=torch.long)
            return results
        dets, keep = batched_nms(bboxes, scores, level_ids, cfg["nms"])
        max_per_img = cfg["max_per_img"]
        results.bboxes = bboxes[keep][:max_per_img]
        # The NMS may rescore (e.g. soft-NMS), so scores come from its output.
        results.scores = dets[:, -1][:max_per_img]
        results.labels = scores.new_zeros(len(results.scores), dtype=torch.long)
        return results
