"""Cross-entropy losses: softmax CE, sigmoid (binary) CE and MMDetection-style mask CE."""

from __future__ import annotations

import warnings
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
from segwright.utils.errors import ConfigError, DatasetError

# PyTorch's own "ignore nothing" value for F.cross_entropy.
_TORCH_NO_IGNORE = -100


def _as_index_labels(label: torch.Tensor) -> torch.Tensor:
    """Integer labels as int64 (what F.cross_entropy and indexing need); floats pass through."""
    if label.is_floating_point() or label.dtype == torch.long:
        return label
    return label.long()


def cross_entropy(
    pred: torch.Tensor,
    label: torch.Tensor,
    weight: torch.Tensor | None = None,
    class_weight: torch.Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | torch.Tensor | None = None,
    ignore_index: int | None = _TORCH_NO_IGNORE,
    avg_non_ignore: bool = False,
    avg_by_class_weight: bool = True,
) -> torch.Tensor:
    """Softmax cross-entropy with MMSeg 1.2 (or 0.30) averaging (see :class:`CrossEntropyLoss`).

    Shapes:
        pred (N, C, H, W) logits; label (N, H, W) class indices; weight (N, H, W) or None.
        Returns a scalar, or the (N, H, W) map with ``reduction='none'``.
    """
    ignore = _TORCH_NO_IGNORE if ignore_index is None else int(ignore_index)
    label = _as_index_labels(label)
    try:
        loss = F.cross_entropy(
            pred, label, weight=class_weight, reduction="none", ignore_index=ignore
        )
    except IndexError as exc:  # on CPU; caught here at no cost, no per-iteration check
        raise DatasetError(
            f"A label value outside the {pred.shape[1]} predicted classes reached the loss "
            f"(torch: {exc}; ignore_index={ignore}). The label maps hold values outside "
            "[0, num_classes) and ignore_index: fix those files (the dataset's "
            "label_check='raise' names them before training; 'warn' only reports them) or set "
            "num_classes/ignore_index to match the data."
        ) from exc
    if avg_factor is None and reduction == "mean":
        valid = label != ignore
        if class_weight is not None and avg_by_class_weight:
            # Sum of the class weights of the pixels. Ignored pixels are looked up at class 0 and
            # zeroed (MMSeg 1.1+ indexes with the raw 255 and crashes, mmsegmentation#3734).
            # Without avg_non_ignore an ignored pixel counts 1, as it does when no class weight
            # is set, so the result equals MMSeg's wherever MMSeg runs.
            safe = torch.where(valid, label, torch.zeros_like(label))
            # (summed in the logits' precision, at least float32: float64 runs match MMSeg)
            weights = class_weight.to(torch.promote_types(class_weight.dtype, torch.float32))
            pixel_weight = weights[safe] * valid
            avg_factor = pixel_weight.sum()
            if not avg_non_ignore:
                avg_factor = avg_factor + (~valid).sum()
        elif avg_non_ignore:
            avg_factor = valid.sum()  # stays on the device: see weight_reduce_loss
        elif class_weight is None:
            avg_factor = label.numel()
        # else (MMSeg 0.30 with class weights): no avg_factor, the plain mean over all pixels.
    return weight_reduce_loss(
        loss, weight=_float(weight), reduction=reduction, avg_factor=avg_factor
    )


def _float(weight: torch.Tensor | None) -> torch.Tensor | None:
    return None if weight is None else weight.float()


def _check_binary_labels(label: torch.Tensor, valid: torch.Tensor, num_channels: int) -> None:
    """Raise a ConfigError when a non-ignored label cannot index the sigmoid channels.

    One host read per call when the labels are fine (a device sync on CUDA); the error path
    reads more, to name the bad label.
    """
    outside = label > 1 if num_channels == 1 else (label >= num_channels) | (label < 0)
    if not bool((outside & valid).any()):
        return
    values = label[valid]
    high = int(values.max())
    low = int(values.min())
    if num_channels == 1 and high > 1:
        raise ConfigError(
            f"CrossEntropyLoss(use_sigmoid=True) with out_channels=1 needs labels 0 or 1 "
            f"(besides ignore_index), but found label {high}. Use out_channels=num_classes for "
            "more than two classes, or map the labels to 0/1."
        )
    if num_channels > 1 and (high >= num_channels or low < 0):
        bad = high if high >= num_channels else low
        raise ConfigError(
            f"CrossEntropyLoss(use_sigmoid=True): label {bad} is outside the "
            f"{num_channels} predicted channels (and is not ignore_index)."
        )


def binary_cross_entropy(
    pred: torch.Tensor,
    label: torch.Tensor,
    weight: torch.Tensor | None = None,
    class_weight: torch.Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | torch.Tensor | None = None,
    ignore_index: int | None = _TORCH_NO_IGNORE,
    avg_non_ignore: bool = False,
) -> torch.Tensor:
    """Sigmoid (binary) cross-entropy with ignored pixels masked out.

    With one channel the labels must be 0/1; with C channels the labels are expanded to
    one-hot targets. ``class_weight`` is BCE's ``pos_weight`` per channel.

    Shapes:
        pred (N, C, H, W) or (N, C); label (N, H, W) / (N,) class indices, or a target of the
        same shape as ``pred``. Returns a scalar, or the element-wise map with 'none'.
    """
    ignore = _TORCH_NO_IGNORE if ignore_index is None else int(ignore_index)
    label = _as_index_labels(label)
    num_channels = pred.size(1)
    if num_channels == 1 and pred.dim() == label.dim() + 1:
        pred = pred.squeeze(1)
    if pred.dim() != label.dim():
        if not ((pred.dim() == 2 and label.dim() == 1) or (pred.dim() == 4 and label.dim() == 3)):
            raise ValueError(
                "binary_cross_entropy supports pred (N, C) with label (N,) or pred (N, C, H, W) "
                f"with label (N, H, W); got {tuple(pred.shape)} and {tuple(label.shape)}."
            )
        valid = (label >= 0) & (label != ignore)
        _check_binary_labels(label, valid, num_channels)
        target = torch.zeros_like(pred)
        safe = torch.where(valid, label, torch.zeros_like(label))
        target.scatter_(1, safe.unsqueeze(1), 1.0)
        valid_mask = valid.unsqueeze(1).expand_as(pred).to(pred.dtype)
        target = target * valid_mask
        if weight is None:
            element_weight = valid_mask
        else:
            element_weight = weight.float().unsqueeze(1).expand_as(pred) * valid_mask
        pos_weight = None
        if class_weight is not None:
            # pos_weight per channel (MMSeg hands it to PyTorch unshaped, which broadcasts it
            # along the last axis, W, and fails unless W == C).
            pos_weight = class_weight.view(-1, *([1] * (pred.dim() - 2)))
    else:
        valid = (label >= 0) & (label != ignore)
        if num_channels == 1:
            _check_binary_labels(label, valid, 1)
        valid_mask = valid.to(pred.dtype)
        # Ignored pixels get target 0; their loss is weighted 0 either way.
        target = torch.where(valid, label, torch.zeros_like(label)).to(pred.dtype)
        element_weight = valid_mask if weight is None else weight.float() * valid_mask
        pos_weight = class_weight
    if reduction == "mean" and avg_factor is None and avg_non_ignore:
        avg_factor = float(valid_mask.sum())
    loss = F.binary_cross_entropy_with_logits(pred, target, pos_weight=pos_weight, reduction="none")
    return weight_reduce_loss(loss, element_weight, reduction=reduction, avg_factor=avg_factor)


def mask_cross_entropy(
    pred: torch.Tensor,
    target: torch.Tensor,
    label: torch.Tensor,
    reduction: str = "mean",
    avg_factor: float | None = None,
    class_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """MMDetection's instance-mask BCE: each ROI is scored on the mask channel of its class.

    Shapes:
        pred (R, C, H, W) mask logits; target (R, H, W) binary masks; label (R,) class indices.
    """
    if reduction != "mean" or avg_factor is not None:
        raise ConfigError(
            "CrossEntropyLoss(use_mask=True) only supports reduction='mean' without avg_factor."
        )
    rois = torch.arange(pred.size(0), device=pred.device)
    pred_slice = pred[rois, label.long()]
    return F.binary_cross_entropy_with_logits(
        pred_slice, target.to(pred_slice.dtype), weight=class_weight, reduction="mean"
    )[None]


@MODELS.register_module()
class CrossEntropyLoss(NamedLoss):
    """Cross-entropy loss, as MMSegmentation 1.2 ``CrossEntropyLoss``.

    Softmax CE by default; ``use_sigmoid=True`` gives per-channel BCE (the choice for a decode
    head with ``out_channels=1``); ``use_mask=True`` is MMDetection's instance-mask BCE.

    Averaging with ``reduction='mean'`` (MMSeg 1.2): the summed pixel losses are divided by
    the number of **all** pixels, ignored ones included (``avg_non_ignore=False``, the default
    of both MMSeg 0.x and 1.x), or by the number of non-ignored pixels
    (``avg_non_ignore=True``, what ``torch.nn.CrossEntropyLoss`` does). With ``class_weight``
    the divisor is the sum of the pixels' class weights instead of their count. An element-wise
    ``weight`` (the OHEM mask) multiplies the losses but does not change the divisor.

    With ``class_weight`` ``w`` and ``l_i`` the loss of pixel ``i`` (0 when ignored), the mean
    is ``sum_i w[y_i] * l_i / D`` where ``D`` is, for ``avg_by_class_weight=True`` (MMSeg 1.x,
    the default), ``sum_{i kept} w[y_i] + eps`` plus the number of ignored pixels when
    ``avg_non_ignore=False``; for ``avg_by_class_weight=False`` (MMSeg 0.30, set by the
    translation of 0.x configs), the number of all pixels ``N*H*W`` (``avg_non_ignore=False``,
    a plain mean) or of the kept pixels ``+ eps`` (``avg_non_ignore=True``): the class weights
    scale the pixel losses only.

    Deliberate fixes (documented deviations from MMSeg 1.2):

    * ``class_weight`` together with ignored pixels works. MMSeg >= 1.1 looks up the class
      weight of every pixel *including* ignored ones (label 255) and fails with an index error
      (mmsegmentation#3734, #3831). Here ignored pixels weigh 0 with ``avg_non_ignore=True``
      (the weighted mean over non-ignored pixels, PyTorch's definition) and 1 with
      ``avg_non_ignore=False`` (they stay in the divisor, as without class weights). Batches
      without ignored pixels give exactly MMSeg 1.2's value.
    * With ``use_sigmoid=True`` and C > 1 channels, ``class_weight`` (BCE ``pos_weight``) is
      applied per channel; MMSeg broadcasts it along the image width and fails unless W == C.

    Args:
        use_sigmoid: Sigmoid BCE instead of softmax CE.
        use_mask: MMDetection's mask BCE (exclusive with ``use_sigmoid``); it needs per-ROI
            class labels passed as ``weight`` and is not usable from a decode head.
        reduction: 'none', 'mean' or 'sum'.
        class_weight: One weight per class, or the path of a weights file (see
            :func:`~segwright.models.losses.utils.load_class_weight_file`).
        loss_weight: Multiplies the loss.
        loss_name: Log key of this loss (``decode.<loss_name>``); keep ``loss`` in it so that
            it counts in the total loss.
        avg_non_ignore: Average over non-ignored pixels only.
        avg_by_class_weight: With ``class_weight`` (softmax): divide by the pixels' summed
            class weights (True, MMSeg 1.x) or by their count (False, MMSeg 0.30).
    """

    def __init__(
        self,
        use_sigmoid: bool = False,
        use_mask: bool = False,
        reduction: str = "mean",
        class_weight: list[float] | str | None = None,
        loss_weight: float = 1.0,
        loss_name: str = "loss_ce",
        avg_non_ignore: bool = False,
        avg_by_class_weight: bool = True,
    ) -> None:
        super().__init__()
        if use_sigmoid and use_mask:
            raise ConfigError(
                "CrossEntropyLoss: use_sigmoid and use_mask cannot both be True; set at most one."
            )
        self.use_sigmoid = bool(use_sigmoid)
        self.use_mask = bool(use_mask)
        self.reduction = check_reduction(reduction, "CrossEntropyLoss")
        self.loss_weight = check_number(loss_weight, "loss_weight", "CrossEntropyLoss")
        self.class_weight = get_class_weight(class_weight)
        self.avg_non_ignore = bool(avg_non_ignore)
        self.avg_by_class_weight = bool(avg_by_class_weight)
        self.set_loss_name(loss_name)
        if not self.avg_non_ignore and self.reduction == "mean":
            warnings.warn(
                "CrossEntropyLoss: avg_non_ignore=False (the MMSegmentation default) averages "
                "the loss over all pixels, ignored ones included. Set avg_non_ignore=True to "
                "average over non-ignored pixels only, like torch.nn.CrossEntropyLoss.",
                UserWarning,
                stacklevel=2,
            )

    def extra_repr(self) -> str:
        return (
            f"use_sigmoid={self.use_sigmoid}, reduction={self.reduction!r}, "
            f"avg_non_ignore={self.avg_non_ignore}, loss_weight={self.loss_weight}"
        )

    def forward(
        self,
        cls_score: torch.Tensor,
        label: torch.Tensor,
        weight: torch.Tensor | None = None,
        avg_factor: float | torch.Tensor | None = None,
        reduction_override: str | None = None,
        ignore_index: int | None = 255,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Compute the weighted loss.

        Args:
            cls_score: Logits.
            label: Class indices (255 or ``ignore_index`` = ignored).
            weight: Element-wise weight (e.g. the OHEM pixel mask), or None.
            avg_factor: Divisor for 'mean' instead of the automatic one.
            reduction_override: Replaces ``self.reduction`` for this call.
            ignore_index: Label value to ignore; None ignores nothing.
            **kwargs: Accepted for call compatibility and unused.

        Shapes:
            cls_score (N, C, H, W); label (N, H, W); weight (N, H, W).
        """
        reduction = resolve_reduction(self.reduction, reduction_override, "CrossEntropyLoss")
        class_weight = None
        if self.class_weight is not None:
            class_weight = constant_like(self, self.class_weight, cls_score)
        if self.use_mask:
            if weight is None:
                raise ConfigError(
                    "CrossEntropyLoss(use_mask=True) is MMDetection's instance-mask loss and needs "
                    "per-ROI class labels as `weight`; for semantic segmentation use "
                    "use_sigmoid=True or the default softmax loss."
                )
            loss = mask_cross_entropy(
                cls_score, label, weight, reduction, avg_factor, class_weight=class_weight
            )
        elif self.use_sigmoid:
            check_class_weight_length(self.class_weight, cls_score.size(1), "CrossEntropyLoss")
            loss = binary_cross_entropy(
                cls_score,
                label,
                weight,
                class_weight=class_weight,
                reduction=reduction,
                avg_factor=avg_factor,
                ignore_index=ignore_index,
                avg_non_ignore=self.avg_non_ignore,
            )
        else:
            check_class_weight_length(self.class_weight, cls_score.size(1), "CrossEntropyLoss")
            loss = cross_entropy(
                cls_score,
                label,
                weight,
                class_weight=class_weight,
                reduction=reduction,
                avg_factor=avg_factor,
                ignore_index=ignore_index,
                avg_non_ignore=self.avg_non_ignore,
                avg_by_class_weight=self.avg_by_class_weight,
            )
        return self.loss_weight * loss
