"""Online hard example mining over pixels (OHEM), as MMSegmentation's ``OHEMPixelSampler``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segwright.models.samplers.base import BasePixelSampler
from segwright.registry import TASK_UTILS
from segwright.utils.errors import ConfigError


def _loss_modules(loss_decode: Any) -> list[nn.Module]:
    if isinstance(loss_decode, nn.ModuleList | list | tuple):
        return list(loss_decode)
    return [loss_decode]


@TASK_UTILS.register_module()
class OHEMPixelSampler(BasePixelSampler):
    """Keep the hard pixels of a batch: weight 1 for kept pixels, 0 for the others.

    Identical in MMSeg 0.30 and 1.2. ``batch_kept = min_kept * N`` (per batch, not per
    image); pixels labelled ``context.ignore_index`` always get 0.

    * ``thresh`` given: the softmax probability of each valid pixel's true class is compared
      with ``threshold = max(thresh, p_sorted[min(batch_kept, n_valid - 1)])`` (ascending
      order); pixels with probability strictly below it are kept. So every pixel below
      ``thresh`` is kept, and the threshold rises until about ``batch_kept`` pixels are
      (ties at the threshold are dropped; with ``n_valid <= batch_kept`` the most confident
      pixel is dropped unless ``thresh`` exceeds it).
    * ``thresh=None``: the per-pixel losses of all ``context.loss_decode`` modules
      (``reduction_override='none'``, ``loss_weight`` included) are summed and the
      ``batch_kept`` largest are kept.

    The same map weights every loss of the head; CE still divides by all pixels (or by the
    non-ignored ones with ``avg_non_ignore``), not by the kept count.

    Beyond MMSeg (which fails in these cases): a loss map of shape (N, C, H, W) (sigmoid CE,
    focal) is summed over channels; losses without a per-pixel map (Dice, Lovász, Tversky) or
    a one-channel prediction with ``thresh`` raise a ConfigError that says what to change.

    Args:
        context: The owning decode head; its ``ignore_index`` and ``loss_decode`` are used.
        thresh: Probability threshold, or None for loss-based selection.
        min_kept: Pixels to keep per image at least (times the batch size); must be > 1.
    """

    def __init__(self, context: Any, thresh: float | None = None, min_kept: int = 100000) -> None:
        super().__init__()
        if isinstance(min_kept, bool) or not isinstance(min_kept, int) or min_kept <= 1:
            raise ConfigError(
                f"OHEMPixelSampler: min_kept must be an integer greater than 1, got {min_kept!r}."
            )
        if thresh is not None and (isinstance(thresh, bool) or not isinstance(thresh, int | float)):
            raise ConfigError(
                f"OHEMPixelSampler: thresh must be a probability or None, got {thresh!r}."
            )
        self.context = context
        self.thresh = thresh
        self.min_kept = min_kept

    def __repr__(self) -> str:
        return f"OHEMPixelSampler(thresh={self.thresh}, min_kept={self.min_kept})"

    def _true_class_prob(self, seg_logit: torch.Tensor, seg_label: torch.Tensor) -> torch.Tensor:
        if seg_logit.size(1) == 1:
            raise ConfigError(
                "OHEMPixelSampler with thresh needs softmax probabilities over "
                "out_channels == num_classes channels; this head predicts one channel. Use "
                "thresh=None (loss-based mining) or out_channels=num_classes."
            )
        ignore_index = self.context.ignore_index
        safe = torch.where(seg_label == ignore_index, torch.zeros_like(seg_label), seg_label)
        prob = F.softmax(seg_logit, dim=1)
        return prob.gather(1, safe.unsqueeze(1)).squeeze(1)

    def _pixel_losses(self, seg_logit: torch.Tensor, seg_label: torch.Tensor) -> torch.Tensor:
        total: torch.Tensor | float = 0.0
        for loss_module in _loss_modules(self.context.loss_decode):
            loss = loss_module(
                seg_logit,
                seg_label,
                weight=None,
                ignore_index=self.context.ignore_index,
                reduction_override="none",
            )
            if loss.dim() == 4 and loss.shape[0] == seg_label.shape[0]:
                loss = loss.sum(dim=1)
            if loss.shape != seg_label.shape:
                name = type(loss_module).__name__
                raise ConfigError(
                    f"OHEMPixelSampler(thresh=None) ranks pixels by their loss, but {name} "
                    f"returned shape {tuple(loss.shape)} instead of one value per pixel "
                    f"{tuple(seg_label.shape)}. Give the sampler a thresh, or use per-pixel "
                    "losses (CrossEntropyLoss, FocalLoss) in loss_decode."
                )
            total = total + loss
        return total  # type: ignore[return-value]

    @torch.no_grad()
    def sample(self, seg_logit: torch.Tensor, seg_label: torch.Tensor) -> torch.Tensor:
        """Per-pixel weights (1 = kept) for the losses of the head.

        Shapes:
            seg_logit (N, C, H, W) logits at label size; seg_label (N, 1, H, W) or (N, H, W)
            -> weight (N, H, W) in the logits' dtype.
        """
        if seg_label.dim() == 4:
            if seg_label.size(1) != 1:
                raise ValueError(
                    f"OHEMPixelSampler: seg_label must be (N, 1, H, W), got {tuple(seg_label.shape)}."
                )
            seg_label = seg_label.squeeze(1)
        if seg_logit.shape[2:] != seg_label.shape[1:]:
            raise ValueError(
                f"OHEMPixelSampler: logits {tuple(seg_logit.shape)} and labels "
                f"{tuple(seg_label.shape)} differ in size; resize the logits to the labels first."
            )
        seg_label = seg_label.long()
        batch_kept = self.min_kept * seg_label.size(0)
        valid_mask = seg_label != self.context.ignore_index
        if self.thresh is not None:
            prob = self._true_class_prob(seg_logit, seg_label)
            threshold = self._threshold(prob, valid_mask, batch_kept)
            return ((prob < threshold) & valid_mask).to(seg_logit.dtype)
        # By loss: the valid pixels' losses in their order (a sort of all pixels would break
        # ties among equal losses differently from MMSeg's sort of the valid ones).
        seg_weight = seg_logit.new_zeros(seg_label.shape)
        valid_weight = seg_weight[valid_mask]
        losses = self._pixel_losses(seg_logit, seg_label)
        _, order = losses[valid_mask].sort(descending=True)
        valid_weight[order[:batch_kept]] = 1.0
        seg_weight[valid_mask] = valid_weight
        return seg_weight

    def _threshold(self, prob: torch.Tensor, valid: torch.Tensor, batch_kept: int) -> torch.Tensor:
        """``max(thresh, p_sorted[min(batch_kept, n_valid - 1)])`` as a 0-dim tensor, with no
        host read (a device sync on CUDA, where MMSeg reads it).

        Ignored pixels become NaN, which sorts after every number: the first ``n_valid``
        sorted values are then the valid pixels' in MMSeg's ascending order (NaN ones of bad
        logits last in both), and the one at the clamped index is MMSeg's. Without a valid pixel
        it is NaN and no pixel is kept, as in MMSeg. The comparison with ``thresh`` happens in
        the probabilities' dtype, as torch compares them with a Python float.
        """
        ranked = torch.where(valid, prob, torch.full_like(prob, float("nan"))).flatten().sort()
        count = valid.sum().reshape(1)
        index = (count - 1).clamp(min=0, max=batch_kept)
        min_threshold = ranked.values.gather(0, index)[0]
        return torch.maximum(min_threshold, torch.full_like(min_threshold, float(self.thresh)))
