"""Smooth L1 (Huber-like) box regression loss, as MMDetection 3.3's ``SmoothL1Loss``."""

from __future__ import annotations

from typing import Any

import torch

from segwright.models.losses.box_regression import BoxRegressionLoss, check_same_shape
from segwright.models.losses.utils import check_number, weight_reduce_loss
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


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
class SmoothL1Loss(BoxRegressionLoss):
    """Smooth L1 loss of box regression.

    Args:
        beta: Where the loss turns from quadratic to linear; > 0.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: Multiplies the loss.
    """

    loss_fn = staticmethod(smooth_l1_loss)

    def __init__(
        self, beta: float = 1.0, reduction: str = "mean", loss_weight: float = 1.0
    ) -> None:
        checked = check_number(beta, "beta", "SmoothL1Loss")
        if checked <= 0:
            raise ConfigError(f"SmoothL1Loss: beta must be > 0, got {beta}.")
        super().__init__(reduction, loss_weight)
        self.beta = checked

    def extra_repr(self) -> str:
        return f"beta={self.beta}, {super().extra_repr()}"

    def loss_kwargs(self) -> dict[str, Any]:
        return {"beta": self.beta}
