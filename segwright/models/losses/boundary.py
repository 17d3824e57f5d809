"""``BoundaryLoss``: class-balanced binary cross-entropy of boundary logits (PIDNet's)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.registry import MODELS


@MODELS.register_module()
class BoundaryLoss(nn.Module):
    """BCE of one-channel boundary logits against 0/1 boundary labels, each side weighted by
    the other side's share of the pixels (labels other than 0/1 get weight 0).

    Args:
        loss_weight: Factor of the loss.
        loss_name: Log key.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = "loss_boundary") -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.loss_name_ = loss_name

    @property
    def loss_name(self) -> str:
        return self.loss_name_

    def forward(self, bd_pre: torch.Tensor, bd_gt: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """``bd_pre (N, 1, H, W)`` logits, ``bd_gt (N, H, W)`` labels -> a scalar."""
        logits = bd_pre.permute(0, 2, 3, 1).reshape(1, -1)
        target = bd_gt.reshape(1, -1).float()
        pos, neg = target == 1, target == 0
        num_pos, num_neg = pos.sum(), neg.sum()
        total = num_pos + num_neg
        # where(), not weight[pos] = ...: a boolean-mask assignment reads the mask on the host
        # (a device sync); pos and neg are disjoint, so every pixel gets the same value.
        zero = torch.zeros_like(logits)
        weight = torch.where(
            pos,
            (num_neg / total).to(zero.dtype),
            torch.where(neg, (num_pos / total).to(zero.dtype), zero),
        )
        loss = F.binary_cross_entropy_with_logits(logits, target, weight, reduction="mean")
        return self.loss_weight * loss
