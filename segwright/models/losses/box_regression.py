"""What MMDetection's box regression losses (``L1Loss``, ``SmoothL1Loss``) share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from segwright.models.losses.utils import check_number, check_reduction, resolve_reduction


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


class BoxRegressionLoss(nn.Module):
    """Base of the element-wise box losses: checked ``reduction``/``loss_weight``, MMDet's
    zero-weight shortcut, then ``loss_weight *`` :attr:`loss_fn`.

    Args:
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: Multiplies the loss.
    """

    def __init__(self, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__()
        owner = type(self).__name__
        self.reduction = check_reduction(reduction, owner)
        self.loss_weight = check_number(loss_weight, "loss_weight", owner)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, loss_weight={self.loss_weight}"

    #: ``fn(pred, target, weight, reduction=..., avg_factor=..., **self.loss_kwargs())``: the
    #: element-wise loss, weighted and reduced.
    loss_fn: Callable[..., torch.Tensor]

    def loss_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments of :attr:`loss_fn` (e.g. ``beta``)."""
        return {}

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
        reduction = resolve_reduction(self.reduction, reduction_override, type(self).__name__)
        loss = self.loss_fn(
            pred, target, weight, reduction=reduction, avg_factor=avg_factor, **self.loss_kwargs()
        )
        return self.loss_weight * loss
