"""MMDetection's ``DiceLoss`` (``mmdet.DiceLoss``): one dice loss per predicted mask against a
binary target mask, then weighted and reduced (``avg_factor`` divides the sum).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from segwright.models.losses.utils import resolve_reduction, weight_reduce_loss
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def det_dice_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    eps: float = 1e-3,
    reduction: str = "mean",
    naive_dice: bool = False,
    avg_factor: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """``1 - dice`` per mask: ``(2|p.g| + eps) / (|p| + |g| + eps)`` (``naive_dice``) or
    ``2|p.g| / (|p|^2 + eps + |g|^2 + eps)``.

    Shapes:
        pred, target (N, ...) -> (N,) before reduction; weight (N,).
    """
    pred = pred.flatten(1)
    target = target.flatten(1).float()
    overlap = (pred * target).sum(1)
    if naive_dice:
        dice = (2 * overlap + eps) / (pred.sum(1) + target.sum(1) + eps)
    else:
        dice = 2 * overlap / ((pred * pred).sum(1) + eps + (target * target).sum(1) + eps)
    return weight_reduce_loss(1 - dice, weight, reduction, avg_factor)


@MODELS.register_module(name="DiceLoss", scope="mmdet")
class DetDiceLoss(nn.Module):
    """MMDetection's mask dice loss.

    Args:
        use_sigmoid: With ``activate``, apply a sigmoid (the only activation supported).
        activate: Activate ``pred`` first.
        reduction: 'none', 'mean' or 'sum'.
        naive_dice: Plain sums in the denominator (else sums of squares, V-Net).
        loss_weight: Multiplier of the loss.
        eps: Smoothing constant.
    """

    def __init__(
        self, use_sigmoid: bool = True, activate: bool = True, reduction: str = "mean",
        naive_dice: bool = False, loss_weight: float = 1.0, eps: float = 1e-3,
    ) -> None:  # fmt: skip
        super().__init__()
        if activate and not use_sigmoid:
            raise ConfigError("mmdet.DiceLoss: activate=True needs use_sigmoid=True.")
        self.use_sigmoid = use_sigmoid
        self.activate = activate
        self.reduction = reduction
        self.naive_dice = naive_dice
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        weight: torch.Tensor | None = None,
        reduction_override: str | None = None,
        avg_factor: float | torch.Tensor | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        reduction = resolve_reduction(self.reduction, reduction_override, "mmdet.DiceLoss")
        if self.activate:
            pred = pred.sigmoid()
        return self.loss_weight * det_dice_loss(
            pred, target, weight, eps=self.eps, reduction=reduction,
            naive_dice=self.naive_dice, avg_factor=avg_factor,
        )  # fmt: skip
