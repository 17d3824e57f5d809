"""Sigmoid focal loss (Lin et al., 2017) for dense predictions, as MMSegmentation 1.2."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from segwright.models.losses.utils import (
    NamedLoss,
    check_class_weight_length,
    check_number,
    check_reduction,
    get_class_weight,
    resolve_reduction,
    weight_reduce_loss,
)
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def sigmoid_focal_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    gamma: float = 2.0,
    alpha: float | Sequence[float] = 0.5,
    class_weight: Sequence[float] | None = None,
    valid_mask: torch.Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | None = None,
) -> torch.Tensor:
    """Element-wise ``BCE(x, t) * (alpha*t + (1-alpha)*(1-t)) * (1 - p_t)^gamma``, then reduced.

    Shapes:
        pred (M, C) logits; target (M, C) in [0, 1]; weight (M,), (M, 1) or (M, C);
        valid_mask (M, 1). Returns a scalar, or (M, C) with ``reduction='none'``.
    """
    if isinstance(alpha, Sequence):
        alpha_t: float | torch.Tensor = pred.new_tensor(list(alpha))
    else:
        alpha_t = alpha
    prob = pred.sigmoid()
    target = target.type_as(pred)
    one_minus_pt = (1 - prob) * target + prob * (1 - target)
    focal_weight = (alpha_t * target + (1 - alpha_t) * (1 - target)) * one_minus_pt.pow(gamma)
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction="none") * focal_weight
    final_weight = torch.ones(1, pred.size(1), dtype=loss.dtype, device=loss.device)
    if weight is not None:
        if weight.shape != loss.shape and weight.numel() == loss.size(0):
            weight = weight.reshape(-1, 1)
        if weight.dim() != loss.dim():
            raise ValueError(
                f"FocalLoss: weight of shape {tuple(weight.shape)} does not fit the loss of shape "
                f"{tuple(loss.shape)} (one weight per pixel, or per pixel and class, expected)."
            )
        final_weight = final_weight * weight
    if class_weight is not None:
        final_weight = final_weight * pred.new_tensor(list(class_weight))
    if valid_mask is not None:
        final_weight = final_weight * valid_mask
    return weight_reduce_loss(loss, final_weight, reduction, avg_factor)


def _as_float(value: Any, name: str) -> float:
    return check_number(value, name, "FocalLoss")


def _as_alpha(value: Any) -> float | list[float]:
    if isinstance(value, (list, tuple)):
        return [_as_float(v, "each alpha") for v in value]
    return _as_float(value, "alpha (a number, or a list with one number per class)")


@MODELS.register_module()
class FocalLoss(NamedLoss):
    """Sigmoid focal loss, as MMSegmentation 1.2 ``FocalLoss``.

    Logits are flattened to (N*H*W, C). Integer labels become one-hot targets over the C
    channels (with one channel: the target is ``label == 1``); ignored pixels are masked out.
    ``reduction='mean'`` divides by all N*H*W*C elements, ignored ones included.

    Deliberate fixes (documented deviations from MMSeg 1.2):

    * ``gamma``, ``alpha``, ``loss_weight`` and ``class_weight`` accept any numbers / sequences
      (``gamma=2`` is 2.0); MMSeg asserts the exact Python types (``float``, ``list``).
    * One code path for CPU and GPU, equal to MMSeg's GPU (mmcv op) result. MMSeg's CPU path
      takes a single one-hot column instead of the first C (and fails), and with one channel
      both of its paths broadcast the targets wrongly.
    * A pixel weight map of shape (N, H, W) (the OHEM mask) is applied per pixel; MMSeg fails.
    * ``class_weight`` may also be a weights file path, like the other losses.

    Args:
        use_sigmoid: Must be True (only the sigmoid form exists, as in MMSeg).
        gamma: Focusing parameter.
        alpha: Weight of positives (negatives get ``1 - alpha``); a list gives one per class.
        reduction: 'none', 'mean' or 'sum'.
        class_weight: One weight per class, or a weights file path.
        loss_weight: Multiplies the loss.
        loss_name: Log key of this loss.
    """

    def __init__(
        self,
        use_sigmoid: bool = True,
        gamma: float = 2.0,
        alpha: float | Sequence[float] = 0.5,
        reduction: str = "mean",
        class_weight: list[float] | str | None = None,
        loss_weight: float = 1.0,
        loss_name: str = "loss_focal",
    ) -> None:
        super().__init__()
        if use_sigmoid is not True:
            raise ConfigError(
                "FocalLoss: only the sigmoid focal loss exists (as in MMSegmentation); "
                f"set use_sigmoid=True (got {use_sigmoid!r})."
            )
        self.use_sigmoid = True
        self.gamma = _as_float(gamma, "gamma")
        self.alpha = _as_alpha(alpha)
        self.reduction = check_reduction(reduction, "FocalLoss")
        self.class_weight = get_class_weight(class_weight)
        self.loss_weight = _as_float(loss_weight, "loss_weight")
        self.set_loss_name(loss_name)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, alpha={self.alpha}, loss_weight={self.loss_weight}"

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
        """Compute the focal loss.

        Shapes:
            cls_score (N, C, H, W) logits; label (N, H, W) indices or (N, C, H, W) targets;
            weight (N, H, W) per pixel or None. Returns a scalar, or (N, C, H, W) with 'none'.
        """
        same_shape = cls_score.shape == label.shape
        if not same_shape and not (
            cls_score.size(0) == label.size(0) and cls_score.shape[2:] == label.shape[1:]
        ):
            raise ValueError(
                f"FocalLoss: prediction {tuple(cls_score.shape)} and label {tuple(label.shape)} "
                "do not match; expected labels (N, H, W) or targets (N, C, H, W)."
            )
        reduction = resolve_reduction(self.reduction, reduction_override, "FocalLoss")
        num_classes = cls_score.size(1)
        check_class_weight_length(self.class_weight, num_classes, "FocalLoss")
        if isinstance(self.alpha, list) and len(self.alpha) != num_classes:
            raise ConfigError(
                f"FocalLoss: alpha has {len(self.alpha)} entries but the prediction has "
                f"{num_classes} channels; give one number, or one per class."
            )
        original_shape = cls_score.shape
        # (N, C, *) -> (M, C) with M = N * prod(*), pixel order = label.view(-1) order.
        pred = cls_score.transpose(0, 1).reshape(num_classes, -1).transpose(0, 1).contiguous()
        if same_shape:
            target = label.transpose(0, 1).reshape(num_classes, -1).transpose(0, 1)
            if ignore_index is None:
                valid_mask = None
            else:
                valid_mask = (target.argmax(dim=1) != ignore_index).view(-1, 1)
        else:
            flat = label.reshape(-1)
            if not flat.is_floating_point():
                flat = flat.long()
            valid = torch.ones_like(flat, dtype=torch.bool)
            if ignore_index is not None:
                valid = flat != ignore_index
            valid_mask = valid.view(-1, 1)
            flat = torch.where(valid, flat, torch.zeros_like(flat)).long()
            if bool(valid.any()) and (int(flat.max()) > num_classes or int(flat.min()) < 0):
                raise ConfigError(
                    f"FocalLoss: label values must lie in [0, {num_classes}] apart from "
                    f"ignore_index={ignore_index}; found {int(flat.min())}..{int(flat.max())}."
                )
            one_hot = F.one_hot(flat, num_classes=num_classes + 1)
            target = one_hot[:, 1:2] if num_classes == 1 else one_hot[:, :num_classes]
        if weight is not None:
            weight = weight.float()
        loss = sigmoid_focal_loss(
            pred,
            target,
            weight,
            gamma=self.gamma,
            alpha=self.alpha,
            class_weight=self.class_weight,
            valid_mask=valid_mask,
            reduction=reduction,
            avg_factor=avg_factor,
        )
        if reduction == "none":
            loss = loss.transpose(0, 1).reshape(
                original_shape[1], original_shape[0], *original_shape[2:]
            )
            loss = loss.transpose(0, 1).contiguous()
        return self.loss_weight * loss
