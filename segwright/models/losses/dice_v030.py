"""MMSegmentation 0.30's Dice loss: a softmax dice per class, averaged over the classes.

A 0.x config's ``DiceLoss`` is translated to this type (``segwright/config/legacy/``), so an
MMSeg 0.x config trains with the numbers it had; 1.x configs keep :class:`DiceLoss`, MMSeg >= 1.1's
definition (sigmoid, one dice per image over all channels and pixels).
"""

from __future__ import annotations

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
from segwright.models.utils.device_constants import constant_like
from segwright.registry import MODELS


def dice_loss_v030(
    pred: torch.Tensor,
    label: torch.Tensor,
    smooth: float = 1.0,
    exponent: float = 2.0,
    class_weight: torch.Tensor | None = None,
    ignore_index: int | None = 255,
) -> torch.Tensor:
    """MMSeg 0.30's dice, before the loss weight.

    With ``p`` the softmax probabilities, ``t`` the one-hot of ``clamp(label, 0, C - 1)`` and
    ``v`` the mask ``label != ignore_index``, each class ``c`` and image ``n`` give::

        d[n, c] = 1 - (2 * sum(p * t * v) + smooth) / (sum(p^e + t^e) + smooth)

    summed over the image's pixels. The loss is ``sum_c w_c * mean_n d[n, c] / C``: the class
    numbered ``ignore_index`` is left out of the sum but still counts in ``C``. As in 0.30,
    ignored pixels are masked in the numerator only: their probabilities, and the one-hot of
    the clamped label (class ``C - 1`` for 255), stay in the denominator.

    Shapes:
        pred (N, C, H, W) probabilities; label (N, H, W) class indices. Returns a scalar.
    """
    num_classes = pred.shape[1]
    target = F.one_hot(label.long().clamp(0, num_classes - 1), num_classes)
    target = target.permute(0, 3, 1, 2).to(pred.dtype).flatten(2)
    valid = (
        torch.ones_like(label, dtype=pred.dtype) if ignore_index is None else label != ignore_index
    )
    valid = valid.to(pred.dtype).flatten(1).unsqueeze(1)
    p = pred.flatten(2)
    numerator = (p * target * valid).sum(2) * 2 + smooth
    denominator = (p.pow(exponent) + target.pow(exponent)).sum(2) + smooth
    per_class = (1 - numerator / denominator).mean(0)  # (C,): each class averaged over images
    if class_weight is not None:
        per_class = per_class * class_weight
    keep = torch.ones(num_classes, dtype=torch.bool, device=pred.device)
    if ignore_index is not None and 0 <= ignore_index < num_classes:
        keep[ignore_index] = False
    return per_class[keep].sum() / num_classes


@MODELS.register_module()
class DiceLossV030(NamedLoss):
    """Dice loss as MMSegmentation 0.30 ``DiceLoss`` (see :func:`dice_loss_v030`).

    What 0.30 did, kept: softmax always; the result is one number whatever ``reduction`` says
    (each class's dice is already averaged over the images), and ``reduction='mean'`` with an
    ``avg_factor`` divides it by ``avg_factor + eps``; an element-wise ``weight`` (the OHEM
    mask) and the call's ``ignore_index`` are not used: the constructor's ``ignore_index``
    masks pixels and drops the class with that number.

    Args:
        smooth: Added to the numerator and the denominator.
        exponent: Power of the probabilities and targets in the denominator.
        reduction: 'none', 'mean' or 'sum' (see above).
        class_weight: One weight per class, or the path of a weights file.
        loss_weight: Multiplies the loss.
        ignore_index: Label value of ignored pixels (and the class left out of the sum).
        loss_name: Log key of this loss.
    """

    def __init__(
        self,
        smooth: float = 1.0,
        exponent: float = 2.0,
        reduction: str = "mean",
        class_weight: list[float] | str | None = None,
        loss_weight: float = 1.0,
        ignore_index: int | None = 255,
        loss_name: str = "loss_dice",
    ) -> None:
        super().__init__()
        self.smooth = check_number(smooth, "smooth", "DiceLossV030")
        self.exponent = check_number(exponent, "exponent", "DiceLossV030")
        self.reduction = check_reduction(reduction, "DiceLossV030")
        self.class_weight = get_class_weight(class_weight)
        self.loss_weight = check_number(loss_weight, "loss_weight", "DiceLossV030")
        self.ignore_index = ignore_index
        self.set_loss_name(loss_name)

    def extra_repr(self) -> str:
        return (
            f"smooth={self.smooth}, exponent={self.exponent}, "
            f"ignore_index={self.ignore_index}, loss_weight={self.loss_weight}"
        )

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
        """Compute the loss; ``weight`` and ``ignore_index`` are accepted and unused (as 0.30).

        Shapes:
            cls_score (N, C, H, W) logits; label (N, H, W) class indices.
        """
        reduction = resolve_reduction(self.reduction, reduction_override, "DiceLossV030")
        class_weight = None
        if self.class_weight is not None:
            check_class_weight_length(self.class_weight, cls_score.size(1), "DiceLossV030")
            class_weight = constant_like(self, self.class_weight, cls_score)
        loss = dice_loss_v030(
            cls_score.softmax(dim=1),
            label,
            smooth=self.smooth,
            exponent=self.exponent,
            class_weight=class_weight,
            ignore_index=self.ignore_index,
        )
        return self.loss_weight * weight_reduce_loss(loss, None, reduction, avg_factor)
