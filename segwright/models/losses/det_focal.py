"""MMDetection's ``FocalLoss`` (``mmdet.FocalLoss``): sigmoid focal loss of ``(N, C)`` logits
against class indices (``C`` or more: background, an all-zero target) or against targets of
the logits' shape; ``avg_factor`` divides the sum. MaskFormer uses it on mask pixels.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.losses.utils import resolve_reduction, weight_reduce_loss
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def det_sigmoid_focal_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    gamma: float = 2.0,
    alpha: float = 0.25,
    reduction: str = "mean",
    avg_factor: float | torch.Tensor | None = None,
    activated: bool = False,
) -> torch.Tensor:
    """Element-wise focal loss, weighted and reduced.

    Shapes:
        pred (N, C) logits (probabilities when ``activated``); target (N, C) or (N,) indices;
        weight (N,), (N, 1) or (N, C).
    """
    if pred.dim() != target.dim():
        classes = pred.size(1)
        target = F.one_hot(target.long(), num_classes=classes + 1)[:, :classes]
    target = target.type_as(pred)
    prob = pred if activated else pred.sigmoid()
    pt = (1 - prob) * target + prob * (1 - target)
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    if activated:
        loss = F.binary_cross_entropy(pred, target, reduction="none") * focal_weight
    else:
        loss = F.binary_cross_entropy_with_logits(pred, target, reduction="none") * focal_weight
    if weight is not None and weight.shape != loss.shape:
        weight = (
            weight.view(-1, 1) if weight.size(0) == loss.size(0) else weight.view(loss.size(0), -1)
        )
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module(name="FocalLoss", scope="mmdet")
class DetFocalLoss(nn.Module):
    """MMDetection's sigmoid focal loss.

    Args:
        use_sigmoid: Must be True.
        gamma, alpha: Focal-loss constants.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: Multiplier of the loss.
        activated: ``pred`` holds probabilities already.
    """

    def __init__(
        self, use_sigmoid: bool = True, gamma: float = 2.0, alpha: float = 0.25,
        reduction: str = "mean", loss_weight: float = 1.0, activated: bool = False,
    ) -> None:  # fmt: skip
        super().__init__()
        if not use_sigmoid:
            raise ConfigError("mmdet.FocalLoss supports use_sigmoid=True only.")
        self.use_sigmoid = use_sigmoid
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.activated = activated

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        weight: torch.Tensor | None = None,
        avg_factor: float | torch.Tensor | None = None,
        reduction_override: str | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        reduction = resolve_reduction(self.reduction, reduction_override, "mmdet.FocalLoss")
        return self.loss_weight * det_sigmoid_focal_loss(
            pred, target, weight, gamma=self.gamma, alpha=self.alpha, reduction=reduction,
            avg_factor=avg_factor, activated=self.activated,
        )  # fmt: skip
