"""``BBoxHead``: R-CNN's per-RoI classification and class-specific box regression (MMDet 3.3).

Training: per image, the sampled positives get their ground truth's class and encoded box
deltas, the negatives the background class ``num_classes``; the classification loss is
averaged over the RoIs with a positive weight, the box loss over all sampled RoIs.
Inference: softmax scores, one decoded box per class, then per-class NMS.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.dense_heads.utils import cfg_value, meta_scale_factor, meta_shape
from segwright.models.roi_heads.bbox_nms import multiclass_nms
from segwright.models.utils import BaseModule
from segwright.registry import MODELS, TASK_UTILS, build_if_dict, default_scope, split_scope
from segwright.structures import InstanceData, get_box_tensor, scale_boxes
from segwright.utils.errors import ConfigError


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ConfigError(f"roi_feat_size must be an int or (h, w), got {size!r}.")


def build_linear_predictor(
    cfg: Mapping[str, Any], in_features: int, out_features: int, key: str
) -> nn.Module:
    """A predictor layer from ``dict(type='Linear')`` (or a layer registered in MODELS).

    Raises:
        ConfigError: An unknown predictor type.
    """
    if not isinstance(cfg, Mapping) or "type" not in cfg:
        raise ConfigError(f"{key} must be a dict with a 'type' (e.g. dict(type='Linear')).")
    args = dict(cfg)
    layer_type = args.pop("type")
    args.update(in_features=in_features, out_features=out_features)
    if isinstance(layer_type, str) and split_scope(layer_type)[1] == "Linear":
        return nn.Linear(**args)
    if isinstance(layer_type, str) and MODELS.get(layer_type) is None:
        raise ConfigError(
            f"{key} type {layer_type!r} is not available; segwright has 'Linear' (nn.Linear)."
        )
    return MODELS.build(dict(type=layer_type, **args), key=key)


def detection_accuracy(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Top-1 accuracy in percent, ``100 * correct / N``, as MMDetection's ``accuracy``.

    (segwright's :func:`~segwright.models.losses.accuracy` is MMSegmentation's, which adds
    an epsilon to both counts.) No rows gives 0.

    Shapes:
        pred (N, C); target (N,) -> (1,).
    """
    if pred.size(0) == 0:
        return pred.new_tensor(0.0)
    correct = pred.topk(1, dim=1).indices[:, 0].eq(target).float().sum(0, keepdim=True)
    return correct.mul_(100.0 / pred.size(0))


@MODELS.register_module()
class BBoxHead(BaseModule):
    """The simplest RoI box head: ``fc_cls`` and ``fc_reg`` on the (pooled) RoI features.

    Args:
        with_avg_pool: Average-pool the RoI features to 1x1 first.
        with_cls: Predict class scores (``fc_cls``, ``num_classes + 1`` outputs).
        with_reg: Predict box deltas (``fc_reg``).
        roi_feat_size: Size of the RoI features (int or (h, w)).
        in_channels: Channels of the RoI features.
        num_classes: Object classes, background excluded.
        bbox_coder: Box coder or its config.
        predict_box_type: Must be 'hbox' (axis-aligned boxes).
        reg_class_agnostic: One box per RoI instead of one per class.
        reg_decoded_bbox: Regress decoded boxes (IoU-type box losses) instead of deltas.
        reg_predictor_cfg: Config of ``fc_reg`` (``dict(type='Linear')``).
        cls_predictor_cfg: Config of ``fc_cls``.
        loss_cls: Classification loss or its config.
        loss_bbox: Box regression loss or its config.
        init_cfg: Initialisation config; default Normal(0, 0.01) for ``fc_cls`` and
            Normal(0, 0.001) for ``fc_reg``.

    Raises:
        ConfigError: Neither ``with_cls`` nor ``with_reg``, or a bad part.
    """

    def __init__(
        self,
        with_avg_pool: bool = False,
        with_cls: bool = True,
        with_reg: bool = True,
        roi_feat_size: int | Sequence[int] = 7,
        in_channels: int = 256,
        num_classes: int = 80,
        bbox_coder: Any = dict(  # noqa: B006 - MMDetection's default
            type="DeltaXYWHBBoxCoder",
            clip_border=True,
            target_means=[0.0, 0.0, 0.0, 0.0],
            target_stds=[0.1, 0.1, 0.2, 0.2],
        ),
        predict_box_type: str = "hbox",
        reg_class_agnostic: bool = False,
        reg_decoded_bbox: bool = False,
        reg_predictor_cfg: Mapping[str, Any] = dict(type="Linear"),  # noqa: B006
        cls_predictor_cfg: Mapping[str, Any] = dict(type="Linear"),  # noqa: B006
        loss_cls: Any = dict(  # noqa: B006 - MMDetection's default
            type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0
        ),
        loss_bbox: Any = dict(type="SmoothL1Loss", beta=1.0, loss_weight=1.0),  # noqa: B006
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        owner = type(self).__name__
        if not (with_cls or with_reg):
            raise ConfigError(f"{owner}: with_cls and with_reg cannot both be False.")
        if predict_box_type != "hbox":
            raise ConfigError(
                f"{owner}: predict_box_type={predict_box_type!r} is not supported; segwright "
                "predicts axis-aligned boxes ('hbox')."
            )
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ConfigError(f"{owner}: num_classes must be a positive int, got {num_classes!r}.")
        self.with_avg_pool = bool(with_avg_pool)
        self.with_cls = bool(with_cls)
        self.with_reg = bool(with_reg)
        self.roi_feat_size = _pair(roi_feat_size)
        self.roi_feat_area = self.roi_feat_size[0] * self.roi_feat_size[1]
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.predict_box_type = predict_box_type
        self.reg_class_agnostic = bool(reg_class_agnostic)
        self.reg_decoded_bbox = bool(reg_decoded_bbox)
        self.reg_predictor_cfg = copy.deepcopy(dict(reg_predictor_cfg))
        self.cls_predictor_cfg = copy.deepcopy(dict(cls_predictor_cfg))

        # MMDetection's parts mean MMDetection's classes, whatever the config's scope.
        with default_scope("mmdet"):
            self.bbox_coder = build_if_dict(copy.deepcopy(bbox_coder), TASK_UTILS, "bbox_coder")
            self.loss_cls = build_if_dict(copy.deepcopy(loss_cls), MODELS, "loss_cls")
            self.loss_bbox = build_if_dict(copy.deepcopy(loss_bbox), MODELS, "loss_bbox")

        in_features = self.in_channels
        if self.with_avg_pool:
            self.avg_pool = nn.AvgPool2d(self.roi_feat_size)
        else:
            in_features *= self.roi_feat_area
        self._build_predictors(in_features, in_features)
        if init_cfg is None:
            self.init_cfg = []
            if self.with_cls:
                self.init_cfg.append(dict(type="Normal", std=0.01, override=dict(name="fc_cls")))
            if self.with_reg:
                self.init_cfg.append(dict(type="Normal", std=0.001, override=dict(name="fc_reg")))

    def _build_predictors(self, cls_in_features: int, reg_in_features: int) -> None:
        """(Re)build ``fc_cls`` and ``fc_reg`` for inputs of the given sizes."""
        if self.with_cls:
            if self.custom_cls_channels:
                cls_channels = self.loss_cls.get_cls_channels(self.num_classes)
            else:
                cls_channels = self.num_classes + 1
            self.fc_cls = build_linear_predictor(
                self.cls_predictor_cfg, cls_in_features, cls_channels, "cls_predictor_cfg"
            )
        if self.with_reg:
            box_dim = self.bbox_coder.encode_size
            out_dim = box_dim if self.reg_class_agnostic else box_dim * self.num_classes
            self.fc_reg = build_linear_predictor(
                self.reg_predictor_cfg, reg_in_features, out_dim, "reg_predictor_cfg"
            )

    @property
    def custom_cls_channels(self) -> bool:
        """The classification loss sets the number of class outputs (e.g. Seesaw loss)."""
        return bool(getattr(self.loss_cls, "custom_cls_channels", False))

    @property
    def custom_activation(self) -> bool:
        """The classification loss turns logits into scores itself."""
        return bool(getattr(self.loss_cls, "custom_activation", False))

    @property
    def custom_accuracy(self) -> bool:
        """The classification loss computes its own accuracy."""
        return bool(getattr(self.loss_cls, "custom_accuracy", False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Class scores and box deltas of every RoI.

        Shapes:
            x (K, C, h, w) -> cls_score (K, num_classes + 1), bbox_pred (K, 4 * num_classes)
            (or (K, 4) when class-agnostic).
        """
        if self.with_avg_pool:
            x = self.avg_pool(x).flatten(1) if x.numel() > 0 else x.mean(dim=(-1, -2))
        else:
            x = x.flatten(1)
        cls_score = self.fc_cls(x) if self.with_cls else None
        bbox_pred = self.fc_reg(x) if self.with_reg else None
        return cls_score, bbox_pred

    # -- training --------------------------------------------------------------------------

    def _get_targets_single(
        self,
        pos_priors: torch.Tensor,
        neg_priors: torch.Tensor,
        pos_gt_bboxes: torch.Tensor,
        pos_gt_labels: torch.Tensor,
        cfg: Mapping[str, Any],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One image's targets: positives first, then negatives (the sampled order).

        Returns:
            ``(labels, label_weights, bbox_targets, bbox_weights)``; negatives get the
            background label ``num_classes``, weight 1 and zero box weights; positives the
            weight ``cfg['pos_weight']`` (1 when <= 0).

        Shapes:
            pos_priors (P, 4); neg_priors (Q, 4); pos_gt_bboxes (P, 4); pos_gt_labels (P,) ->
            (P+Q,), (P+Q,), (P+Q, 4), (P+Q, 4).
        """
        num_pos, num_neg = pos_priors.size(0), neg_priors.size(0)
        num_samples = num_pos + num_neg
        labels = pos_priors.new_full((num_samples,), self.num_classes, dtype=torch.long)
        reg_dim = pos_gt_bboxes.size(-1) if self.reg_decoded_bbox else self.bbox_coder.encode_size
        label_weights = pos_priors.new_zeros(num_samples)
        bbox_targets = pos_priors.new_zeros(num_samples, reg_dim)
        bbox_weights = pos_priors.new_zeros(num_samples, reg_dim)
        if num_pos > 0:
            labels[:num_pos] = pos_gt_labels
            pos_weight = cfg_value(cfg, "pos_weight", type(self).__name__, "train_cfg")
            label_weights[:num_pos] = 1.0 if pos_weight <= 0 else pos_weight
            if self.reg_decoded_bbox:
                pos_targets = get_box_tensor(pos_gt_bboxes)
            else:
                pos_targets = self.bbox_coder.encode(pos_priors, pos_gt_bboxes)
            bbox_targets[:num_pos, :] = pos_targets
            bbox_weights[:num_pos, :] = 1
        if num_neg > 0:
            label_weights[-num_neg:] = 1.0
        return labels, label_weights, bbox_targets, bbox_weights

    def get_targets(
        self,
        sampling_results: Sequence[Any],
        rcnn_train_cfg: Mapping[str, Any],
        concat: bool = True,
    ) -> tuple[Any, Any, Any, Any]:
        """Targets of every sampled RoI of the batch (see :meth:`_get_targets_single`).

        Returns:
            ``(labels, label_weights, bbox_targets, bbox_weights)``, each concatenated over
            the images (or a list per image when not ``concat``).
        """
        per_image = [
            self._get_targets_single(
                res.pos_priors,
                res.neg_priors,
                res.pos_gt_bboxes,
                res.pos_gt_labels,
                rcnn_train_cfg,
            )  # fmt: skip
            for res in sampling_results
        ]
        labels, label_weights, bbox_targets, bbox_weights = (list(t) for t in zip(*per_image))
        if concat:
            return (
                torch.cat(labels, 0),
                torch.cat(label_weights, 0),
                torch.cat(bbox_targets, 0),
                torch.cat(bbox_weights, 0),
            )
        return labels, label_weights, bbox_targets, bbox_weights

    def loss_and_target(
        self,
        cls_score: torch.Tensor,
        bbox_pred: torch.Tensor,
        rois: torch.Tensor,
        sampling_results: Sequence[Any],
        rcnn_train_cfg: Mapping[str, Any],
        concat: bool = True,
        reduction_override: str | None = None,
    ) -> dict[str, Any]:
        """Targets from the sampling, then :meth:`loss`.

        Returns:
            ``dict(loss_bbox=<dict of losses>, bbox_targets=<the targets tuple>)``.
        """
        targets = self.get_targets(sampling_results, rcnn_train_cfg, concat=concat)
        losses = self.loss(
            cls_score, bbox_pred, rois, *targets, reduction_override=reduction_override
        )
        return dict(loss_bbox=losses, bbox_targets=targets)

    def loss(
        self,
        cls_score: torch.Tensor | None,
        bbox_pred: torch.Tensor | None,
        rois: torch.Tensor,
        labels: torch.Tensor,
        label_weights: torch.Tensor,
        bbox_targets: torch.Tensor,
        bbox_weights: torch.Tensor,
        reduction_override: str | None = None,
    ) -> dict[str, torch.Tensor]:
        """``loss_cls`` and ``acc`` (when with_cls) and ``loss_bbox`` (when with_reg).

        The classification loss is averaged over the RoIs with a positive label weight (at
        least 1); the box loss, on the positives' predictions for their own class, over all
        sampled RoIs.

        Shapes:
            cls_score (K, C+1); bbox_pred (K, 4C) or (K, 4); rois (K, 5); labels (K,);
            label_weights (K,); bbox_targets (K, 4); bbox_weights (K, 4).
        """
        losses: dict[str, torch.Tensor] = {}
        if cls_score is not None:
            avg_factor = max(torch.sum(label_weights > 0).float().item(), 1.0)
            if cls_score.numel() > 0:
                loss_cls = self.loss_cls(
                    cls_score,
                    labels,
                    label_weights,
                    avg_factor=avg_factor,
                    reduction_override=reduction_override,
                )
                if isinstance(loss_cls, dict):
                    losses.update(loss_cls)
                else:
                    losses["loss_cls"] = loss_cls
                if self.custom_activation:
                    losses.update(self.loss_cls.get_accuracy(cls_score, labels))
                else:
                    losses["acc"] = detection_accuracy(cls_score, labels)
        if bbox_pred is not None:
            pos = (labels >= 0) & (labels < self.num_classes)
            if pos.any():
                if self.reg_decoded_bbox:
                    bbox_pred = get_box_tensor(self.bbox_coder.decode(rois[:, 1:], bbox_pred))
                if self.reg_class_agnostic:
                    pos_bbox_pred = bbox_pred.view(bbox_pred.size(0), -1)[pos]
                else:
                    per_class = bbox_pred.view(bbox_pred.size(0), self.num_classes, -1)
                    pos_bbox_pred = per_class[pos, labels[pos]]
                losses["loss_bbox"] = self.loss_bbox(
                    pos_bbox_pred,
                    bbox_targets[pos],
                    bbox_weights[pos],
                    avg_factor=bbox_targets.size(0),
                    reduction_override=reduction_override,
                )
            else:
                losses["loss_bbox"] = bbox_pred[pos].sum()
        return losses

    # -- inference -------------------------------------------------------------------------

    def predict_by_feat(
        self,
        rois: Sequence[torch.Tensor],
        cls_scores: Sequence[torch.Tensor],
        bbox_preds: Sequence[torch.Tensor | None],
        batch_img_metas: Sequence[Mapping[str, Any]],
        rcnn_test_cfg: Mapping[str, Any] | None = None,
        rescale: bool = False,
    ) -> list[InstanceData]:
        """Detections of every image (see :meth:`_predict_by_feat_single`).

        Raises:
            ValueError: The per-image sequences differ in length.
        """
        if not len(rois) == len(cls_scores) == len(bbox_preds) == len(batch_img_metas):
            raise ValueError(
                f"{type(self).__name__}.predict_by_feat: {len(rois)} rois, {len(cls_scores)} "
                f"cls_scores, {len(bbox_preds)} bbox_preds and {len(batch_img_metas)} image "
                "metas; give one of each per image."
            )
        return [
            self._predict_by_feat_single(
                roi=roi,
                cls_score=score,
                bbox_pred=pred,
                img_meta=meta,
                rescale=rescale,
                rcnn_test_cfg=rcnn_test_cfg,
            )  # fmt: skip
            for roi, score, pred, meta in zip(rois, cls_scores, bbox_preds, batch_img_metas)
        ]

    def _predict_by_feat_single(
        self,
        roi: torch.Tensor,
        cls_score: torch.Tensor,
        bbox_pred: torch.Tensor | None,
        img_meta: Mapping[str, Any],
        rescale: bool = False,
        rcnn_test_cfg: Mapping[str, Any] | None = None,
    ) -> InstanceData:
        """One image's detections: softmax scores, per-class decoded boxes, then NMS.

        Boxes are decoded from each RoI for every class and clipped to ``img_shape``; with
        ``rescale`` they are divided by ``scale_factor`` (the original image's coordinates).
        Without ``rcnn_test_cfg`` the raw boxes and all class scores are returned (no NMS).

        Returns:
            ``InstanceData(bboxes, scores, labels)``.

        Shapes:
            roi (K, 5); cls_score (K, C+1); bbox_pred (K, 4C) or (K, 4) -> bboxes (M, 4),
            scores (M,), labels (M,); without a test config bboxes (K, 4C), scores (K, C+1).
        """
        owner = type(self).__name__
        results = InstanceData()
        if roi.shape[0] == 0:
            return empty_bbox_results(
                roi.device, self.num_classes, score_per_cls=rcnn_test_cfg is None
            )
        if self.custom_cls_channels:
            scores = self.loss_cls.get_activation(cls_score)
        else:
            scores = F.softmax(cls_score, dim=-1) if cls_score is not None else None
        img_shape = meta_shape(img_meta, "img_shape", owner)
        num_rois = roi.size(0)
        if bbox_pred is not None:
            num_classes = 1 if self.reg_class_agnostic else self.num_classes
            priors = roi.repeat_interleave(num_classes, dim=0)[:, 1:]
            deltas = bbox_pred.view(-1, self.bbox_coder.encode_size)
            bboxes = self.bbox_coder.decode(priors, deltas, max_shape=img_shape)
        else:
            bboxes = roi[:, 1:].clone()
            bboxes[:, [0, 2]] = bboxes[:, [0, 2]].clamp(min=0, max=img_shape[1])
            bboxes[:, [1, 3]] = bboxes[:, [1, 3]].clamp(min=0, max=img_shape[0])
        if rescale and bboxes.size(0) > 0:
            scale_factor = meta_scale_factor(img_meta, owner)  # 1.0 without Resize
            bboxes = scale_boxes(bboxes, [1 / s for s in scale_factor])
        bboxes = get_box_tensor(bboxes)
        box_dim = bboxes.size(-1)
        bboxes = bboxes.view(num_rois, -1)
        if rcnn_test_cfg is None:
            results.bboxes = bboxes
            results.scores = scores
            return results
        dets, labels = multiclass_nms(
            bboxes,
            scores,
            cfg_value(rcnn_test_cfg, "score_thr", owner, "test_cfg"),
            cfg_value(rcnn_test_cfg, "nms", owner, "test_cfg"),
            cfg_value(rcnn_test_cfg, "max_per_img", owner, "test_cfg"),
            box_dim=box_dim,
        )
        results.bboxes = dets[:, :-1]
        results.scores = dets[:, -1]
        results.labels = labels
        return results


def empty_bbox_results(
    device: torch.device | str, num_classes: int, score_per_cls: bool = False
) -> InstanceData:
    """An image's detections when there are none.

    Shapes:
        -> bboxes (0, 4), scores (0,) (or (0, num_classes + 1) with ``score_per_cls``),
        labels (0,).
    """
    score_shape = (0, num_classes + 1) if score_per_cls else (0,)
    return InstanceData(
        bboxes=torch.zeros(0, 4, device=device),
        scores=torch.zeros(score_shape, device=device),
        labels=torch.zeros((0,), device=device, dtype=torch.long),
    )
