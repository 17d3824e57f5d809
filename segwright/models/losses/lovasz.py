"""Lovász losses (Berman et al., 2018): a convex surrogate of the Jaccard index (IoU).

``multi_class``: Lovász-softmax on softmax probabilities; ``binary``: Lovász-hinge on the
logits of a one-channel prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from segwright.models.losses.utils import (
    NamedLoss,
    check_number,
    check_reduction,
    get_class_weight,
    resolve_reduction,
    weight_reduce_loss,
)
from segwright.models.utils.device_constants import constant_like
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

Classes = str | Sequence[int]


def lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovász extension of the Jaccard loss w.r.t. errors sorted descending.

    Shapes:
        gt_sorted (P,) binary ground truth in the order of decreasing error -> (P,).
    """
    gt = gt_sorted.float()
    total = gt.sum()
    intersection = total - gt.cumsum(0)
    union = total + (1 - gt).cumsum(0)
    jaccard = 1.0 - intersection / union
    if gt.numel() > 1:
        jaccard = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
    return jaccard


def lovasz_hinge_flat(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary Lovász hinge of flat logits (P,) against 0/1 labels (P,)."""
    if labels.numel() == 0:
        return logits.sum() * 0.0  # only ignored pixels: zero loss, zero gradient
    signs = 2.0 * labels.float() - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = torch.sort(errors, dim=0, descending=True)
    grad = lovasz_grad(labels[perm.detach()])
    return torch.dot(F.relu(errors_sorted), grad)


def lovasz_softmax_flat(
    probs: torch.Tensor,
    labels: torch.Tensor,
    classes: Classes = "present",
    class_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multi-class Lovász-softmax of flat probabilities (P, C) against labels (P,).

    Averages over 'all' classes, the classes 'present' in ``labels``, or a list of classes.
    """
    if probs.numel() == 0:
        return probs.sum() * 0.0  # only ignored pixels
    num_classes = probs.size(1)
    chosen = list(range(num_classes)) if classes in ("all", "present") else list(classes)
    losses = []
    for c in chosen:
        fg = (labels == c).float()
        if classes == "present" and fg.sum() == 0:
            continue
        errors = (fg - probs[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, 0, descending=True)
        loss = torch.dot(errors_sorted, lovasz_grad(fg[perm.detach()]))
        if class_weight is not None:
            loss = loss * class_weight[c]
        losses.append(loss)
    if not losses:
        return probs.sum() * 0.0
    return torch.stack(losses).mean()


def _flatten_binary(
    logits: torch.Tensor, labels: torch.Tensor, ignore_index: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    logits, labels = logits.reshape(-1), labels.reshape(-1)
    if ignore_index is None:
        return logits, labels
    valid = labels != ignore_index
    return logits[valid], labels[valid]


def _flatten_probs(
    probs: torch.Tensor, labels: torch.Tensor, ignore_index: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    if probs.dim() == 3:
        probs = probs.unsqueeze(1)
    num_classes = probs.size(1)
    probs = probs.permute(0, 2, 3, 1).reshape(-1, num_classes)
    labels = labels.reshape(-1)
    if ignore_index is None:
        return probs, labels
    valid = labels != ignore_index
    return probs[valid], labels[valid]


def lovasz_hinge(
    logits: torch.Tensor,
    labels: torch.Tensor,
    classes: Classes = "present",
    per_image: bool = False,
    class_weight: torch.Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | None = None,
    ignore_index: int | None = 255,
) -> torch.Tensor:
    """Binary Lovász hinge; per image then reduced, or once over the batch (``classes`` unused).

    Shapes:
        logits (N, 1, H, W) or (N, H, W); labels (N, H, W) with values 0/1 (or ignore_index).
    """
    if per_image:
        per = [
            lovasz_hinge_flat(*_flatten_binary(logit[None], label[None], ignore_index))
            for logit, label in zip(logits, labels)
        ]
        return weight_reduce_loss(torch.stack(per), None, reduction, avg_factor)
    return lovasz_hinge_flat(*_flatten_binary(logits, labels, ignore_index))


def lovasz_softmax(
    probs: torch.Tensor,
    labels: torch.Tensor,
    classes: Classes = "present",
    per_image: bool = False,
    class_weight: torch.Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | None = None,
    ignore_index: int | None = 255,
) -> torch.Tensor:
    """Multi-class Lovász-softmax; per image then reduced, or once over the batch.

    Shapes:
        probs (N, C, H, W) probabilities; labels (N, H, W).
    """
    if per_image:
        per = [
            lovasz_softmax_flat(
                *_flatten_probs(prob[None], label[None], ignore_index),
                classes=classes,
                class_weight=class_weight,
            )
            for prob, label in zip(probs, labels)
        ]
        return weight_reduce_loss(torch.stack(per), None, reduction, avg_factor)
    return lovasz_softmax_flat(
        *_flatten_probs(probs, labels, ignore_index), classes=classes, class_weight=class_weight
    )


def _check_classes(classes: Any) -> Classes:
    if classes in ("all", "present"):
        return classes
    if isinstance(classes, (list, tuple)) and all(
        isinstance(c, int) and not isinstance(c, bool) for c in classes
    ):
        return list(classes)
    raise ConfigError(
        f"LovaszLoss: classes must be 'all', 'present' or a list of class indices, got {classes!r}."
    )


@MODELS.register_module()
class LovaszLoss(NamedLoss):
    """Lovász loss, as MMSegmentation 1.2 ``LovaszLoss``.

    ``per_image=True`` computes one loss per image and reduces them with ``reduction``;
    ``per_image=False`` computes a single loss over the whole batch, so there is nothing left
    to reduce, and MMSeg then requires ``reduction='none'`` (kept here, as a ConfigError that
    says why). The element-wise ``weight`` (OHEM mask) is ignored, as in MMSeg; pixels labelled
    ``ignore_index`` (255 from the decode head) are left out.

    Small differences from MMSeg, in cases where MMSeg fails: an image whose pixels are all
    ignored gives a zero scalar (MMSeg returns an empty tensor), and a single valid pixel works.

    Args:
        loss_type: 'multi_class' (Lovász-softmax) or 'binary' (Lovász-hinge, one channel).
        classes: 'present', 'all' or a list of class indices averaged by Lovász-softmax.
        per_image: One loss per image instead of one per batch.
        reduction: 'none', 'mean' or 'sum' (over images; 'none' when ``per_image=False``).
        class_weight: One weight per class (multi_class only), or a weights file path.
        loss_weight: Multiplies the loss.
        loss_name: Log key of this loss.
    """

    def __init__(
        self,
        loss_type: str = "multi_class",
        classes: Classes = "present",
        per_image: bool = False,
        reduction: str = "mean",
        class_weight: list[float] | str | None = None,
        loss_weight: float = 1.0,
        loss_name: str = "loss_lovasz",
    ) -> None:
        super().__init__()
        if loss_type not in ("binary", "multi_class"):
            raise ConfigError(
                f"LovaszLoss: loss_type must be 'binary' or 'multi_class', got {loss_type!r}."
            )
        self.loss_type = loss_type
        self.classes = _check_classes(classes)
        self.per_image = bool(per_image)
        self.reduction = check_reduction(reduction, "LovaszLoss")
        if not self.per_image and self.reduction != "none":
            raise ConfigError(
                f"LovaszLoss: per_image=False computes one loss for the whole batch, which "
                f"cannot be reduced again, so reduction must be 'none' (got {reduction!r}). "
                "Set reduction='none' (the loss is still a single number), or per_image=True "
                "to reduce per-image losses with 'mean'/'sum'. MMSegmentation has the same rule."
            )
        self.class_weight = get_class_weight(class_weight)
        self.loss_weight = check_number(loss_weight, "loss_weight", "LovaszLoss")
        self.set_loss_name(loss_name)

    def extra_repr(self) -> str:
        return (
            f"loss_type={self.loss_type!r}, classes={self.classes!r}, "
            f"per_image={self.per_image}, loss_weight={self.loss_weight}"
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
        """Compute the Lovász loss (``weight`` is unused, as in MMSeg).

        Shapes:
            cls_score (N, C, H, W) logits (C = 1 for 'binary'); label (N, H, W).
        """
        reduction = resolve_reduction(self.reduction, reduction_override, "LovaszLoss")
        class_weight = None
        if self.class_weight is not None:
            class_weight = constant_like(self, self.class_weight, cls_score)
        if self.loss_type == "binary":
            if cls_score.dim() == 4 and cls_score.size(1) != 1:
                raise ConfigError(
                    f"LovaszLoss(loss_type='binary') needs a one-channel prediction "
                    f"(out_channels=1), got {cls_score.size(1)} channels; use "
                    "loss_type='multi_class'."
                )
            loss = lovasz_hinge(
                cls_score,
                label,
                self.classes,
                self.per_image,
                class_weight=class_weight,
                reduction=reduction,
                avg_factor=avg_factor,
                ignore_index=ignore_index,
            )
        else:
            if cls_score.size(1) == 1:
                raise ConfigError(
                    "LovaszLoss(loss_type='multi_class') needs at least two channels (softmax); "
                    "for a one-channel prediction use loss_type='binary'."
                )
            if class_weight is not None and len(class_weight) != cls_score.size(1):
                raise ConfigError(
                    f"LovaszLoss: class_weight has {len(class_weight)} entries but the "
                    f"prediction has {cls_score.size(1)} channels."
                )
            loss = lovasz_softmax(
                F.softmax(cls_score, dim=1),
                label,
                self.classes,
                self.per_image,
                class_weight=class_weight,
                reduction=reduction,
                avg_factor=avg_factor,
                ignore_index=ignore_index,
            )
        return self.loss_weight * loss
