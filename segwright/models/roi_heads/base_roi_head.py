"""``BaseRoIHead``: the parts and the predict flow every R-CNN RoI head shares (MMDet 3.3)."""

from __future__ import annotations

import copy
from abc import ABCMeta, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from segwright.models.utils import BaseModule
from segwright.registry import MODELS, build_if_dict, default_scope
from segwright.structures import InstanceData
from segwright.utils.errors import ConfigError


class BaseRoIHead(BaseModule, metaclass=ABCMeta):
    """Box head (with its RoI extractor), optional mask head and shared head.

    Parts are built in the ``mmdet`` scope, so ``CrossEntropyLoss`` inside them is
    MMDetection's whatever the config's ``default_scope``.

    Args:
        bbox_roi_extractor: RoI extractor of the box head, or its config.
        bbox_head: Box head or its config.
        mask_roi_extractor: RoI extractor of the mask head; None shares the box one.
        mask_head: Mask head or its config; None for box-only detectors.
        shared_head: A module run on the pooled features before both heads, or None.
        train_cfg: ``assigner``, ``sampler``, ``pos_weight``, ``mask_size`` (R-CNN stage).
        test_cfg: ``score_thr``, ``nms``, ``max_per_img``, ``mask_thr_binary``.
        init_cfg: Initialisation config.
    """

    def __init__(
        self,
        bbox_roi_extractor: Any = None,
        bbox_head: Any = None,
        mask_roi_extractor: Any = None,
        mask_head: Any = None,
        shared_head: Any = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, cfg in (("train_cfg", train_cfg), ("test_cfg", test_cfg)):
            if cfg is not None and not isinstance(cfg, Mapping):
                raise ConfigError(
                    f"{type(self).__name__}: {name} must be a dict or None, got "
                    f"{type(cfg).__name__}."
                )
        self.train_cfg = copy.deepcopy(dict(train_cfg)) if train_cfg else None
        self.test_cfg = copy.deepcopy(dict(test_cfg)) if test_cfg else None
        with default_scope("mmdet"):
            if shared_head is not None:
                self.shared_head = build_if_dict(shared_head, MODELS, "shared_head")
            if bbox_head is not None:
                self.init_bbox_head(bbox_roi_extractor, bbox_head)
            if mask_head is not None:
                self.init_mask_head(mask_roi_extractor, mask_head)
            self.init_assigner_sampler()

    @property
    def with_bbox(self) -> bool:
        """Whether there is a box head."""
        return getattr(self, "bbox_head", None) is not None

    @property
    def with_mask(self) -> bool:
        """Whether there is a mask head."""
        return getattr(self, "mask_head", None) is not None

    @property
    def with_shared_head(self) -> bool:
        """Whether there is a shared head."""
        return getattr(self, "shared_head", None) is not None

    @abstractmethod
    def init_bbox_head(self, bbox_roi_extractor: Any, bbox_head: Any) -> None:
        """Build ``bbox_roi_extractor`` and ``bbox_head``."""

    @abstractmethod
    def init_mask_head(self, mask_roi_extractor: Any, mask_head: Any) -> None:
        """Build ``mask_roi_extractor`` (or share the box one) and ``mask_head``."""

    @abstractmethod
    def init_assigner_sampler(self) -> None:
        """Build the assigner and the sampler from ``train_cfg``."""

    @abstractmethod
    def loss(
        self,
        x: Sequence[torch.Tensor],
        rpn_results_list: Sequence[InstanceData],
        batch_data_samples: Sequence[Any],
    ) -> dict[str, Any]:
        """Losses of the heads on the proposals."""

    @abstractmethod
    def predict_bbox(
        self,
        x: Sequence[torch.Tensor],
        batch_img_metas: Sequence[Mapping[str, Any]],
        rpn_results_list: Sequence[InstanceData],
        rcnn_test_cfg: Mapping[str, Any] | None,
        rescale: bool = False,
    ) -> list[InstanceData]:
        """Detections (boxes, scores, labels) of every image."""

    @abstractmethod
    def predict_mask(
        self,
        x: Sequence[torch.Tensor],
        batch_img_metas: Sequence[Mapping[str, Any]],
        results_list: list[InstanceData],
        rescale: bool = False,
    ) -> list[InstanceData]:
        """The detections with their masks."""

    def predict(
        self,
        x: Sequence[torch.Tensor],
        rpn_results_list: Sequence[InstanceData],
        batch_data_samples: Sequence[Any],
        rescale: bool = False,
    ) -> list[InstanceData]:
        """Detections of every image from its proposals.

        With a mask head the boxes stay in the network input's coordinates until the mask
        head has pasted the masks, which then rescales boxes and masks together.

        Args:
            x: Multi-level features.
            rpn_results_list: Per image, ``InstanceData`` with the proposals' ``bboxes``.
            batch_data_samples: Per image, metainfo with ``img_shape``, ``ori_shape`` and
                ``scale_factor``.
            rescale: Return boxes and masks in the original image's coordinates.

        Returns:
            Per image, ``InstanceData(bboxes, scores, labels[, masks])``.

        Raises:
            ConfigError: No box head.
        """
        if not self.with_bbox:
            raise ConfigError(f"{type(self).__name__} needs a bbox_head to predict.")
        batch_img_metas = [sample.metainfo for sample in batch_data_samples]
        results = self.predict_bbox(
            x,
            batch_img_metas,
            rpn_results_list,
            rcnn_test_cfg=self.test_cfg,
            rescale=rescale if not self.with_mask else False,
        )
        if self.with_mask:
            results = self.predict_mask(x, batch_img_metas, results, rescale=rescale)
        return results
