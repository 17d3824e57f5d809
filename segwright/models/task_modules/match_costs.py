"""MMDetection 3.3's match costs (``mmdet.ClassificationCost``, ``FocalLossCost``,
``DiceCost``, ``CrossEntropyLossCost``): each gives a ``(num_preds, num_gts)`` cost matrix for
the Hungarian assigner, times its ``weight``. Predictions carry ``scores`` (class logits) or
``masks`` (mask logits, or probabilities for ``DiceCost(pred_act=False)``); ground truths
``labels`` or binary ``masks`` (compared in the predictions' float type).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from segwright.registry import TASK_UTILS


class BaseMatchCost:
    """A weighted cost between predictions and ground truths."""

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def __call__(
        self, pred_instances: Any, gt_instances: Any, img_meta: Any = None, **kwargs: Any
    ) -> torch.Tensor:
        raise NotImplementedError


def _pairwise(pos: torch.Tensor, neg: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """``sum_c pos[n, c] * gt[m, c] + neg[n, c] * (1 - gt[m, c])``."""
    return torch.einsum("nc,mc->nm", pos, gt) + torch.einsum("nc,mc->nm", neg, 1 - gt)


@TASK_UTILS.register_module(scope="mmdet")
class ClassificationCost(BaseMatchCost):
    """Minus the softmax probability of the ground truth's class."""

    def __call__(
        self, pred_instances: Any, gt_instances: Any, img_meta: Any = None, **kwargs: Any
    ) -> torch.Tensor:
        probs = pred_instances.scores.softmax(-1)
        return -probs[:, gt_instances.labels] * self.weight


@TASK_UTILS.register_module(scope="mmdet")
class FocalLossCost(BaseMatchCost):
    """Sigmoid focal-loss cost of class logits, or (``binary_input``) of mask logits averaged
    over pixels.

    Args:
        alpha, gamma: Focal-loss constants.
        eps: Added inside the logarithms.
        binary_input: Compare ``masks`` with binary ground-truth masks instead of labels.
        weight: Cost weight.
    """

    def __init__(
        self, alpha: float = 0.25, gamma: float = 2, eps: float = 1e-12,
        binary_input: bool = False, weight: float = 1.0,
    ) -> None:  # fmt: skip
        super().__init__(weight)
        self.alpha = alpha
        self.gamma = gamma
        self.eps = eps
        self.binary_input = binary_input

    def _terms(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        prob = logits.sigmoid()
        neg = -(1 - prob + self.eps).log() * (1 - self.alpha) * prob.pow(self.gamma)
        pos = -(prob + self.eps).log() * self.alpha * (1 - prob).pow(self.gamma)
        return pos, neg

    def __call__(
        self, pred_instances: Any, gt_instances: Any, img_meta: Any = None, **kwargs: Any
    ) -> torch.Tensor:
        if self.binary_input:
            logits = pred_instances.masks.flatten(1)
            gt = gt_instances.masks.flatten(1).to(logits.dtype)
            pos, neg = self._terms(logits)
            return _pairwise(pos, neg, gt) / logits.shape[1] * self.weight
        pos, neg = self._terms(pred_instances.scores)
        labels = gt_instances.labels
        return (pos[:, labels] - neg[:, labels]) * self.weight


@TASK_UTILS.register_module(scope="mmdet")
class DiceCost(BaseMatchCost):
    """``1 - (2|p.g| + eps) / (|p| + |g| + eps)`` between masks (squared sums unless
    ``naive_dice``).

    Args:
        pred_act: Apply a sigmoid to the predicted masks first.
        eps: Smoothing constant.
        naive_dice: Plain sums in the denominator (else sums of squares, K-Net/SOLO).
        weight: Cost weight.
    """

    def __init__(
        self, pred_act: bool = False, eps: float = 1e-3, naive_dice: bool = True,
        weight: float = 1.0,
    ) -> None:  # fmt: skip
        super().__init__(weight)
        self.pred_act = pred_act
        self.eps = eps
        self.naive_dice = naive_dice

    def __call__(
        self, pred_instances: Any, gt_instances: Any, img_meta: Any = None, **kwargs: Any
    ) -> torch.Tensor:
        pred = pred_instances.masks
        if self.pred_act:
            pred = pred.sigmoid()
        pred = pred.flatten(1)
        gt = gt_instances.masks.flatten(1).to(pred.dtype)
        numerator = 2 * torch.einsum("nc,mc->nm", pred, gt)
        power = 1 if self.naive_dice else 2
        denominator = pred.pow(power).sum(1)[:, None] + gt.pow(power).sum(1)[None, :]
        return (1 - (numerator + self.eps) / (denominator + self.eps)) * self.weight


@TASK_UTILS.register_module(scope="mmdet")
class CrossEntropyLossCost(BaseMatchCost):
    """Binary cross-entropy between mask logits and binary masks, averaged over pixels.

    Args:
        use_sigmoid: Must be True (MMDetection has no softmax variant).
        weight: Cost weight.
    """

    def __init__(self, use_sigmoid: bool = True, weight: float = 1.0) -> None:
        super().__init__(weight)
        if not use_sigmoid:
            from segwright.utils.errors import ConfigError

            raise ConfigError("CrossEntropyLossCost supports use_sigmoid=True only.")
        self.use_sigmoid = use_sigmoid

    def __call__(
        self, pred_instances: Any, gt_instances: Any, img_meta: Any = None, **kwargs: Any
    ) -> torch.Tensor:
        logits = pred_instances.masks.flatten(1)
        logits = logits if logits.is_floating_point() else logits.float()
        gt = gt_instances.masks.flatten(1).to(logits.dtype)
        pos = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction="none")
        neg = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits), reduction="none")
        return _pairwise(pos, neg, gt) / logits.shape[1] * self.weight
