"""Two-stage detectors (MMDetection 3.3): ``TwoStageDetector``, ``FasterRCNN``, ``MaskRCNN``.

The RPN proposes boxes from the neck's features; the RoI head classifies and refines them
(and predicts masks). Parameter names (``backbone.``, ``neck.``, ``rpn_head.``,
``roi_head.``) are MMDetection's, so its checkpoints load as they are.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.models.detectors.base import BaseDetector
from segwright.registry import MODELS, build_if_dict, default_scope
from segwright.structures import DetDataSample
from segwright.utils.errors import ConfigError


def _stage_cfg(cfg: Mapping[str, Any] | None, stage: str) -> Any:
    if cfg is None:
        return None
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"model.train_cfg/test_cfg must be dicts, got {type(cfg).__name__}.")
    return copy.deepcopy(cfg.get(stage))


@MODELS.register_module()
class TwoStageDetector(BaseDetector):
    """Backbone, optional neck, region proposal head and RoI head.

    Args:
        backbone: Module or config dict (e.g. ``ResNet``).
        neck: Module or config dict (e.g. ``FPN``), or None.
        rpn_head: Module or config dict (``RPNHead``); its ``train_cfg``/``test_cfg`` come from
            this detector's ``train_cfg.rpn`` and ``test_cfg.rpn``, and ``num_classes`` is 1.
        roi_head: Module or config dict (``StandardRoIHead``); gets ``train_cfg.rcnn`` and
            ``test_cfg.rcnn``.
        train_cfg: ``dict(rpn=..., rpn_proposal=..., rcnn=...)``.
        test_cfg: ``dict(rpn=..., rcnn=...)``.
        data_preprocessor: Module or config dict (``DetDataPreprocessor``).
        init_cfg: Initialisation config.
    """

    def __init__(
        self,
        backbone: nn.Module | Mapping[str, Any],
        neck: nn.Module | Mapping[str, Any] | None = None,
        rpn_head: nn.Module | Mapping[str, Any] | None = None,
        roi_head: nn.Module | Mapping[str, Any] | None = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        data_preprocessor: Any = None,
        init_cfg: Any = None,
    ) -> None:
        # MMDetection's parts build their parts in its scope, whatever the config's
        # default_scope (as MMEngine's mmdet registry does): CrossEntropyLoss is MMDet's here.
        with default_scope("mmdet"):
            super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
            self._build_parts(backbone, neck, rpn_head, roi_head, train_cfg, test_cfg)
        self.train_cfg = copy.deepcopy(dict(train_cfg)) if train_cfg else None
        self.test_cfg = copy.deepcopy(dict(test_cfg)) if test_cfg else None

    def _build_parts(
        self,
        backbone: Any,
        neck: Any,
        rpn_head: Any,
        roi_head: Any,
        train_cfg: Mapping[str, Any] | None,
        test_cfg: Mapping[str, Any] | None,
    ) -> None:
        self.backbone = build_if_dict(backbone, MODELS, key="backbone")
        self.neck = build_if_dict(neck, MODELS, key="neck")
        self.rpn_head = None
        if rpn_head is not None:
            if isinstance(rpn_head, Mapping):
                rpn_head = dict(rpn_head)
                num_classes = rpn_head.get("num_classes")
                if num_classes not in (None, 1):
                    warnings.warn(
                        f"model.rpn_head.num_classes={num_classes}: the RPN tells objects from "
                        "background only, so num_classes is set to 1 (as MMDetection does).",
                        UserWarning,
                        stacklevel=2,
                    )
                rpn_head.update(
                    num_classes=1,
                    train_cfg=_stage_cfg(train_cfg, "rpn"),
                    test_cfg=_stage_cfg(test_cfg, "rpn"),
                )
            self.rpn_head = build_if_dict(rpn_head, MODELS, key="rpn_head")
        self.roi_head = None
        if roi_head is not None:
            if isinstance(roi_head, Mapping):
                roi_head = dict(roi_head)
                roi_head.update(
                    train_cfg=_stage_cfg(train_cfg, "rcnn"), test_cfg=_stage_cfg(test_cfg, "rcnn")
                )
            self.roi_head = build_if_dict(roi_head, MODELS, key="roi_head")

    @property
    def with_rpn(self) -> bool:
        return self.rpn_head is not None

    @property
    def with_roi_head(self) -> bool:
        return self.roi_head is not None

    @property
    def num_classes(self) -> int | None:
        """The RoI head's ``num_classes`` (what the dataset's classes are checked against)."""
        bbox_head = getattr(self.roi_head, "bbox_head", None)
        return getattr(bbox_head, "num_classes", None)

    def extract_feat(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Backbone (and neck) features.

        Shapes:
            inputs ``(N, C, H, W)`` -> one ``(N, C_l, H_l, W_l)`` map per level.
        """
        feats = self.backbone(inputs)
        if self.with_neck:
            feats = self.neck(feats)
        return tuple(feats)

    def _proposal_cfg(self) -> Any:
        if self.train_cfg is not None and "rpn_proposal" in self.train_cfg:
            return self.train_cfg["rpn_proposal"]
        return _stage_cfg(self.test_cfg, "rpn")

    def loss(self, inputs: torch.Tensor, data_samples: Sequence[DetDataSample]) -> dict[str, Any]:
        """RPN and RoI head losses; RPN losses are prefixed ``loss_rpn_*`` as in MMDetection."""
        feats = self.extract_feat(inputs)
        losses: dict[str, Any] = {}
        if self.with_rpn:
            rpn_samples = copy.deepcopy(list(data_samples))
            for sample in rpn_samples:  # the RPN learns "object or not": every gt is class 0
                sample.gt_instances.labels = torch.zeros_like(sample.gt_instances.labels)
            rpn_losses, proposals = self.rpn_head.loss_and_predict(
                feats, rpn_samples, proposal_cfg=self._proposal_cfg()
            )
            for key in list(rpn_losses):
                if "loss" in key and "rpn" not in key:
                    rpn_losses[f"rpn_{key}"] = rpn_losses.pop(key)
            losses.update(rpn_losses)
        else:
            proposals = [sample.proposals for sample in data_samples]
        losses.update(self.roi_head.loss(feats, proposals, data_samples))
        return losses

    def predict(
        self, inputs: torch.Tensor, data_samples: Sequence[DetDataSample], rescale: bool = True
    ) -> list[DetDataSample]:
        """Detections per image, in the original image's coordinates when ``rescale``."""
        if not self.with_roi_head:
            raise ConfigError("A two-stage detector needs model.roi_head to predict.")
        feats = self.extract_feat(inputs)
        if data_samples[0].get("proposals") is None:
            proposals = self.rpn_head.predict(feats, data_samples, rescale=False)
        else:
            proposals = [sample.proposals for sample in data_samples]
        results = self.roi_head.predict(feats, proposals, data_samples, rescale=rescale)
        return self.add_pred_to_datasample(data_samples, results)

    def _forward(
        self, inputs: torch.Tensor, data_samples: Sequence[DetDataSample] | None = None
    ) -> tuple[Any, ...]:
        """The RoI head's raw outputs on the RPN's proposals (``mode='tensor'``), in a tuple."""
        feats = self.extract_feat(inputs)
        if self.with_rpn:
            proposals = self.rpn_head.predict(feats, data_samples, rescale=False)
        else:
            proposals = [sample.proposals for sample in data_samples or []]
        return (self.roi_head.forward(feats, proposals, data_samples),)


@MODELS.register_module()
class FasterRCNN(TwoStageDetector):
    """Faster R-CNN (Ren et al., 2015): boxes and classes from RPN proposals."""


@MODELS.register_module()
class MaskRCNN(TwoStageDetector):
    """Mask R-CNN (He et al., 2017): Faster R-CNN with a mask branch in the RoI head."""
