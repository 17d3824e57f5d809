"""L1 box regression loss, as MMDetection 3.3's ``L1Loss``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from segwright.models.losses.smooth_l1 import check_same_shape, zero_weight_loss
from segwright.models.losses.utils import (
    check_number,
    check_reduction,
    resolve_reduction,
    weight_reduce_loss,
)
from segwright.registry import MODELS


def l1_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """Element-wise ``|pred - target|``, weighted and reduced; an empty target gives 0.

    Shapes:
        pred (N, 4); target (N, 4); weight (N, 4) or None -> a scalar, or (N, 4) with 'none'.
    """
    if target.numel() == 0:
        return pred.sum() * 0
    check_same_shape(pred, target, "l1_loss")
    loss = torch.abs(pred - target)
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class L1Loss(nn.Module):
    """L1 loss of box regression.

    Args:
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: Multiplies the loss.
    """

    def __init__(self, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction, "L1Loss")
        self.loss_weight = check_number(loss_weight, "loss_weight", "L1Loss")

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, loss_weight={self.loss_weight}"

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        weight: torch.Tensor | None = None,
        avg_factor: float | torch.Tensor | None = None,
        reduction_override: str | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """The weighted loss; an all-zero ``weight`` returns ``sum(pred * weight)`` unscaled.

        Shapes:
            pred (N, 4); target (N, 4); weight (N, 4) or None -> a scalar, or (N, 4) with 'none'.
        """
        shortcut = zero_weight_loss(pred, weight)
        if shortcut is not None:
            return shortcut
        reduction = resolve_reduction(self.reduction, reduction_override, "L1Loss")
        return self.loss_weight * l1_loss(
            pred, target, weight, reduction=reduction, avg_factor=avg_factor
        )
