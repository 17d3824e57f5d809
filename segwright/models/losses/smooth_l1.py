"""Smooth L1 (Huber-like) box regression loss, as MMDetection 3.3's ``SmoothL1Loss``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from segwright.models.losses.utils import (
    check_number,
    check_reduction,
    resolve_reduction,
    weight_reduce_loss,
)
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def check_same_shape(pred: torch.Tensor, target: torch.Tensor, owner: str) -> None:
    """Raise a ValueError unless ``pred`` and ``target`` have the same shape."""
    if pred.shape != target.shape:
        raise ValueError(
            f"{owner}: pred and target need the same shape, got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}."
        )


def zero_weight_loss(pred: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor | None:
    """MMDet's shortcut: an all-zero ``weight`` gives ``sum(pred * weight)`` (a zero with grad)."""
    if weight is None or torch.any(weight > 0):
        return None
    if pred.dim() == weight.dim() + 1:
        weight = weight.unsqueeze(1)
    return (pred * weight).sum()


def smooth_l1_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    beta: float = 1.0,
    reduction: str = "mean",
    avg_factor: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """Element-wise ``0.5 * d**2 / beta`` where ``d = |pred - target| < beta``, else ``d - 0.5 * beta``.

    Then weighted and reduced (``avg_factor`` divides the sum with 'mean'). An empty target
    gives ``pred.sum() * 0``.

    Shapes:
        pred (N, 4); target (N, 4); weight (N, 4) or None -> a scalar, or (N, 4) with 'none'.
    """
    if beta <= 0:
        raise ValueError(f"smooth_l1_loss: beta must be > 0, got {beta}.")
    if target.numel() == 0:
        return pred.sum() * 0
    check_same_shape(pred, target, "smooth_l1_loss")
    diff = torch.abs(pred - target)
    loss = torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class SmoothL1Loss(nn.Module):
    """Smooth L1 loss of box regression.

    Args:
        beta: Where the loss turns from quadratic to linear; > 0.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: Multiplies the loss.
    """

    def __init__(
        self, beta: float = 1.0, reduction: str = "mean", loss_weight: float = 1.0
    ) -> None:
        super().__init__()
        self.beta = check_number(beta, "beta", "SmoothL1Loss")
        if self.beta <= 0:
            raise ConfigError(f"SmoothL1Loss: beta must be > 0, got {beta}.")
        self.reduction = check_reduction(reduction, "SmoothL1Loss")
        self.loss_weight = check_number(loss_weight, "loss_weight", "SmoothL1Loss")

    def extra_repr(self) -> str:
        return f"beta={self.beta}, reduction={self.reduction!r}, loss_weight={self.loss_weight}"

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
        reduction = resolve_reduction(self.reduction, reduction_override, "SmoothL1Loss")
        return self.loss_weight * smooth_l1_loss(
            pred, target, weight, beta=self.beta, reduction=reduction, avg_factor=avg_factor
        )
