"""``StandardRoIHead``: Faster/Mask R-CNN's second stage (MMDetection 3.3).

Training: per image the proposals are assigned to ground truths and sampled; the box head
learns on all sampled RoIs, the mask head on the positive ones. Inference: the box head
turns proposals into detections, the mask head adds a mask to each.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from segwright.models.dense_heads.utils import cfg_value, unpack_gt_instances
from segwright.models.roi_heads.base_roi_head import BaseRoIHead
from segwright.models.roi_heads.bbox_heads.bbox_head import empty_bbox_results
from segwright.models.roi_heads.mask_heads.fcn_mask_head import empty_mask_results
from segwright.registry import MODELS, TASK_UTILS, build_if_dict, resolve_type
from segwright.structures import InstanceData, bbox2roi
from segwright.utils.errors import ConfigError

#: ``forward`` (tensor mode) runs the mask head on at most this many RoIs, as MMDetection.
FORWARD_MASK_ROIS = 100


def _build_sampler(cfg: Any, context: Any) -> Any:
    """The sampler, given ``context`` (the RoI head) when its constructor takes one."""
    if cfg is None:
        raise ConfigError(
            "StandardRoIHead: train_cfg.sampler is None; give one, e.g. dict(type="
            "'RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1, "
            "add_gt_as_proposals=True)."
        )
    if not isinstance(cfg, Mapping):
        return cfg
    cls = resolve_type(TASK_UTILS, cfg.get("type"))
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}
    if "context" in params and "context" not in cfg:
        cfg = {**cfg, "context": context}
    return build_if_dict(cfg, TASK_UTILS, "train_cfg.sampler")


@MODELS.register_module()
class StandardRoIHead(BaseRoIHead):
    """One box head and an optional mask head on pooled RoI features.

    Args:
        bbox_roi_extractor: RoI extractor of the box head, or its config.
        bbox_head: Box head or its config (``Shared2FCBBoxHead``).
        mask_roi_extractor: RoI extractor of the mask head; None shares the box one (the
            mask head then reads the box features of the positive RoIs).
        mask_head: Mask head or its config (``FCNMaskHead``), or None.
        shared_head: A module run on the pooled features before the heads, or None.
        train_cfg: ``assigner``, ``sampler``, ``pos_weight`` and (with a mask head)
            ``mask_size``; None for a model that only predicts.
        test_cfg: ``score_thr``, ``nms``, ``max_per_img`` and ``mask_thr_binary``.
        init_cfg: Initialisation config.
    """

    def init_bbox_head(self, bbox_roi_extractor: Any, bbox_head: Any) -> None:
        if bbox_roi_extractor is None:
            raise ConfigError(
                f"{type(self).__name__}: a bbox_head needs a bbox_roi_extractor (e.g. "
                "SingleRoIExtractor)."
            )
        self.bbox_roi_extractor = build_if_dict(bbox_roi_extractor, MODELS, "bbox_roi_extractor")
        self.bbox_head = build_if_dict(bbox_head, MODELS, "bbox_head")

    def init_mask_head(self, mask_roi_extractor: Any, mask_head: Any) -> None:
        if mask_roi_extractor is not None:
            self.mask_roi_extractor = build_if_dict(
                mask_roi_extractor, MODELS, "mask_roi_extractor"
            )
            self.share_roi_extractor = False
        else:
            if getattr(self, "bbox_roi_extractor", None) is None:
                raise ConfigError(
                    f"{type(self).__name__}: mask_head without a mask_roi_extractor shares "
                    "the bbox_roi_extractor, but there is none."
                )
            self.share_roi_extractor = True
            self.mask_roi_extractor = self.bbox_roi_extractor
        self.mask_head = build_if_dict(mask_head, MODELS, "mask_head")

    def init_assigner_sampler(self) -> None:
        self.bbox_assigner = None
        self.bbox_sampler = None
        if self.train_cfg:
            owner = type(self).__name__
            self.bbox_assigner = build_if_dict(
                cfg_value(self.train_cfg, "assigner", owner, "train_cfg"),
                TASK_UTILS,
                "train_cfg.assigner",
            )
            self.bbox_sampler = _build_sampler(
                cfg_value(self.train_cfg, "sampler", owner, "train_cfg"), self
            )

    # -- forward pieces --------------------------------------------------------------------

    def _bbox_forward(self, x: Sequence[torch.Tensor], rois: torch.Tensor) -> dict[str, Any]:
        """Pooled box features and the box head's outputs.

        Returns:
            ``dict(cls_score, bbox_pred, bbox_feats)``.

        Shapes:
            rois (K, 5) -> cls_score (K, C+1), bbox_pred (K, 4C), bbox_feats (K, C_f, 7, 7).
        """
        bbox_feats = self.bbox_roi_extractor(x[: self.bbox_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            bbox_feats = self.shared_head(bbox_feats)
        cls_score, bbox_pred = self.bbox_head(bbox_feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)

    def _mask_forward(
        self,
        x: Sequence[torch.Tensor],
        rois: torch.Tensor | None = None,
        pos_inds: torch.Tensor | None = None,
        bbox_feats: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Mask logits from RoIs, or from the box features of the positives (``pos_inds``).

        Returns:
            ``dict(mask_preds, mask_feats)``.

        Raises:
            ValueError: Neither, or both, of ``rois`` and (``pos_inds``, ``bbox_feats``).
        """
        from_feats = pos_inds is not None and bbox_feats is not None
        if (rois is not None) == from_feats:
            raise ValueError(
                "StandardRoIHead._mask_forward takes either rois or both pos_inds and bbox_feats."
            )
        if rois is not None:
            mask_feats = self.mask_roi_extractor(x[: self.mask_roi_extractor.num_inputs], rois)
            if self.with_shared_head:
                mask_feats = self.shared_head(mask_feats)
        else:
            mask_feats = bbox_feats[pos_inds]  # type: ignore[index]
        return dict(mask_preds=self.mask_head(mask_feats), mask_feats=mask_feats)

    def forward(
        self,
        x: Sequence[torch.Tensor],
        rpn_results_list: Sequence[InstanceData],
        batch_data_samples: Sequence[Any] | None = None,
    ) -> tuple[torch.Tensor, ...]:
        """Raw head outputs on the proposals (tensor mode): box scores and deltas, and the
        mask logits of the first 100 RoIs.

        Shapes:
            -> cls_score (K, C+1), bbox_pred (K, 4C)[, mask_preds (min(K, 100), C, 28, 28)].
        """
        rois = bbox2roi([res.bboxes for res in rpn_results_list])
        results: tuple[torch.Tensor, ...] = ()
        if self.with_bbox:
            bbox_results = self._bbox_forward(x, rois)
            results += (bbox_results["cls_score"], bbox_results["bbox_pred"])
        if self.with_mask:
            mask_results = self._mask_forward(x, rois[:FORWARD_MASK_ROIS])
            results += (mask_results["mask_preds"],)
        return results

    # -- training --------------------------------------------------------------------------

    def loss(
        self,
        x: Sequence[torch.Tensor],
        rpn_results_list: Sequence[InstanceData],
        batch_data_samples: Sequence[Any],
    ) -> dict[str, Any]:
        """``loss_cls``, ``acc``, ``loss_bbox`` (and ``loss_mask``) on the sampled proposals.

        Per image the proposals (as priors) are assigned to the ground truths and sampled;
        the ground truths are passed to the sampler, which may add them as proposals. The
        proposals given are not changed.

        Args:
            x: Multi-level features.
            rpn_results_list: Per image, ``InstanceData`` with the proposals' ``bboxes``.
            batch_data_samples: Per image, ``gt_instances`` (``bboxes``, ``labels``, and
                ``masks`` with a mask head) and optional ``ignored_instances``.

        Raises:
            ConfigError: No ``train_cfg`` (no assigner and sampler).
            ValueError: One proposal list per image is needed.
        """
        owner = type(self).__name__
        if self.bbox_assigner is None or self.bbox_sampler is None:
            raise ConfigError(
                f"{owner}.loss needs train_cfg (model.train_cfg.rcnn) with an assigner and a "
                "sampler."
            )
        if len(rpn_results_list) != len(batch_data_samples):
            raise ValueError(
                f"{owner}.loss: {len(rpn_results_list)} proposal lists for "
                f"{len(batch_data_samples)} images."
            )
        batch_gt_instances, batch_gt_ignore, _ = unpack_gt_instances(batch_data_samples)
        sampling_results = []
        for i, rpn_results in enumerate(rpn_results_list):
            # The assigner and the sampler read the proposals as priors.
            fields = {k: v for k, v in rpn_results.items() if k != "bboxes"}
            priors = InstanceData(priors=rpn_results.bboxes, **fields)
            assign_result = self.bbox_assigner.assign(
                priors, batch_gt_instances[i], batch_gt_ignore[i]
            )
            sampling_results.append(
                self.bbox_sampler.sample(
                    assign_result,
                    priors,
                    batch_gt_instances[i],
                    feats=[level[i][None] for level in x],
                )
            )
        losses: dict[str, Any] = {}
        bbox_results: dict[str, Any] = {}
        if self.with_bbox:
            bbox_results = self.bbox_loss(x, sampling_results)
            losses.update(bbox_results["loss_bbox"])
        if self.with_mask:
            mask_results = self.mask_loss(
                x, sampling_results, bbox_results.get("bbox_feats"), batch_gt_instances
            )
            losses.update(mask_results["loss_mask"])
        return losses

    def bbox_loss(
        self, x: Sequence[torch.Tensor], sampling_results: Sequence[Any]
    ) -> dict[str, Any]:
        """Box head forward on every sampled RoI, and its losses.

        Returns:
            ``dict(cls_score, bbox_pred, bbox_feats, loss_bbox=<dict of losses>)``.
        """
        rois = bbox2roi([res.priors for res in sampling_results])
        bbox_results = self._bbox_forward(x, rois)
        targets = self.bbox_head.loss_and_target(
            cls_score=bbox_results["cls_score"],
            bbox_pred=bbox_results["bbox_pred"],
            rois=rois,
            sampling_results=sampling_results,
            rcnn_train_cfg=self.train_cfg,
        )
        bbox_results.update(loss_bbox=targets["loss_bbox"])
        return bbox_results

    def mask_loss(
        self,
        x: Sequence[torch.Tensor],
        sampling_results: Sequence[Any],
        bbox_feats: torch.Tensor | None,
        batch_gt_instances: Sequence[Any],
    ) -> dict[str, Any]:
        """Mask head forward on the positive RoIs, and its loss.

        Returns:
            ``dict(mask_preds, mask_feats, loss_mask=<dict of losses>)``.
        """
        if not self.share_roi_extractor:
            pos_rois = bbox2roi([res.pos_priors for res in sampling_results])
            mask_results = self._mask_forward(x, pos_rois)
        else:
            if bbox_feats is None:
                raise ValueError(
                    "StandardRoIHead.mask_loss: a shared RoI extractor needs the box features."
                )
            flags = []
            for res in sampling_results:
                flags.append(bbox_feats.new_ones(res.pos_priors.shape[0], dtype=torch.bool))
                flags.append(bbox_feats.new_zeros(res.neg_priors.shape[0], dtype=torch.bool))
            mask_results = self._mask_forward(x, pos_inds=torch.cat(flags), bbox_feats=bbox_feats)
        targets = self.mask_head.loss_and_target(
            mask_preds=mask_results["mask_preds"],
            sampling_results=sampling_results,
            batch_gt_instances=batch_gt_instances,
            rcnn_train_cfg=self.train_cfg,
        )
        mask_results.update(loss_mask=targets["loss_mask"])
        return mask_results

    # -- inference -------------------------------------------------------------------------

    def predict_bbox(
        self,
        x: Sequence[torch.Tensor],
        batch_img_metas: Sequence[Mapping[str, Any]],
        rpn_results_list: Sequence[InstanceData],
        rcnn_test_cfg: Mapping[str, Any] | None,
        rescale: bool = False,
    ) -> list[InstanceData]:
        """Detections of every image: box head on all proposals, then per-class NMS.

        Returns:
            Per image, ``InstanceData(bboxes, scores, labels)``.
        """
        proposals = [res.bboxes for res in rpn_results_list]
        rois = bbox2roi(proposals)
        if rois.shape[0] == 0:
            return [
                empty_bbox_results(
                    rois.device, self.bbox_head.num_classes, score_per_cls=rcnn_test_cfg is None
                )
                for _ in batch_img_metas
            ]
        bbox_results = self._bbox_forward(x, rois)
        counts = tuple(len(p) for p in proposals)
        rois_per_img = rois.split(counts, 0)
        cls_scores = bbox_results["cls_score"].split(counts, 0)
        bbox_preds = bbox_results["bbox_pred"]
        if bbox_preds is None:
            bbox_preds = (None,) * len(proposals)
        elif isinstance(bbox_preds, torch.Tensor):
            bbox_preds = bbox_preds.split(counts, 0)
        else:
            bbox_preds = self.bbox_head.bbox_pred_split(bbox_preds, counts)
        return self.bbox_head.predict_by_feat(
            rois=rois_per_img,
            cls_scores=cls_scores,
            bbox_preds=bbox_preds,
            batch_img_metas=batch_img_metas,
            rcnn_test_cfg=rcnn_test_cfg,
            rescale=rescale,
        )

    def predict_mask(
        self,
        x: Sequence[torch.Tensor],
        batch_img_metas: Sequence[Mapping[str, Any]],
        results_list: list[InstanceData],
        rescale: bool = False,
    ) -> list[InstanceData]:
        """Add ``masks`` to every image's detections (see ``FCNMaskHead.predict_by_feat``).

        Returns:
            Per image, ``InstanceData(bboxes, scores, labels, masks)``.
        """
        owner = type(self).__name__
        if self.test_cfg is None:
            raise ConfigError(f"{owner}: predicting masks needs test_cfg with mask_thr_binary.")
        threshold = cfg_value(self.test_cfg, "mask_thr_binary", owner, "test_cfg")
        mask_rois = bbox2roi([res.bboxes for res in results_list])
        if mask_rois.shape[0] == 0:
            return [
                empty_mask_results(res, meta, threshold)
                for res, meta in zip(results_list, batch_img_metas)
            ]
        mask_preds = self._mask_forward(x, mask_rois)["mask_preds"]
        mask_preds = mask_preds.split([len(res) for res in results_list], 0)
        return self.mask_head.predict_by_feat(
            mask_preds=mask_preds,
            results_list=results_list,
            batch_img_metas=batch_img_metas,
            rcnn_test_cfg=self.test_cfg,
            rescale=rescale,
        )
