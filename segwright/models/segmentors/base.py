"""``BaseSegmentor``: the three forward modes and turning logits into predictions (SPEC §9.1)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from segwright.engine.model import BaseModel
from segwright.models.layers import resize
from segwright.models.utils import BaseModule
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError

MODES = ("loss", "predict", "tensor")


def add_prefix(inputs: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """``{'loss_ce': v}`` -> ``{'decode.loss_ce': v}``."""
    return {f"{prefix}.{name}": value for name, value in inputs.items()}


class BaseSegmentor(BaseModel, BaseModule):
    """Base class of segmentors.

    ``forward(inputs, data_samples, mode)``: ``'loss'`` -> dict of losses, ``'predict'`` ->
    data samples with ``seg_logits`` and ``pred_sem_seg``, ``'tensor'`` -> raw head logits.

    Args:
        data_preprocessor: Module or config dict (default :class:`BaseDataPreprocessor`).
        init_cfg: Initialisation config.
    """

    align_corners: bool = False

    def __init__(self, data_preprocessor: Any = None, init_cfg: Any = None) -> None:
        # BaseModel.__init__ reaches BaseModule.__init__ through the MRO (with init_cfg=None).
        super().__init__(data_preprocessor=data_preprocessor)
        self.init_cfg = copy.deepcopy(init_cfg)

    @property
    def with_neck(self) -> bool:
        return getattr(self, "neck", None) is not None

    @property
    def with_auxiliary_head(self) -> bool:
        return getattr(self, "auxiliary_head", None) is not None

    @property
    def with_decode_head(self) -> bool:
        return getattr(self, "decode_head", None) is not None

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Sequence[SegDataSample] | None = None,
        mode: str = "tensor",
    ) -> Any:
        if mode == "loss":
            return self.loss(inputs, data_samples)  # type: ignore[arg-type]
        if mode == "predict":
            return self.predict(inputs, data_samples)
        if mode == "tensor":
            return self._forward(inputs, data_samples)
        raise ConfigError(f"Invalid forward mode {mode!r}; use one of {MODES}.")

    def extract_feat(self, inputs: torch.Tensor) -> Any:
        raise NotImplementedError

    def encode_decode(
        self, inputs: torch.Tensor, batch_img_metas: Sequence[Mapping[str, Any]]
    ) -> torch.Tensor:
        raise NotImplementedError

    def loss(
        self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def predict(
        self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample] | None = None
    ) -> list[SegDataSample]:
        raise NotImplementedError

    def _forward(
        self, inputs: torch.Tensor, data_samples: Sequence[SegDataSample] | None = None
    ) -> Any:
        raise NotImplementedError

    def postprocess_result(
        self,
        seg_logits: torch.Tensor,
        data_samples: Sequence[SegDataSample] | None = None,
    ) -> list[SegDataSample]:
        """Store per-image logits and predictions in data samples.

        For each image: crop the preprocessor's padding (``padding_size`` = left, right, top,
        bottom), undo a flip, resize bilinearly to ``ori_shape``, then argmax over classes, or
        ``sigmoid > threshold`` when there is one output channel (``seg_logits`` then holds the
        sigmoid). Without data samples, logits are used as they are.

        Shapes:
            seg_logits: ``(N, C, H, W)``; each sample gets ``seg_logits`` ``(C, h, w)`` and
            ``pred_sem_seg`` ``(1, h, w)`` long.
        """
        batch_size, channels, height, width = seg_logits.shape
        only_prediction = data_samples is None
        samples = (
            [SegDataSample() for _ in range(batch_size)]
            if data_samples is None
            else list(data_samples)
        )
        for i in range(batch_size):
            if only_prediction:
                logits = seg_logits[i]
            else:
                meta = samples[i].metainfo
                padding = meta.get("img_padding_size", meta.get("padding_size")) or (0, 0, 0, 0)
                left, right, top, bottom = (int(p) for p in padding)
                logits = seg_logits[i : i + 1, :, top : height - bottom, left : width - right]
                if meta.get("flip"):
                    direction = meta.get("flip_direction")
                    if direction == "horizontal":
                        logits = logits.flip(dims=(3,))
                    elif direction == "vertical":
                        logits = logits.flip(dims=(2,))
                    else:
                        raise ConfigError(
                            f"flip_direction must be 'horizontal' or 'vertical' for prediction, "
                            f"got {direction!r}."
                        )
                size = tuple(int(s) for s in meta.get("ori_shape", logits.shape[2:])[:2])
                if tuple(logits.shape[2:]) != size:  # same size: bilinear is the identity
                    logits = resize(
                        logits,
                        size=size,
                        mode="bilinear",
                        align_corners=self.align_corners,
                        warning=False,
                    )
                logits = logits.squeeze(0)
            if channels > 1:
                # max().indices: the same first-maximum index as argmax, several times
                # faster on CPU (argmax over a strided dim is not vectorised)
                pred = logits.max(dim=0, keepdim=True).indices
            else:
                logits = logits.sigmoid()
                pred = (logits > self.decode_head_threshold()).long()
            samples[i].seg_logits = PixelData(logits)
            samples[i].pred_sem_seg = PixelData(pred)
        return samples

    def decode_head_threshold(self) -> float:
        """The binary threshold of the (last) decode head."""
        head = getattr(self, "decode_head", None)
        if isinstance(head, torch.nn.ModuleList):
            head = head[-1]
        threshold = getattr(head, "threshold", None)
        return 0.3 if threshold is None else float(threshold)
