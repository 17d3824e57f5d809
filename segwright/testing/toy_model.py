"""A two-layer fully convolutional segmenter with MMSeg's loss names, for fast tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.engine.model import BaseModel
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample


@MODELS.register_module(internal=True)  # a test helper: not offered in errors
class ToySegModel(BaseModel):
    """``conv3x3 -> BN -> ReLU -> conv1x1`` at full resolution.

    Args:
        in_channels: Image channels.
        channels: Hidden channels (a few keep tests fast).
        num_classes: Output classes.
        ignore_index: Label ignored by the loss.
        dropout: Dropout2d before the classifier (exercises random state in tests).
        norm: BatchNorm after the first conv (off: batch statistics don't depend on batching).
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: int = 4,
        num_classes: int = 2,
        ignore_index: int = 255,
        dropout: float = 0.0,
        norm: bool = True,
        data_preprocessor: Any = None,
    ) -> None:
        super().__init__(data_preprocessor)
        self.backbone = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels) if norm else nn.Identity(),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.decode_head = nn.Conv2d(channels, num_classes, 1)
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _logits(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.decode_head(self.dropout(self.backbone(inputs.float() / 255.0)))

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Sequence[SegDataSample] | None = None,
        mode: str = "tensor",
    ) -> Any:
        logits = self._logits(inputs)
        if mode == "tensor":
            return logits
        if mode == "loss":
            labels = torch.cat([s.gt_sem_seg.data for s in data_samples]).to(logits.device)
            loss = F.cross_entropy(logits, labels, ignore_index=self.ignore_index)
            valid = labels != self.ignore_index
            correct = (logits.max(1).indices == labels) & valid
            acc = correct.sum().float() * 100.0 / valid.sum().clamp(min=1)
            return {"decode.loss_ce": loss, "decode.acc_seg": acc}
        if mode == "predict":
            results = []
            for index, sample in enumerate(data_samples or [SegDataSample() for _ in logits]):
                out = SegDataSample(
                    gt_sem_seg=sample.gt_sem_seg,
                    metainfo=dict(sample.metainfo),
                    seg_logits=PixelData(logits[index]),
                    pred_sem_seg=PixelData(logits[index].max(0, keepdim=True).indices),
                )
                results.append(out)
            return results
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}.")
