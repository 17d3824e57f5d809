"""MMDetection's ``CrossEntropyLoss``: the meaning of the name under ``default_scope='mmdet'``.

MMDetection and MMSegmentation share the class name but not its semantics, so this one is
registered in the ``mmdet`` scope (``mmseg.CrossEntropyLoss`` and configs without that scope
keep MMSegmentation's loss, :mod:`segwright.models.losses.cross_entropy`). What differs:

* sigmoid mode expands class indices to one-hot targets, and an index ``>= C`` (the
  background index ``num_classes`` of RPN and bbox heads) is an all-zero target rather than an
  error; with one channel, label 0 is the positive class (MMSeg: label 1 is);
* nothing is ignored by default (``ignore_index=None`` means PyTorch's -100, not 255);
* the 'mean' without ``avg_factor`` is the plain mean, also with ``class_weight``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from segwright.models.losses.cross_entropy import mask_cross_entropy
from segwright.models.losses.utils import (
    check_number,
    check_reduction,
    get_class_weight,
    resolve_reduction,
    weight_reduce_loss,
)
from segwright.models.utils.device_constants import constant_like
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

_TORCH_NO_IGNORE = -100


def det_cross_entropy(
    pred: torch.Tensor,
    label: torch.Tensor,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | torch.Tensor | None = None,
    class_weight: torch.Tensor | None = None,
    ignore_index: int | None = None,
    avg_non_ignore: bool = False,
) -> torch.Tensor:
    """Softmax cross-entropy over classes, MMDetection's averaging.

    Shapes:
        pred (N, C) logits; label (N,) class indices; weight (N,) or None.
    """
    ignore = _TORCH_NO_IGNORE if ignore_index is None else int(ignore_index)
    loss = F.cross_entropy(
        pred, label.long(), weight=class_weight, reduction="none", ignore_index=ignore
    )
    if avg_factor is None and avg_non_ignore and reduction == "mean":
        avg_factor = label.numel() - int((label == ignore).sum())
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


def _one_hot_targets(
    label: torch.Tensor, weight: torch.Tensor | None, channels: int, ignore: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Class indices -> (one-hot targets, element weights, valid mask), each ``(N, C)``.

    An index ``>= channels`` (background) leaves its row all zero but still counts as valid.
    """
    valid = (label >= 0) & (label != ignore)
    targets = torch.zeros(label.size(0), channels, dtype=torch.float32, device=label.device)
    positive = valid & (label < channels)
    rows = torch.nonzero(positive, as_tuple=True)[0]
    targets[rows, label[rows].long()] = 1.0
    valid_mask = valid.view(-1, 1).expand(label.size(0), channels).float()
    if weight is None:
        element_weight = valid_mask
    else:
        element_weight = weight.float().view(-1, 1).expand(label.size(0), channels) * valid_mask
    return targets, element_weight, valid_mask


def det_binary_cross_entropy(
    pred: torch.Tensor,
    label: torch.Tensor,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | torch.Tensor | None = None,
    class_weight: torch.Tensor | None = None,
    ignore_index: int | None = None,
    avg_non_ignore: bool = False,
) -> torch.Tensor:
    """Per-channel sigmoid BCE; class indices are expanded to one-hot targets.

    Shapes:
        pred (N, C) logits with label (N,) class indices, or label of pred's shape (targets).
    """
    ignore = _TORCH_NO_IGNORE if ignore_index is None else int(ignore_index)
    if pred.dim() != label.dim():
        if pred.dim() != 2 or label.dim() != 1:
            raise ValueError(
                "CrossEntropyLoss(use_sigmoid=True) takes pred (N, C) with label (N,) class "
                f"indices, or a target of pred's shape; got {tuple(pred.shape)} and "
                f"{tuple(label.shape)}."
            )
        target, element_weight, valid_mask = _one_hot_targets(label, weight, pred.size(-1), ignore)
    else:
        valid_mask = ((label >= 0) & (label != ignore)).float()
        element_weight = valid_mask if weight is None else weight.float() * valid_mask
        target = label.float()
    if avg_factor is None and avg_non_ignore and reduction == "mean":
        avg_factor = float(valid_mask.sum())
    loss = F.binary_cross_entropy_with_logits(
        pred, target.to(pred.dtype), pos_weight=class_weight, reduction="none"
    )
    return weight_reduce_loss(loss, element_weight, reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module(name="CrossEntropyLoss", scope="mmdet")
class DetCrossEntropyLoss(torch.nn.Module):
    """Cross-entropy as MMDetection 3.3's ``CrossEntropyLoss`` (see the module docstring).

    Args:
        use_sigmoid: Per-class sigmoid BCE (RPN's objectness) instead of softmax CE.
        use_mask: Instance-mask BCE on each ROI's class channel (``FCNMaskHead``).
        reduction: 'none', 'mean' or 'sum'.
        class_weight: One weight per class (softmax) or BCE ``pos_weight`` (sigmoid).
        ignore_index: Label value that does not count; None ignores nothing.
        loss_weight: Multiplies the loss.
        avg_non_ignore: Average over non-ignored elements only.
    """

    def __init__(
        self,
        use_sigmoid: bool = False,
        use_mask: bool = False,
        reduction: str = "mean",
        class_weight: list[float] | str | None = None,
        ignore_index: int | None = None,
        loss_weight: float = 1.0,
        avg_non_ignore: bool = False,
    ) -> None:
        super().__init__()
        if use_sigmoid and use_mask:
            raise ConfigError(
                "CrossEntropyLoss: use_sigmoid and use_mask cannot both be True; set at most one."
            )
        if ignore_index is not None and not isinstance(ignore_index, int):
            raise ConfigError(
                f"CrossEntropyLoss: ignore_index must be an int or None, got {ignore_index!r}."
            )
        self.use_sigmoid = bool(use_sigmoid)
        self.use_mask = bool(use_mask)
        self.reduction = check_reduction(reduction, "CrossEntropyLoss")
        self.loss_weight = check_number(loss_weight, "loss_weight", "CrossEntropyLoss")
        self.class_weight = get_class_weight(class_weight)
        self.ignore_index = ignore_index
        self.avg_non_ignore = bool(avg_non_ignore)

    def extra_repr(self) -> str:
        return (
            f"use_sigmoid={self.use_sigmoid}, use_mask={self.use_mask}, "
            f"reduction={self.reduction!r}, loss_weight={self.loss_weight}"
        )

    def forward(
        self,
        cls_score: torch.Tensor,
        label: torch.Tensor,
        weight: torch.Tensor | None = None,
        avg_factor: float | torch.Tensor | None = None,
        reduction_override: str | None = None,
        ignore_index: int | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """The weighted loss.

        Args:
            cls_score: Logits (``(N, C)``; ``(R, C, H, W)`` mask logits with ``use_mask``).
            label: Class indices (``(N,)``); with ``use_mask`` the ``(R, H, W)`` mask targets.
            weight: Element weights (``(N,)``); with ``use_mask`` each ROI's class ``(R,)``.
            avg_factor: Divisor for 'mean' instead of the element count.
            reduction_override: Replaces ``self.reduction`` for this call.
            ignore_index: Replaces the constructor's ``ignore_index`` for this call.
            **kwargs: Accepted for call compatibility and unused.
        """
        reduction = resolve_reduction(self.reduction, reduction_override, "CrossEntropyLoss")
        ignore = self.ignore_index if ignore_index is None else ignore_index
        class_weight = None
        if self.class_weight is not None:
            class_weight = constant_like(self, self.class_weight, cls_score)
        if self.use_mask:
            if weight is None:
                raise ConfigError(
                    "CrossEntropyLoss(use_mask=True) needs each ROI's class as the third argument."
                )
            if ignore is not None:
                raise ConfigError("CrossEntropyLoss(use_mask=True) does not take ignore_index.")
            loss = mask_cross_entropy(cls_score, label, weight, reduction, avg_factor, class_weight)
        elif self.use_sigmoid:
            loss = det_binary_cross_entropy(
                cls_score, label, weight, reduction, avg_factor, class_weight, ignore,
                self.avg_non_ignore,
            )  # fmt: skip
        else:
            loss = det_cross_entropy(
                cls_score, label, weight, reduction, avg_factor, class_weight, ignore,
                self.avg_non_ignore,
            )  # fmt: skip
        return self.loss_weight * loss
