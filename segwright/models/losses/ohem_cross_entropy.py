"""``OhemCrossEntropy``: cross-entropy over the hardest pixels (DDRNet's / PIDNet's loss)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.losses.utils import get_class_weight
from segwright.models.utils.device_constants import constant_like
from segwright.registry import MODELS


@MODELS.register_module()
class OhemCrossEntropy(nn.Module):
    """Mean cross-entropy of the pixels whose true-class probability is below a threshold.

    The threshold is ``max(thres, p_k)`` with ``p_k`` the ``min_kept``-th smallest true-class
    probability among the labelled pixels, so at least ``min_kept`` pixels count (MMSeg's
    rule).

    Args:
        ignore_label: Label of ignored pixels (this loss's own; a caller's ``ignore_index`` is
            not used, as in MMSeg).
        thres: Probability threshold.
        min_kept: Pixels kept at least.
        loss_weight: Factor of the loss.
        class_weight: Per-class weights of the cross-entropy (or a weights file).
        loss_name: Log key.
    """

    def __init__(
        self,
        ignore_label: int = 255,
        thres: float = 0.7,
        min_kept: int = 100000,
        loss_weight: float = 1.0,
        class_weight: list[float] | str | None = None,
        loss_name: str = "loss_ohem",
    ) -> None:
        super().__init__()
        self.thresh = thres
        self.min_kept = max(1, min_kept)
        self.ignore_label = ignore_label
        self.loss_weight = loss_weight
        self.loss_name_ = loss_name
        self.class_weight = get_class_weight(class_weight)

    @property
    def loss_name(self) -> str:
        return self.loss_name_

    def forward(self, score: torch.Tensor, target: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """``score (N, C, H, W)`` logits, ``target (N, H, W)`` labels -> a scalar."""
        weight = (
            None if self.class_weight is None else constant_like(self, self.class_weight, score)
        )
        pixel_losses = F.cross_entropy(
            score, target, weight=weight, ignore_index=self.ignore_label, reduction="none"
        ).reshape(-1)
        valid = target.reshape(-1) != self.ignore_label
        safe = torch.where(target == self.ignore_label, torch.zeros_like(target), target)
        prob = F.softmax(score, dim=1).gather(1, safe.unsqueeze(1)).reshape(-1)[valid]
        if prob.numel() == 0:
            return score.new_tensor(0.0)
        prob, order = prob.sort()
        threshold = max(prob[min(self.min_kept, prob.numel() - 1)], self.thresh)
        hard = pixel_losses[valid][order][prob < threshold]
        return self.loss_weight * hard.mean()
