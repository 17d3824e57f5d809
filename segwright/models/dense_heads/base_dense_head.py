"""``BaseDenseHead``: the train/test flow of dense (per-location) detection heads (MMDet 3.3).

``loss``: forward -> ``loss_by_feat``. ``predict``: forward -> ``predict_by_feat`` (one
``_predict_by_feat_single`` per image). ``loss_and_predict`` does both from one forward, which
is how a two-stage detector gets its RPN losses and proposals.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from segwright.models.dense_heads.utils import unpack_gt_instances
from segwright.models.utils import BaseModule
from segwright.models.utils.weight_init import constant_init
from segwright.structures import InstanceData


class BaseDenseHead(BaseModule, metaclass=ABCMeta):
    """Base class of dense heads: subclasses give ``forward``, ``loss_by_feat`` and
    ``_predict_by_feat_single`` and own a ``prior_generator``.

    Args:
        init_cfg: Initialisation config.
    """

    def __init__(self, init_cfg: Any = None) -> None:
        super().__init__(init_cfg=init_cfg)

    def init_weights(self) -> None:
        """``init_cfg``, then zeros for deformable convs' offset branches (``conv_offset``)."""
        super().init_weights()
        for module in self.modules():
            offset = getattr(module, "conv_offset", None)
            if isinstance(offset, torch.nn.Module):
                constant_init(offset, 0)

    @abstractmethod
    def loss_by_feat(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Losses from the head's raw outputs and the ground truth."""

    @abstractmethod
    def _predict_by_feat_single(self, *args: Any, **kwargs: Any) -> InstanceData:
        """One image's detections from its raw outputs."""

    def loss(self, x: Sequence[torch.Tensor], batch_data_samples: Sequence[Any]) -> dict[str, Any]:
        """Losses of the head on multi-level features.

        Args:
            x: One feature map per level.
            batch_data_samples: Per image, ``gt_instances`` (``bboxes``, ``labels``), optional
                ``ignored_instances`` and metainfo (``img_shape``, ``pad_shape``).

        Shapes:
            x: one (B, C, H_l, W_l) per level.
        """
        outs = self(x)
        gt_instances, ignored, metas = unpack_gt_instances(batch_data_samples)
        return self.loss_by_feat(*outs, gt_instances, metas, ignored)

    def loss_and_predict(
        self,
        x: Sequence[torch.Tensor],
        batch_data_samples: Sequence[Any],
        proposal_cfg: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], list[InstanceData]]:
        """Losses and detections (e.g. RPN proposals) from one forward.

        Args:
            x: One feature map per level.
            batch_data_samples: As for :meth:`loss`.
            proposal_cfg: Post-processing config of the detections; None uses ``test_cfg``.

        Returns:
            ``(losses, results)``; results are in the network input's coordinates.
        """
        gt_instances, ignored, metas = unpack_gt_instances(batch_data_samples)
        outs = self(x)
        losses = self.loss_by_feat(*outs, gt_instances, metas, ignored)
        predictions = self.predict_by_feat(*outs, batch_img_metas=metas, cfg=proposal_cfg)
        return losses, predictions

    def predict(
        self,
        x: Sequence[torch.Tensor],
        batch_data_samples: Sequence[Any],
        rescale: bool = False,
    ) -> list[InstanceData]:
        """Detections per image (``bboxes``, ``scores``, ``labels``).

        Args:
            x: One feature map per level.
            batch_data_samples: Per image, metainfo with ``img_shape`` (and ``scale_factor``
                when ``rescale``).
            rescale: Map boxes back to the original image by dividing by ``scale_factor``.
        """
        metas = [sample.metainfo for sample in batch_data_samples]
        outs = self(x)
        return self.predict_by_feat(*outs, batch_img_metas=metas, rescale=rescale)

    def predict_by_feat(
        self,
        cls_scores: Sequence[torch.Tensor],
        bbox_preds: Sequence[torch.Tensor],
        score_factors: Sequence[torch.Tensor] | None = None,
        batch_img_metas: Sequence[Mapping[str, Any]] | None = None,
        cfg: Mapping[str, Any] | None = None,
        rescale: bool = False,
        with_nms: bool = True,
    ) -> list[InstanceData]:
        """Detections per image from the raw outputs of every level (gradients detached).

        Args:
            cls_scores: Per level, class logits.
            bbox_preds: Per level, box deltas.
            score_factors: Per level, score factors (e.g. centerness), or None.
            batch_img_metas: Per image, metainfo.
            cfg: Post-processing config; None uses ``test_cfg``.
            rescale: Map boxes back to the original image.
            with_nms: Run NMS.

        Shapes:
            cls_scores: one (B, A * C, H_l, W_l) per level; bbox_preds: one (B, A * 4, H_l, W_l).
        """
        if len(cls_scores) != len(bbox_preds):
            raise ValueError(
                f"{type(self).__name__}.predict_by_feat: {len(cls_scores)} levels of scores but "
                f"{len(bbox_preds)} of box predictions."
            )
        if score_factors is not None and len(score_factors) != len(cls_scores):
            raise ValueError(
                f"{type(self).__name__}.predict_by_feat: {len(score_factors)} levels of score "
                f"factors for {len(cls_scores)} levels of scores."
            )
        if batch_img_metas is None:
            raise ValueError(f"{type(self).__name__}.predict_by_feat needs batch_img_metas.")
        featmap_sizes = [tuple(score.shape[-2:]) for score in cls_scores]
        mlvl_priors = self.prior_generator.grid_priors(
            featmap_sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device
        )
        results = []
        for img_id, img_meta in enumerate(batch_img_metas):
            results.append(
                self._predict_by_feat_single(
                    cls_score_list=[score[img_id].detach() for score in cls_scores],
                    bbox_pred_list=[pred[img_id].detach() for pred in bbox_preds],
                    score_factor_list=(
                        [None] * len(cls_scores)
                        if score_factors is None
                        else [factor[img_id].detach() for factor in score_factors]
                    ),
                    mlvl_priors=mlvl_priors,
                    img_meta=img_meta,
                    cfg=cfg,
                    rescale=rescale,
                    with_nms=with_nms,
                )
            )
        return results
