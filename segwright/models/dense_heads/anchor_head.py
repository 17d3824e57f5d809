"""``AnchorHead``: anchors, their training targets and the per-level losses (MMDet 3.3).

What RPN (and RetinaNet-like heads) share: multi-level anchors with valid flags, per-image
targets from an assigner and a sampler, and a classification and a box loss per level, both
averaged over the sampled anchors of the whole batch.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.dense_heads.base_dense_head import BaseDenseHead
from segwright.models.dense_heads.utils import (
    anchor_inside_flags,
    cfg_value,
    images_to_levels,
    meta_shape,
    unmap,
)
from segwright.registry import MODELS, TASK_UTILS, build_if_dict, default_scope
from segwright.structures import InstanceData
from segwright.utils.errors import ConfigError

#: The training-config keys every anchor head reads.
TRAIN_CFG_KEYS = ("assigner", "allowed_border", "pos_weight")
#: MMDetection's defaults of ``AnchorHead`` and ``RPNHead`` (read-only: parts copy configs).
ANCHOR_GENERATOR = dict(
    type="AnchorGenerator", scales=[8, 16, 32], ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64]
)
BBOX_CODER = dict(
    type="DeltaXYWHBBoxCoder",
    clip_border=True,
    target_means=(0.0, 0.0, 0.0, 0.0),
    target_stds=(1.0, 1.0, 1.0, 1.0),
)
LOSS_CLS = dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0)
LOSS_BBOX = dict(type="SmoothL1Loss", beta=1.0 / 9.0, loss_weight=1.0)
NORMAL_CONV_INIT = dict(type="Normal", layer="Conv2d", std=0.01)


class AnchorHead(BaseDenseHead):
    """Anchor-based dense head: ``conv_cls`` and ``conv_reg`` 1x1 convs on every level.

    Subclasses (``RPNHead``) replace ``_init_layers``/``forward_single`` and add
    ``_predict_by_feat_single``. Parts are built in the ``mmdet`` scope, so
    ``CrossEntropyLoss`` is MMDetection's whatever the config's ``default_scope``.

    Args:
        num_classes: Object classes, background excluded.
        in_channels: Channels of each input level.
        feat_channels: Hidden channels (used by subclasses).
        anchor_generator: ``AnchorGenerator`` or its config.
        bbox_coder: Box coder (``DeltaXYWHBBoxCoder``) or its config.
        reg_decoded_bbox: Regress decoded boxes (for IoU-type box losses) instead of deltas.
        loss_cls: Classification loss or its config; ``use_sigmoid`` picks sigmoid scores
            (``num_classes`` channels) over softmax (``num_classes + 1``).
        loss_bbox: Box regression loss or its config.
        train_cfg: ``assigner``, ``sampler`` (config dicts or built), ``allowed_border``
            (anchors further over the image edge are ignored; negative keeps all) and
            ``pos_weight`` (classification weight of positives; <= 0 means 1).
        test_cfg: Post-processing config (``nms_pre``, ``nms``, ``max_per_img``, ...).
        init_cfg: Initialisation config; default Normal(0, 0.01) for every ``Conv2d``.

    Raises:
        ConfigError: A ``train_cfg`` without the keys above, or no output channels.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        feat_channels: int = 256,
        anchor_generator: Any = ANCHOR_GENERATOR,
        bbox_coder: Any = BBOX_CODER,
        reg_decoded_bbox: bool = False,
        loss_cls: Any = LOSS_CLS,
        loss_bbox: Any = LOSS_BBOX,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        init_cfg: Any = NORMAL_CONV_INIT,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        owner = type(self).__name__
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.feat_channels = feat_channels
        if isinstance(loss_cls, Mapping):
            self.use_sigmoid_cls = bool(loss_cls.get("use_sigmoid", False))
        else:
            self.use_sigmoid_cls = bool(getattr(loss_cls, "use_sigmoid", False))
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        if self.cls_out_channels <= 0:
            raise ConfigError(
                f"{owner}: num_classes={num_classes} leaves no classification channel; it must "
                "be at least 1 (0 with a softmax loss)."
            )
        self.reg_decoded_bbox = bool(reg_decoded_bbox)
        self.train_cfg = copy.deepcopy(dict(train_cfg)) if train_cfg else None
        self.test_cfg = copy.deepcopy(dict(test_cfg)) if test_cfg else None

        # MMDetection's parts mean MMDetection's classes, whatever the config's scope.
        with default_scope("mmdet"):
            self.bbox_coder = build_if_dict(copy.deepcopy(bbox_coder), TASK_UTILS, "bbox_coder")
            self.loss_cls = build_if_dict(copy.deepcopy(loss_cls), MODELS, "loss_cls")
            self.loss_bbox = build_if_dict(copy.deepcopy(loss_bbox), MODELS, "loss_bbox")
            if self.train_cfg:
                for key in TRAIN_CFG_KEYS:
                    cfg_value(self.train_cfg, key, owner, "train_cfg")
                self.assigner = build_if_dict(
                    self.train_cfg["assigner"], TASK_UTILS, "train_cfg.assigner"
                )
                self.sampler = self._build_sampler(self.train_cfg.get("sampler"))
            self.prior_generator = build_if_dict(
                copy.deepcopy(anchor_generator), TASK_UTILS, "anchor_generator"
            )
        # One count for all levels (true of every anchor generator but SSD's).
        self.num_base_priors = self.prior_generator.num_base_priors[0]
        self._init_layers()

    def _build_sampler(self, sampler: Any) -> Any:
        if sampler is not None:
            built = build_if_dict(sampler, TASK_UTILS, "train_cfg.sampler")
            if getattr(built, "add_gt_as_proposals", False):
                # The targets are indexed by anchor; prepended ground truths would shift them.
                raise ConfigError(
                    f"{type(self).__name__}: train_cfg.sampler must have "
                    "add_gt_as_proposals=False (anchors are sampled, not proposals; the "
                    "sampler's default is True)."
                )
            return built
        if TASK_UTILS.get("PseudoSampler") is None:
            raise ConfigError(
                f"{type(self).__name__}: train_cfg has no 'sampler', and segwright has no "
                "PseudoSampler (MMDetection's default) yet. Give one, e.g. "
                "sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1, "
                "add_gt_as_proposals=False)."
            )
        return TASK_UTILS.build(dict(type="PseudoSampler"), key="train_cfg.sampler")

    @property
    def num_anchors(self) -> int:
        """Old name of :attr:`num_base_priors`."""
        return self.num_base_priors

    def _init_layers(self) -> None:
        self.conv_cls = nn.Conv2d(self.in_channels, self.num_base_priors * self.cls_out_channels, 1)
        self.conv_reg = nn.Conv2d(
            self.in_channels, self.num_base_priors * self.bbox_coder.encode_size, 1
        )

    def forward_single(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits and box deltas of one level.

        Shapes:
            x (B, C, H, W) -> (B, A * cls_out_channels, H, W), (B, A * 4, H, W).
        """
        return self.conv_cls(x), self.conv_reg(x)

    def forward(self, x: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``forward_single`` on every level.

        Shapes:
            x: one (B, C, H_l, W_l) per level -> (class logits per level, box deltas per level).
        """
        if isinstance(x, torch.Tensor) or not isinstance(x, Sequence):
            raise TypeError(
                f"{type(self).__name__}.forward takes a tuple/list of feature maps (one per "
                f"level), got {type(x).__name__}."
            )
        cls_scores, bbox_preds = [], []
        for feat in x:
            cls_score, bbox_pred = self.forward_single(feat)
            cls_scores.append(cls_score)
            bbox_preds.append(bbox_pred)
        return cls_scores, bbox_preds

    # -- targets ---------------------------------------------------------------------------

    def get_anchors(
        self,
        featmap_sizes: Sequence[tuple[int, int]],
        batch_img_metas: Sequence[Mapping[str, Any]],
        device: str | torch.device = "cuda",
    ) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
        """Anchors (the same for every image) and valid flags (from each ``pad_shape``).

        Returns:
            ``(anchor_list, valid_flag_list)``, each a list over images of per-level tensors.

        Shapes:
            -> anchors (H_l * W_l * A, 4); flags (H_l * W_l * A,) bool.
        """
        anchors = self.prior_generator.grid_priors(featmap_sizes, device=device)
        flags = [
            self.prior_generator.valid_flags(
                featmap_sizes, meta_shape(meta, "pad_shape", type(self).__name__), device
            )
            for meta in batch_img_metas
        ]
        return [anchors for _ in batch_img_metas], flags

    def _get_targets_single(
        self,
        flat_anchors: torch.Tensor,
        valid_flags: torch.Tensor,
        gt_instances: InstanceData,
        img_meta: Mapping[str, Any],
        gt_instances_ignore: InstanceData | None = None,
        unmap_outputs: bool = True,
    ) -> tuple[Any, ...]:
        """Targets of one image's anchors (all levels concatenated).

        Returns:
            ``(labels, label_weights, bbox_targets, bbox_weights, pos_inds, neg_inds,
            sampling_result)``; labels are ``num_classes`` (background) where not positive.

        Raises:
            ValueError: No anchor lies inside the image (with ``allowed_border``).

        Shapes:
            flat_anchors (N, 4); valid_flags (N,) -> labels (N,), label_weights (N,),
            bbox_targets (N, 4), bbox_weights (N, 4) (N inside anchors without unmapping).
        """
        if not self.train_cfg:
            raise ConfigError(
                f"{type(self).__name__} has no train_cfg; its loss needs assigner, sampler, "
                "allowed_border and pos_weight (the detector's train_cfg.rpn for an RPN)."
            )
        img_shape = meta_shape(img_meta, "img_shape", type(self).__name__)
        inside_flags = anchor_inside_flags(
            flat_anchors, valid_flags, img_shape, self.train_cfg["allowed_border"]
        )
        if not inside_flags.any():
            raise ValueError(
                f"{type(self).__name__}: no valid anchor lies inside the image of shape "
                f"{img_shape}. Check the image and anchor sizes, or set "
                "train_cfg.allowed_border=-1 to keep anchors across the border."
            )
        anchors = flat_anchors[inside_flags]
        pred_instances = InstanceData(priors=anchors)
        assign_result = self.assigner.assign(pred_instances, gt_instances, gt_instances_ignore)
        sampling_result = self.sampler.sample(assign_result, pred_instances, gt_instances)

        num_valid = anchors.shape[0]
        target_dim = (
            gt_instances.bboxes.size(-1) if self.reg_decoded_bbox else self.bbox_coder.encode_size
        )
        bbox_targets = anchors.new_zeros(num_valid, target_dim)
        bbox_weights = anchors.new_zeros(num_valid, target_dim)
        labels = anchors.new_full((num_valid,), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros(num_valid, dtype=torch.float)

        pos_inds, neg_inds = sampling_result.pos_inds, sampling_result.neg_inds
        if len(pos_inds) > 0:
            if self.reg_decoded_bbox:
                pos_targets = sampling_result.pos_gt_bboxes
            else:
                pos_targets = self.bbox_coder.encode(
                    sampling_result.pos_priors, sampling_result.pos_gt_bboxes
                )
            bbox_targets[pos_inds, :] = pos_targets.to(bbox_targets.dtype)
            bbox_weights[pos_inds, :] = 1.0
            labels[pos_inds] = sampling_result.pos_gt_labels
            pos_weight = self.train_cfg["pos_weight"]
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0

        if unmap_outputs:
            total = flat_anchors.size(0)
            labels = unmap(labels, total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, total, inside_flags)
            bbox_targets = unmap(bbox_targets, total, inside_flags)
            bbox_weights = unmap(bbox_weights, total, inside_flags)
        return (
            labels,
            label_weights,
            bbox_targets,
            bbox_weights,
            pos_inds,
            neg_inds,
            sampling_result,
        )

    def get_targets(
        self,
        anchor_list: Sequence[Sequence[torch.Tensor]],
        valid_flag_list: Sequence[Sequence[torch.Tensor]],
        batch_gt_instances: Sequence[InstanceData],
        batch_img_metas: Sequence[Mapping[str, Any]],
        batch_gt_instances_ignore: Sequence[InstanceData | None] | None = None,
        unmap_outputs: bool = True,
        return_sampling_results: bool = False,
    ) -> tuple[Any, ...]:
        """Targets of every image, regrouped per level.

        Returns:
            ``(labels_list, label_weights_list, bbox_targets_list, bbox_weights_list,
            avg_factor)`` (plus the sampling results when asked). ``avg_factor`` sums the
            sampling results' ``avg_factor`` (sampled positives + negatives, each at least 1,
            per image, for a ``RandomSampler``).

        Shapes:
            -> per level: labels (B, n_l), label_weights (B, n_l), bbox_targets (B, n_l, 4),
            bbox_weights (B, n_l, 4).
        """
        num_imgs = len(batch_img_metas)
        if not len(anchor_list) == len(valid_flag_list) == len(batch_gt_instances) == num_imgs:
            raise ValueError(
                f"{type(self).__name__}.get_targets: {len(anchor_list)} anchor lists, "
                f"{len(valid_flag_list)} flag lists, {len(batch_gt_instances)} ground truths "
                f"and {num_imgs} metainfos; one each per image."
            )
        if batch_gt_instances_ignore is None:
            batch_gt_instances_ignore = [None] * num_imgs
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        per_image = [
            self._get_targets_single(
                torch.cat(list(anchor_list[i])),
                torch.cat(list(valid_flag_list[i])),
                batch_gt_instances[i],
                batch_img_metas[i],
                batch_gt_instances_ignore[i],
                unmap_outputs=unmap_outputs,
            )
            for i in range(num_imgs)
        ]
        labels, label_weights, bbox_targets, bbox_weights, _, _, sampling_results = zip(*per_image)
        avg_factor = sum(result.avg_factor for result in sampling_results)
        out: tuple[Any, ...] = (
            images_to_levels(labels, num_level_anchors),
            images_to_levels(label_weights, num_level_anchors),
            images_to_levels(bbox_targets, num_level_anchors),
            images_to_levels(bbox_weights, num_level_anchors),
            avg_factor,
        )
        if return_sampling_results:
            out = (*out, list(sampling_results))
        return out

    # -- losses ----------------------------------------------------------------------------

    def loss_by_feat_single(
        self,
        cls_score: torch.Tensor,
        bbox_pred: torch.Tensor,
        anchors: torch.Tensor,
        labels: torch.Tensor,
        label_weights: torch.Tensor,
        bbox_targets: torch.Tensor,
        bbox_weights: torch.Tensor,
        avg_factor: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Classification and box losses of one level, divided by ``avg_factor``.

        Shapes:
            cls_score (B, A * C, H, W); bbox_pred (B, A * 4, H, W); anchors (B, n, 4);
            labels, label_weights (B, n); bbox_targets, bbox_weights (B, n, 4); n = H * W * A.
        """
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        loss_cls = self.loss_cls(cls_score, labels, label_weights, avg_factor=avg_factor)

        target_dim = bbox_targets.size(-1)
        bbox_targets = bbox_targets.reshape(-1, target_dim)
        bbox_weights = bbox_weights.reshape(-1, target_dim)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, self.bbox_coder.encode_size)
        if self.reg_decoded_bbox:
            bbox_pred = self.bbox_coder.decode(anchors.reshape(-1, anchors.size(-1)), bbox_pred)
        loss_bbox = self.loss_bbox(bbox_pred, bbox_targets, bbox_weights, avg_factor=avg_factor)
        return loss_cls, loss_bbox

    def loss_by_feat(
        self,
        cls_scores: Sequence[torch.Tensor],
        bbox_preds: Sequence[torch.Tensor],
        batch_gt_instances: Sequence[InstanceData],
        batch_img_metas: Sequence[Mapping[str, Any]],
        batch_gt_instances_ignore: Sequence[InstanceData | None] | None = None,
    ) -> dict[str, list[torch.Tensor]]:
        """Per-level losses: ``dict(loss_cls=[...], loss_bbox=[...])``.

        Shapes:
            cls_scores: one (B, A * C, H_l, W_l) per level; bbox_preds: one (B, A * 4, H_l, W_l).
        """
        featmap_sizes = [tuple(score.shape[-2:]) for score in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(
                f"{type(self).__name__}: got {len(featmap_sizes)} feature levels, but the anchor "
                f"generator has {self.prior_generator.num_levels} strides."
            )
        if len(bbox_preds) != len(cls_scores):
            raise ValueError(
                f"{type(self).__name__}: {len(cls_scores)} levels of scores but "
                f"{len(bbox_preds)} of box predictions."
            )
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, batch_img_metas, device)
        labels, label_weights, bbox_targets, bbox_weights, avg_factor = self.get_targets(
            anchor_list,
            valid_flag_list,
            batch_gt_instances,
            batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore,
        )
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        level_anchors = images_to_levels(
            [torch.cat(list(anchors)) for anchors in anchor_list], num_level_anchors
        )
        losses_cls, losses_bbox = [], []
        for level in range(len(cls_scores)):
            loss_cls, loss_bbox = self.loss_by_feat_single(
                cls_scores[level],
                bbox_preds[level],
                level_anchors[level],
                labels[level],
                label_weights[level],
                bbox_targets[level],
                bbox_weights[level],
                avg_factor=avg_factor,
            )
            losses_cls.append(loss_cls)
            losses_bbox.append(loss_bbox)
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox)
