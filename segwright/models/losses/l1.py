"""L1 box regression loss, as MMDetection 3.3's ``L1Loss``."""

from __future__ import annotations

import torch

from segwright.models.losses.box_regression import BoxRegressionLoss, check_same_shape
from segwright.models.losses.utils import weight_reduce_loss
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
class L1Loss(BoxRegressionLoss):
    """L1 loss of box regression.

    Args:
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: Multiplies the loss.
    """

    loss_fn = staticmethod(l1_loss)
