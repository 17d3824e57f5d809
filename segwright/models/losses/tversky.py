"""Tversky loss (Salehi et al., 2017): a dice generalisation that weighs FP and FN apart."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from segwright.models.losses.utils import (
    NamedLoss,
    check_class_weight_length,
    check_number,
    get_class_weight,
    reduce_loss,
    resolve_reduction,
)
from segwright.models.utils.device_constants import constant_like
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def tversky_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    valid_mask: torch.Tensor,
    alpha: float = 0.3,
    beta: float = 0.7,
    gamma: float = 1.0,
    smooth: float = 1.0,
    class_weight: torch.Tensor | None = None,
    ignore_index: int | None = 255,
) -> torch.Tensor:
    """Per-image Tversky loss averaged over classes.

    For image n and class c (masked to valid pixels): ``TI = (TP + smooth) /
    (TP + alpha*FP + beta*FN + smooth)``, loss ``(1 - TI)^gamma * class_weight[c]``; the sum
    over classes (skipping class ``ignore_index``) is divided by the channel count C.

    Shapes:
        pred (N, C, H, W) probabilities; target (N, H, W, C) one-hot; valid_mask (N, H, W).
        Returns (N,).
    """
    num_images, num_classes = pred.shape[:2]
    mask = valid_mask.reshape(num_images, -1)
    total = pred.new_zeros(num_images)
    for c in range(num_classes):
        if c == ignore_index:
            continue
        p = pred[:, c].reshape(num_images, -1)
        t = target[..., c].reshape(num_images, -1)
        tp = (p * t * mask).sum(1)
        fp = (p * (1 - t) * mask).sum(1)
        fn = ((1 - p) * t * mask).sum(1)
        index = (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)
        per_class = (1 - index) ** gamma
        if class_weight is not None:
            per_class = per_class * class_weight[c]
        total = total + per_class
    return total / num_classes


def _number(value: Any, name: str) -> float:
    return check_number(value, name, "TverskyLoss")


@MODELS.register_module()
class TverskyLoss(NamedLoss):
    """Tversky loss, as MMSegmentation 1.2 ``TverskyLoss``.

    Softmax probabilities against one-hot labels, with ignored pixels masked out of TP, FP and
    FN; one value per image and class, averaged over images and classes (the channel
    ``ignore_index``, if it is a class index, is skipped but still counts in the divisor, as in
    MMSeg). ``alpha`` weighs false positives, ``beta`` false negatives (``alpha=beta=0.5`` is
    the dice loss); ``gamma > 1`` gives the focal Tversky loss.

    The result is a mean over images, as MMSeg; ``reduction_override='none'`` / ``'sum'``
    return per-image values / their sum (MMSeg ignores the override). The element-wise
    ``weight`` (OHEM mask) and ``avg_factor`` are ignored, as in MMSeg.

    Args:
        smooth: Added to numerator and denominator.
        class_weight: One weight per class, or a weights file path.
        loss_weight: Multiplies the loss.
        ignore_index: Label value of ignored pixels (and a class index that is skipped).
        alpha: Weight of false positives; ``alpha + beta`` must be 1.
        beta: Weight of false negatives.
        gamma: Focal exponent, at least 1.
        loss_name: Log key of this loss.
    """

    def __init__(
        self,
        smooth: float = 1,
        class_weight: list[float] | str | None = None,
        loss_weight: float = 1.0,
        ignore_index: int = 255,
        alpha: float = 0.3,
        beta: float = 0.7,
        gamma: float = 1.0,
        loss_name: str = "loss_tversky",
    ) -> None:
        super().__init__()
        self.smooth = _number(smooth, "smooth")
        self.class_weight = get_class_weight(class_weight)
        self.loss_weight = _number(loss_weight, "loss_weight")
        self.ignore_index = ignore_index
        alpha, beta, gamma = _number(alpha, "alpha"), _number(beta, "beta"), _number(gamma, "gamma")
        if not math.isclose(alpha + beta, 1.0, rel_tol=0.0, abs_tol=1e-9):
            raise ConfigError(
                f"TverskyLoss: alpha + beta must be 1, got alpha={alpha} and beta={beta} "
                f"(sum {alpha + beta})."
            )
        if gamma < 1.0:
            raise ConfigError(f"TverskyLoss: gamma must be at least 1, got {gamma}.")
        self.alpha, self.beta, self.gamma = alpha, beta, gamma
        self.set_loss_name(loss_name)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, gamma={self.gamma}, smooth={self.smooth}"

    def forward(
        self,
        cls_score: torch.Tensor,
        label: torch.Tensor,
        weight: torch.Tensor | None = None,
        avg_factor: float | None = None,
        reduction_override: str | None = None,
        ignore_index: int | None = 255,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Compute the Tversky loss (``ignore_index`` here is unused: the constructor's counts).

        Shapes:
            cls_score (N, C, H, W) logits; label (N, H, W).
        """
        reduction = resolve_reduction("mean", reduction_override, "TverskyLoss")
        num_classes = cls_score.shape[1]
        check_class_weight_length(self.class_weight, num_classes, "TverskyLoss")
        class_weight = None
        if self.class_weight is not None:
            class_weight = constant_like(self, self.class_weight, cls_score)
        prob = F.softmax(cls_score, dim=1)
        one_hot = F.one_hot(label.long().clamp(0, num_classes - 1), num_classes=num_classes)
        valid_mask = (label != self.ignore_index).long()
        per_image = tversky_loss(
            prob,
            one_hot,
            valid_mask,
            alpha=self.alpha,
            beta=self.beta,
            gamma=self.gamma,
            smooth=self.smooth,
            class_weight=class_weight,
            ignore_index=self.ignore_index,
        )
        return self.loss_weight * reduce_loss(per_image, reduction)
