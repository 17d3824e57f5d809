"""Dice loss with the MMSegmentation >= 1.1 definition (one global dice per image)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from segwright.models.losses.utils import (
    NamedLoss,
    check_number,
    check_reduction,
    resolve_reduction,
    weight_reduce_loss,
)
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def expand_onehot_labels_dice(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """One-hot targets for ``pred``'s C channels; labels >= C (e.g. 255) become all-zero.

    Shapes:
        pred (N, C, H, W); target (N, H, W) -> (N, C, H, W).
    """
    num_classes = pred.shape[1]
    clamped = target.long().clamp(min=0, max=num_classes)
    one_hot = F.one_hot(clamped, num_classes + 1)[..., :num_classes]
    return one_hot.permute(0, 3, 1, 2)


def dice_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    eps: float = 1e-3,
    reduction: str = "mean",
    naive_dice: bool = False,
    avg_factor: float | None = None,
    ignore_index: int | None = 255,
    smooth: float | None = None,
    exponent: float = 2,
) -> torch.Tensor:
    """Per-image dice loss over all (kept) channels and pixels together.

    With ``a = sum(p * t)``: V-Net (default) ``d = 2a / ((sum p^e + eps) + (sum t^e + eps))``;
    naive ``d = (2a + eps) / (sum p + sum t + eps)``; loss ``1 - d``. When ``smooth`` is set,
    the MMSeg 0.x smoothing replaces eps: ``d = (2a + smooth) / (sum p^e + sum t^e + smooth)``
    (exponent 1 when naive). The channel numbered ``ignore_index`` is dropped first.

    Shapes:
        pred (N, C, H, W) probabilities; target (N, C, H, W); weight (N,) or None.
        Returns a scalar, or (N,) with ``reduction='none'``.
    """
    num_classes = pred.shape[1]
    if ignore_index is not None and 0 <= ignore_index < num_classes:
        if num_classes == 1:
            raise ConfigError(
                f"DiceLoss: ignore_index={ignore_index} drops the only predicted channel, so "
                "nothing is left to score. Use another ignore_index (255 keeps every channel)."
            )
        keep = torch.arange(num_classes, device=pred.device) != ignore_index
        pred = pred[:, keep]
        target = target[:, keep]
    p = pred.flatten(1)
    t = target.flatten(1).float()
    overlap = (p * t).sum(1)
    if naive_dice:
        p_sum, t_sum = p.sum(1), t.sum(1)
        if smooth is None:
            dice = (2 * overlap + eps) / (p_sum + t_sum + eps)
        else:
            dice = (2 * overlap + smooth) / (p_sum + t_sum + smooth)
    else:
        if exponent == 2:
            p_pow, t_pow = (p * p).sum(1), (t * t).sum(1)
        else:
            p_pow, t_pow = p.pow(exponent).sum(1), t.pow(exponent).sum(1)
        if smooth is None:
            dice = (2 * overlap) / ((p_pow + eps) + (t_pow + eps))
        else:
            dice = (2 * overlap + smooth) / (p_pow + t_pow + smooth)
    loss = 1 - dice
    if weight is not None and (weight.dim() != 1 or weight.numel() != loss.numel()):
        raise ConfigError(
            f"DiceLoss accepts only one weight per image (shape ({loss.numel()},)), got a weight "
            f"of shape {tuple(weight.shape)}. A pixel weight map such as the one of "
            "OHEMPixelSampler cannot weight a per-image dice; remove the sampler or use it "
            "with CrossEntropyLoss/FocalLoss only."
        )
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class DiceLoss(NamedLoss):
    """Dice loss, as MMSegmentation >= 1.1 (1.2) ``DiceLoss``.

    Not the MMSeg 0.x / 1.0 definition: one dice per image over all channels and pixels
    together (not a class average), **sigmoid** activation by default, and ``ignore_index``
    removes the *channel* with that index (e.g. 0 drops background); it is not a pixel mask.
    Ignored pixels (label 255) get an all-zero one-hot target, but their predictions still
    enter the denominator.

    When the prediction has one channel and the labels are (N, H, W) indices, the one-hot
    target of that channel is ``label == 0`` (MMSeg 1.2's one-hot keeps the first channel);
    pass a (N, 1, H, W) float target to score the foreground instead.

    Compatibility additions (MMSeg 0.x keys): ``smooth`` and ``exponent``. ``exponent`` is the
    power of the V-Net denominator (default 2 = MMSeg 1.2). ``smooth=None`` (default) keeps
    MMSeg 1.2's eps placement exactly; a number switches to the 0.x smoothing
    ``(2a + smooth) / (sum p^e + sum t^e + smooth)``. The 0.x per-class averaging is *not*
    reproduced.

    Args:
        use_sigmoid: Sigmoid activation (default); False uses softmax when C > 1.
        activate: Apply the activation (False when ``cls_score`` already holds probabilities).
        reduction: 'none', 'mean' or 'sum' over the images.
        naive_dice: First-power denominator ``(2a + eps) / (sum p + sum t + eps)``.
        loss_weight: Multiplies the loss.
        ignore_index: Channel index to leave out; None or a value >= C keeps every channel.
        eps: Smoothing that avoids a division by zero.
        smooth: 0.x-style smoothing (see above), or None.
        exponent: Power in the V-Net denominator.
        loss_name: Log key of this loss.
    """

    def __init__(
        self,
        use_sigmoid: bool = True,
        activate: bool = True,
        reduction: str = "mean",
        naive_dice: bool = False,
        loss_weight: float = 1.0,
        ignore_index: int | None = 255,
        eps: float = 1e-3,
        smooth: float | None = None,
        exponent: float = 2,
        loss_name: str = "loss_dice",
    ) -> None:
        super().__init__()
        self.use_sigmoid = bool(use_sigmoid)
        self.activate = bool(activate)
        self.reduction = check_reduction(reduction, "DiceLoss")
        self.naive_dice = bool(naive_dice)
        self.loss_weight = check_number(loss_weight, "loss_weight", "DiceLoss")
        self.ignore_index = ignore_index
        self.eps = check_number(eps, "eps", "DiceLoss")
        self.smooth = None if smooth is None else check_number(smooth, "smooth", "DiceLoss")
        self.exponent = check_number(exponent, "exponent", "DiceLoss")
        self.set_loss_name(loss_name)

    def extra_repr(self) -> str:
        return (
            f"use_sigmoid={self.use_sigmoid}, naive_dice={self.naive_dice}, "
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
        """Compute the dice loss.

        ``ignore_index`` given at call time is unused, as in MMSeg: the channel to drop is the
        constructor's ``ignore_index``.

        Shapes:
            cls_score (N, C, H, W) logits; label (N, H, W) indices or (N, C, H, W) targets;
            weight (N,) per image, or None.
        """
        target = label
        if cls_score.shape != label.shape:
            target = expand_onehot_labels_dice(cls_score, label)
        reduction = resolve_reduction(self.reduction, reduction_override, "DiceLoss")
        pred = cls_score
        if self.activate:
            if self.use_sigmoid:
                pred = pred.sigmoid()
            elif pred.shape[1] != 1:
                pred = pred.softmax(dim=1)
        loss = dice_loss(
            pred,
            target,
            weight,
            eps=self.eps,
            reduction=reduction,
            naive_dice=self.naive_dice,
            avg_factor=avg_factor,
            ignore_index=self.ignore_index,
            smooth=self.smooth,
            exponent=self.exponent,
        )
        return self.loss_weight * loss
