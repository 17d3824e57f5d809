"""Top-k pixel accuracy in percent, the ``acc_seg`` log value of the decode heads."""

from __future__ import annotations

import torch
from torch import nn

from segwright.models.losses.utils import EPS


def accuracy(
    pred: torch.Tensor,
    target: torch.Tensor,
    topk: int | tuple[int, ...] = 1,
    thresh: float | None = None,
    ignore_index: int | None = None,
) -> torch.Tensor | list[torch.Tensor]:
    """Percentage of (non-ignored) pixels whose label is among the top-k scores (MMSeg 1.2).

    Computed as ``(correct + eps) * 100 / (total + eps)`` with eps = float32 machine epsilon,
    as MMSeg does; so a batch whose pixels are all ignored reports 100.

    Args:
        pred: Scores.
        target: Labels.
        topk: k, or a tuple of k values (then a list of results is returned).
        thresh: If given, a prediction only counts when its score is above ``thresh``.
        ignore_index: Label value left out of both counts.

    Returns:
        A tensor of shape (1,) per k: one for an int ``topk``, a list for a tuple.

    Shapes:
        pred (N, C, ...) ; target (N, ...).
    """
    if isinstance(topk, int) and not isinstance(topk, bool):
        ks, single = (topk,), True
    elif isinstance(topk, tuple) and all(isinstance(k, int) for k in topk) and topk:
        ks, single = topk, False
    else:
        raise TypeError(f"accuracy: topk must be an int or a tuple of ints, got {topk!r}.")
    maxk = max(ks)
    if pred.size(0) == 0:
        results = [pred.new_tensor(0.0) for _ in ks]
        return results[0] if single else results
    if pred.dim() != target.dim() + 1 or pred.size(0) != target.size(0):
        raise ValueError(
            f"accuracy: pred {tuple(pred.shape)} must be (N, C, ...) for a target "
            f"{tuple(target.shape)} of shape (N, ...)."
        )
    if maxk > pred.size(1):
        raise ValueError(f"accuracy: top-{maxk} exceeds the {pred.size(1)} predicted classes.")
    # top-1 through max(): several times faster than topk on CPU (3-4x at 19 classes). On
    # exact ties it picks the first class, where topk's choice is unspecified.
    values, labels = pred.max(dim=1, keepdim=True) if maxk == 1 else pred.topk(maxk, dim=1)
    labels = labels.transpose(0, 1)  # (maxk, N, ...)
    correct = labels.eq(target.unsqueeze(0).expand_as(labels))
    if thresh is not None:
        correct = correct & (values > thresh).transpose(0, 1)
    if ignore_index is not None:
        # No boolean indexing or int(): both wait for the device in every training iteration.
        keep = target != ignore_index
        correct = correct & keep.unsqueeze(0)
        # float64, as Python's float would be, so the numbers stay exactly what they were.
        scale: torch.Tensor | float = (100.0 / (keep.sum(dtype=torch.float64) + EPS)).float()
    else:
        scale = 100.0 / (target.numel() + EPS)
    results = []
    for k in ks:
        correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True) + EPS
        results.append(correct_k * scale)
    return results[0] if single else results


class Accuracy(nn.Module):
    """Module form of :func:`accuracy` (``topk``, ``thresh``, ``ignore_index`` fixed)."""

    def __init__(
        self,
        topk: int | tuple[int, ...] = (1,),
        thresh: float | None = None,
        ignore_index: int | None = None,
    ) -> None:
        super().__init__()
        self.topk = topk
        self.thresh = thresh
        self.ignore_index = ignore_index

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor | list[torch.Tensor]:
        return accuracy(pred, target, self.topk, self.thresh, self.ignore_index)
