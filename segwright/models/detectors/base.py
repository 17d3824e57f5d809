"""``BaseDetector``: MMDetection's forward modes ('loss', 'predict', 'tensor') for detectors."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

from segwright.engine.model import BaseModel
from segwright.models.utils import BaseModule
from segwright.structures import DetDataSample, InstanceData
from segwright.utils.errors import ConfigError

MODES = ("loss", "predict", "tensor")


class BaseDetector(BaseModel, BaseModule):
    """Base class of detectors.

    ``forward(inputs, data_samples, mode)``: ``'loss'`` -> dict of losses, ``'predict'`` ->
    data samples with ``pred_instances`` (``bboxes``, ``scores``, ``labels``, and ``masks``
    for instance segmentation), ``'tensor'`` -> the heads' raw outputs.

    Args:
        data_preprocessor: Module or config dict (e.g. ``DetDataPreprocessor``).
        init_cfg: Initialisation config.
    """

    def __init__(self, data_preprocessor: Any = None, init_cfg: Any = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.init_cfg = copy.deepcopy(init_cfg)

    @property
    def with_neck(self) -> bool:
        return getattr(self, "neck", None) is not None

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Sequence[DetDataSample] | None = None,
        mode: str = "tensor",
    ) -> Any:
        if mode == "loss":
            if data_samples is None:
                raise ConfigError("Training a detector needs data_samples with gt_instances.")
            return self.loss(inputs, data_samples)
        if mode == "predict":
            if data_samples is None:
                raise ConfigError("Detector predictions need data_samples with image metainfo.")
            return self.predict(inputs, data_samples)
        if mode == "tensor":
            return self._forward(inputs, data_samples)
        raise ConfigError(f"Invalid forward mode {mode!r}; use one of {MODES}.")

    def extract_feat(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def loss(self, inputs: torch.Tensor, data_samples: Sequence[DetDataSample]) -> dict[str, Any]:
        raise NotImplementedError

    def predict(
        self, inputs: torch.Tensor, data_samples: Sequence[DetDataSample], rescale: bool = True
    ) -> list[DetDataSample]:
        raise NotImplementedError

    def _forward(
        self, inputs: torch.Tensor, data_samples: Sequence[DetDataSample] | None = None
    ) -> Any:
        raise NotImplementedError

    @staticmethod
    def add_pred_to_datasample(
        data_samples: Sequence[DetDataSample], results: Sequence[InstanceData]
    ) -> list[DetDataSample]:
        """Store each image's detections as its sample's ``pred_instances``."""
        for sample, result in zip(data_samples, results):
            sample.pred_instances = result
        return list(data_samples)
