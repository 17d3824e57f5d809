"""``multiclass_nms``: per-class score threshold and NMS of R-CNN detections (MMDet 3.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from segwright.ops import batched_nms


def multiclass_nms(
    multi_bboxes: torch.Tensor,
    multi_scores: torch.Tensor,
    score_thr: float,
    nms_cfg: Mapping[str, Any] | None,
    max_num: int = -1,
    score_factors: torch.Tensor | None = None,
    return_inds: bool = False,
    box_dim: int = 4,
) -> tuple[torch.Tensor, ...]:
    """Keep, per class, the boxes scoring above ``score_thr`` that survive NMS.

    Every (box, class) pair is a candidate; classes never suppress each other
    (``batched_nms`` with the class as group). The last score column is the background and
    is dropped. ``score_factors`` (e.g. centerness) multiply the scores after thresholding.

    Args:
        multi_bboxes: One box per class, or one box shared by all classes.
        multi_scores: Class scores, background last.
        score_thr: Candidates must score above this.
        nms_cfg: ``batched_nms`` config (``dict(type='nms', iou_threshold=0.5)``).
        max_num: Keep at most this many (the best); <= 0 keeps all.
        score_factors: One factor per row, or None.
        return_inds: Also return each detection's index into the flattened ``(N * C)``
            candidates.
        box_dim: Box size (4).

    Returns:
        ``(dets, labels[, inds])``: boxes with their score as a last column, best first, and
        0-based class labels.

    Raises:
        ValueError: Box and score shapes that do not fit together.

    Shapes:
        multi_bboxes (N, C * 4) or (N, 4); multi_scores (N, C + 1) -> dets (M, 5), labels (M,),
        inds (M,).
    """
    if multi_scores.dim() != 2 or multi_bboxes.dim() != 2:
        raise ValueError(
            "multiclass_nms: multi_bboxes must be (N, C*4) or (N, 4) and multi_scores (N, C+1); "
            f"got {tuple(multi_bboxes.shape)} and {tuple(multi_scores.shape)}."
        )
    num_rows = multi_scores.size(0)
    num_classes = multi_scores.size(1) - 1
    if multi_bboxes.size(1) > box_dim:
        if multi_bboxes.size(1) != num_classes * box_dim or multi_bboxes.size(0) != num_rows:
            raise ValueError(
                f"multiclass_nms: multi_bboxes {tuple(multi_bboxes.shape)} does not give one "
                f"box per class for scores {tuple(multi_scores.shape)} ({num_classes} classes "
                "and a background column)."
            )
        bboxes = multi_bboxes.view(num_rows, -1, box_dim)
    else:
        bboxes = multi_bboxes[:, None].expand(num_rows, num_classes, box_dim)
    scores = multi_scores[:, :-1]
    labels = torch.arange(num_classes, dtype=torch.long, device=scores.device)
    labels = labels.view(1, -1).expand_as(scores)

    bboxes = bboxes.reshape(-1, box_dim)
    scores = scores.reshape(-1)
    labels = labels.reshape(-1)
    valid = scores > score_thr
    if score_factors is not None:
        factors = score_factors.view(-1, 1).expand(num_rows, num_classes).reshape(-1)
        scores = scores * factors
    inds = valid.nonzero(as_tuple=False).squeeze(1)
    bboxes, scores, labels = bboxes[inds], scores[inds], labels[inds]

    if bboxes.numel() == 0:
        dets = torch.cat([bboxes, scores[:, None]], -1)
        return (dets, labels, inds) if return_inds else (dets, labels)

    dets, keep = batched_nms(bboxes, scores, labels, dict(nms_cfg) if nms_cfg else nms_cfg)
    if max_num > 0:
        dets, keep = dets[:max_num], keep[:max_num]
    return (dets, labels[keep], inds[keep]) if return_inds else (dets, labels[keep])
