"""Non-maximum suppression with MMCV 2.1's semantics: ``nms`` and ``batched_nms``.

Boxes are sorted by ``scores.sort(0, descending=True)`` (the call MMCV's kernels make, so tied
scores keep the same order as in MMCV on the same device and PyTorch; on CPU that sort is not
stable beyond 16 elements), then each box, best first, suppresses every lower-ranked box whose
IoU with it is above ``iou_threshold``. IoUs are computed in the boxes' dtype with MMCV's
formula ``inter / (area_i + area_j - inter)`` (widths ``x2 - x1 + offset``), and compared with the
threshold rounded to float32 as MMCV's C++ signature does, so the kept set is the same bit for
bit. (MMCV's CUDA kernel tests ``inter > thr * union`` instead, which can decide an IoU within
rounding of the threshold the other way; we follow the CPU kernel on every device.) The
suppression runs on blocks of score-ranked boxes: all IoUs of a block against the boxes
below it at once, the greedy order inside a block resolved by a fixed-point iteration.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

NmsFn = Callable[..., tuple[torch.Tensor, torch.Tensor]]

_BLOCK = 256  # boxes per block of the greedy sweep
_PAIRS_PER_STEP = 1 << 22  # IoU entries computed at once (bounds the temporary memory)
_NMS_CFG_KEYS = ("iou_threshold", "offset", "score_threshold", "max_num")


def _check_boxes(boxes: torch.Tensor, scores: torch.Tensor, offset: int) -> None:
    if not isinstance(boxes, torch.Tensor) or not isinstance(scores, torch.Tensor):
        raise TypeError(
            f"nms: boxes and scores must be torch tensors, got {type(boxes).__name__} and "
            f"{type(scores).__name__}."
        )
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f"nms: boxes must have shape (N, 4) as (x1, y1, x2, y2), got {tuple(boxes.shape)}."
        )
    if scores.dim() != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(
            f"nms: scores must have shape (N,) with N = {boxes.shape[0]} (one per box), got "
            f"{tuple(scores.shape)}."
        )
    if offset not in (0, 1):
        raise ValueError(
            f"nms: offset must be 0 or 1 (box width is x2 - x1 + offset), got {offset}."
        )


def _iou_threshold_as(iou_threshold: float, dtype: torch.dtype) -> torch.Tensor:
    """The threshold as MMCV's kernel sees it: rounded to a C float, then compared in ``dtype``."""
    return torch.tensor(float(iou_threshold), dtype=torch.float32).to(dtype)


def _pack_dets(boxes: torch.Tensor, scores: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    return torch.cat((boxes[keep], scores[keep].reshape(-1, 1)), dim=1)


def _pairwise_overlaps(
    rows: torch.Tensor,
    row_areas: torch.Tensor,
    cols: torch.Tensor,
    col_areas: torch.Tensor,
    offset: int,
) -> torch.Tensor:
    """IoU of every row box with every column box, with the elementwise formula of MMCV's kernel.

    Shapes:
        rows (R, 4); row_areas (R,); cols (S, 4); col_areas (S,) -> (R, S).
    """
    w = torch.minimum(rows[:, None, 2], cols[None, :, 2])
    w -= torch.maximum(rows[:, None, 0], cols[None, :, 0])
    h = torch.minimum(rows[:, None, 3], cols[None, :, 3])
    h -= torch.maximum(rows[:, None, 1], cols[None, :, 1])
    if offset:
        w += offset
        h += offset
    inter = w.clamp_(min=0).mul_(h.clamp_(min=0))
    union = (row_areas[:, None] + col_areas[None, :]).sub_(inter)
    return inter.div_(union)


def _greedy_keep(
    boxes: torch.Tensor, iou_threshold: torch.Tensor, offset: int, block: int = _BLOCK
) -> torch.Tensor:
    """Which of the rank-ordered ``boxes`` survive greedy suppression.

    Inside a block, box j survives iff it is alive and no surviving earlier box of the block
    overlaps it; iterating ``keep = alive & ~any(keep[i] & over[i, j])`` from ``keep = alive``
    settles (at the latest after one step per box) on that unique solution. The block's
    survivors then suppress every later box at once.

    Shapes:
        boxes (N, 4) sorted by descending score -> (N,) bool.
    """
    num = boxes.shape[0]
    areas = (boxes[:, 2] - boxes[:, 0] + offset) * (boxes[:, 3] - boxes[:, 1] + offset)
    alive = torch.ones(num, dtype=torch.bool, device=boxes.device)
    for start in range(0, num, block):
        stop = min(start + block, num)
        # Only boxes still alive take part: a suppressed box suppresses nothing.
        members = alive[start:stop].nonzero().squeeze(1) + start
        if members.numel() == 0:
            continue
        member_boxes, member_areas = boxes[members], areas[members]
        over = (
            _pairwise_overlaps(member_boxes, member_areas, member_boxes, member_areas, offset)
            > iou_threshold
        )
        over.triu_(diagonal=1)
        keep = torch.ones(members.shape[0], dtype=torch.bool, device=boxes.device)
        for _ in range(members.shape[0]):
            updated = ~(over & keep[:, None]).any(0)
            if torch.equal(updated, keep):
                break
            keep = updated
        alive[members] = keep
        later = alive[stop:].nonzero().squeeze(1) + stop
        if later.numel() == 0:
            continue
        kept_boxes, kept_areas = member_boxes[keep], member_areas[keep]
        step = max(1, _PAIRS_PER_STEP // kept_boxes.shape[0])
        for col in range(0, later.shape[0], step):
            cols = later[col : col + step]
            overlaps = _pairwise_overlaps(kept_boxes, kept_areas, boxes[cols], areas[cols], offset)
            alive[cols] = ~(overlaps > iou_threshold).any(0)
    return alive


def nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    iou_threshold: float,
    offset: int = 0,
    score_threshold: float | None = 0,
    max_num: int = -1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy non-maximum suppression, as ``mmcv.ops.nms``.

    Args:
        boxes: Boxes as (x1, y1, x2, y2).
        scores: One score per box.
        iou_threshold: A box is suppressed by a better one when their IoU is above this.
        offset: 0 or 1, added to widths and heights (MMCV 2.x detectors use 0).
        score_threshold: When above 0, boxes scoring at most this are dropped first.
        max_num: When above 0, at most this many boxes (the best) are returned.

    Returns:
        ``(dets, keep)``: the kept boxes with their score as a fifth column, and their indices
        into ``boxes``, best score first. Not differentiable (``dets`` is a gather).

    Raises:
        ValueError: on shapes other than (N, 4) and (N,), or an offset other than 0 or 1.

    Shapes:
        boxes (N, 4); scores (N,) -> dets (M, 5), keep (M,) int64.
    """
    return _nms(boxes, scores, iou_threshold, offset, score_threshold, max_num)


def _nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    iou_threshold: float,
    offset: int = 0,
    score_threshold: float | None = 0,
    max_num: int = -1,
    groups: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`nms`; with ``groups``, the greedy sweep runs per group on the global ranking.

    Boxes of different groups must never overlap (``batched_nms`` shifts each group apart):
    the survivors and their order are then exactly those of one sweep over all boxes, ties
    included (the one sort is the same call), at the cost of the groups' own pairs only.
    """
    _check_boxes(boxes, scores, offset)
    candidates = None
    sub_boxes, sub_scores = boxes, scores
    if score_threshold is not None and score_threshold > 0:
        candidates = torch.nonzero(scores > score_threshold).squeeze(1)
        sub_boxes, sub_scores = boxes[candidates], scores[candidates]
        groups = None if groups is None else groups[candidates]
    with torch.no_grad():
        order = sub_scores.sort(0, descending=True)[1]
        ranked = sub_boxes[order]
        threshold = _iou_threshold_as(iou_threshold, sub_boxes.dtype)
        if groups is None:
            survives = _greedy_keep(ranked, threshold, offset)
        else:
            ranked_groups = groups[order]
            survives = torch.zeros(order.shape, dtype=torch.bool, device=order.device)
            for group in torch.unique(ranked_groups):
                rows = (ranked_groups == group).nonzero().squeeze(1)  # in rank order
                survives[rows] = _greedy_keep(ranked[rows], threshold, offset)
        keep = order[survives]
    if max_num > 0:
        keep = keep[:max_num]
    if candidates is not None:
        keep = candidates[keep]
    return _pack_dets(boxes, scores, keep), keep


#: What one group costs the per-group sweep, in IoU pairs of the one big sweep (the Python
#: loop and small tensors per group; measured on CPU: ~0.28 ms a group, ~7 ns a pair).
_PAIRS_PER_GROUP = 40000


def _sweep_per_group(boxes: torch.Tensor, idxs: torch.Tensor, class_agnostic: bool) -> bool:
    """Whether sweeping each group alone is cheaper than one sweep over all, and exact.

    Exact when the shifted groups cannot touch: coordinates >= 0 leave a gap of at least one
    between groups (a negative coordinate can make MMCV's shift overlap neighbouring groups,
    which then suppress each other in one sweep). Cheaper when the groups' pairs and a fixed
    cost per group stay under the pairs of one sweep: e.g. the RPN's ~8000 boxes on 4-5 levels.
    """
    if class_agnostic or boxes.numel() == 0 or bool(boxes.min() < 0):
        return False
    counts = torch.unique(idxs, return_counts=True)[1].to(torch.float64)
    cost = float((counts * counts).sum()) + _PAIRS_PER_GROUP * counts.numel()
    return cost < float(idxs.numel()) ** 2


def _batched_nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    idxs: torch.Tensor,
    nms_cfg: dict | None,
    class_agnostic: bool,
    nms_fn: NmsFn,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batched_nms`` with the suppression done by ``nms_fn`` (the fast one or the reference)."""
    if not isinstance(boxes, torch.Tensor) or boxes.dim() != 2 or boxes.shape[1] != 4:
        shape = tuple(boxes.shape) if isinstance(boxes, torch.Tensor) else type(boxes).__name__
        raise ValueError(f"batched_nms: boxes must have shape (N, 4), got {shape}.")
    num = boxes.shape[0]
    if scores.shape != (num,) or idxs.shape != (num,):
        raise ValueError(
            f"batched_nms: scores and idxs must have shape ({num},) like the boxes, got "
            f"{tuple(scores.shape)} and {tuple(idxs.shape)}."
        )
    if nms_cfg is None:  # no suppression: everything, best first
        scores, order = scores.sort(descending=True)
        return torch.cat([boxes[order], scores[:, None]], -1), order

    cfg = dict(nms_cfg)
    class_agnostic = cfg.pop("class_agnostic", class_agnostic)
    nms_type = cfg.pop("type", "nms")
    if isinstance(nms_type, str):
        if nms_type != "nms":
            raise ValueError(
                f"batched_nms: nms_cfg type {nms_type!r} is not supported; segwright implements "
                "type='nms' (or pass a callable as type)."
            )
        nms_type = nms_fn
    split_thr = cfg.pop("split_thr", 10000)
    if "iou_thr" in cfg:
        warnings.warn(
            "batched_nms: nms_cfg key 'iou_thr' is deprecated, use 'iou_threshold'.",
            DeprecationWarning,
        )
        cfg["iou_threshold"] = cfg.pop("iou_thr")
    unknown = sorted(set(cfg) - set(_NMS_CFG_KEYS))
    if unknown:
        raise ValueError(
            f"batched_nms: unknown nms_cfg keys {unknown}; expected some of "
            f"{list(_NMS_CFG_KEYS) + ['type', 'class_agnostic', 'split_thr']}."
        )
    if num == 0:  # MMCV fails here (max of an empty tensor); an empty answer is what callers want
        return boxes.new_zeros(0, 5), torch.zeros(0, dtype=torch.long, device=boxes.device)

    if class_agnostic:
        boxes_for_nms = boxes
    else:
        # Shift each class by its index times (largest coordinate + 1) so classes never overlap.
        span = boxes.max() + torch.tensor(1).to(boxes)
        boxes_for_nms = boxes + (idxs.to(boxes) * span)[:, None]

    if num < split_thr and nms_type is nms and _sweep_per_group(boxes, idxs, class_agnostic):
        dets, keep = _nms(boxes_for_nms, scores, groups=idxs, **cfg)  # same result, cheaper
        boxes = boxes[keep]
        scores = dets[:, -1]
    elif num < split_thr:
        dets, keep = nms_type(boxes_for_nms, scores, **cfg)
        boxes = boxes[keep]
        scores = dets[:, -1]
    else:  # one class at a time, to bound memory on huge inputs
        max_num = cfg.pop("max_num", -1)
        kept = scores.new_zeros(scores.shape, dtype=torch.bool)
        kept_scores = scores.new_zeros(scores.shape)
        for cls in torch.unique(idxs):
            members = (idxs == cls).nonzero().view(-1)
            dets, keep = nms_type(boxes_for_nms[members], scores[members], **cfg)
            kept[members[keep]] = True
            kept_scores[members[keep]] = dets[:, -1]
        keep = kept.nonzero().view(-1)
        scores, order = kept_scores[keep].sort(descending=True)
        keep = keep[order]
        boxes = boxes[keep]
        if max_num > 0:
            keep, boxes, scores = keep[:max_num], boxes[:max_num], scores[:max_num]
    return torch.cat([boxes, scores[:, None]], -1), keep


def batched_nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    idxs: torch.Tensor,
    nms_cfg: dict | None,
    class_agnostic: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """NMS within each group of ``idxs`` (class or level), as ``mmcv.ops.batched_nms``.

    Args:
        boxes: Boxes as (x1, y1, x2, y2).
        scores: One score per box.
        idxs: Group of each box; boxes of different groups never suppress each other.
        nms_cfg: ``dict(type='nms', iou_threshold=..., [offset, score_threshold, max_num,
            split_thr=10000, class_agnostic])``; None skips suppression (all boxes, sorted).
            From ``split_thr`` boxes on, groups are suppressed one at a time.
        class_agnostic: Suppress across groups too (``nms_cfg['class_agnostic']`` wins).

    Returns:
        ``(dets, keep)``: kept boxes with their score as a fifth column, and their indices,
        best score first. Empty input gives empty results (where MMCV raises).

    Raises:
        ValueError: on bad shapes, an unknown ``nms_cfg`` key, or a ``type`` other than 'nms'.

    Shapes:
        boxes (N, 4); scores (N,); idxs (N,) -> dets (M, 5), keep (M,) int64.
    """
    return _batched_nms(boxes, scores, idxs, nms_cfg, class_agnostic, nms)
