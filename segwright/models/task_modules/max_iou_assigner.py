"""Assign priors to ground truth by IoU thresholds, as MMDetection 3.3's ``MaxIoUAssigner``."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch

from segwright.models.task_modules._boxes import check_boxes, instance_field
from segwright.models.task_modules.assign_result import AssignResult
from segwright.registry import TASK_UTILS, build_if_dict
from segwright.utils.errors import ConfigError

OWNER = "MaxIoUAssigner"


def _threshold(value: Any, name: str) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise ConfigError(f"{OWNER}: {name} must be a number, got {value!r}.")


@TASK_UTILS.register_module()
class MaxIoUAssigner:
    """Label each prior positive, negative or ignored from its IoU with the ground truth.

    In order, for each prior (``max`` = its best IoU over the ground truths):

    1. -1 (ignored) by default;
    2. 0 (negative) when ``0 <= max < neg_iou_thr`` (or ``lo <= max < hi`` for a pair);
    3. positive for its best ground truth when ``max >= pos_iou_thr``;
    4. with ``match_low_quality``, each ground truth whose own best IoU is ``>= min_pos_iou``
       claims the prior(s) reaching that IoU (all of them with ``gt_max_assign_all``, else
       the first), later ground truths overriding earlier ones.

    Priors whose IoF with an ignore box exceeds ``ignore_iof_thr`` (> 0) get overlaps -1
    with every ground truth first, so they are neither negative nor (normally) positive.

    Args:
        pos_iou_thr: IoU at or above which a prior is positive.
        neg_iou_thr: IoU below which a prior is negative, or a ``(lo, hi)`` range.
        min_pos_iou: Lowest IoU a low-quality match may have.
        gt_max_assign_all: Low-quality matching takes every prior tied at the maximum.
        ignore_iof_thr: IoF with ignore boxes above which priors are ignored; <= 0 disables.
        ignore_wrt_candidates: IoF over the prior's area (True) or the ignore box's (False).
        match_low_quality: Apply step 4 (RPN and R-CNN do; recall over precision).
        gpu_assign_thr: With more ground truths than this (> 0), assign on the CPU.
        iou_calculator: An overlap calculator, or its config.
        perm_repeat_gt_cfg: Not supported (must be None).
    """

    def __init__(
        self,
        pos_iou_thr: float,
        neg_iou_thr: float | Sequence[float],
        min_pos_iou: float = 0.0,
        gt_max_assign_all: bool = True,
        ignore_iof_thr: float = -1,
        ignore_wrt_candidates: bool = True,
        match_low_quality: bool = True,
        gpu_assign_thr: float = -1,
        iou_calculator: dict[str, Any] | Callable[..., torch.Tensor] = dict(  # noqa: B006
            type="BboxOverlaps2D"
        ),
        perm_repeat_gt_cfg: dict[str, Any] | None = None,
    ) -> None:
        self.pos_iou_thr = _threshold(pos_iou_thr, "pos_iou_thr")
        if isinstance(neg_iou_thr, Sequence) and not isinstance(neg_iou_thr, str):
            if len(neg_iou_thr) != 2:
                raise ConfigError(
                    f"{OWNER}: neg_iou_thr must be a number or a (low, high) pair, "
                    f"got {neg_iou_thr!r}."
                )
            self.neg_iou_thr: float | tuple[float, float] = (
                _threshold(neg_iou_thr[0], "neg_iou_thr[0]"),
                _threshold(neg_iou_thr[1], "neg_iou_thr[1]"),
            )
        else:
            self.neg_iou_thr = _threshold(neg_iou_thr, "neg_iou_thr")
        self.min_pos_iou = _threshold(min_pos_iou, "min_pos_iou")
        self.gt_max_assign_all = bool(gt_max_assign_all)
        self.ignore_iof_thr = _threshold(ignore_iof_thr, "ignore_iof_thr")
        self.ignore_wrt_candidates = bool(ignore_wrt_candidates)
        self.match_low_quality = bool(match_low_quality)
        self.gpu_assign_thr = _threshold(gpu_assign_thr, "gpu_assign_thr")
        if perm_repeat_gt_cfg is not None:
            raise ConfigError(f"{OWNER}: perm_repeat_gt_cfg is not supported; remove it (None).")
        self.perm_repeat_gt_cfg = None
        self.iou_calculator = build_if_dict(iou_calculator, TASK_UTILS, key="iou_calculator")
        if not callable(self.iou_calculator):
            raise ConfigError(
                f"{OWNER}: iou_calculator must be a config dict or a callable, "
                f"got {self.iou_calculator!r}."
            )

    def assign(
        self,
        pred_instances: Any,
        gt_instances: Any,
        gt_instances_ignore: Any | None = None,
        **kwargs: Any,
    ) -> AssignResult:
        """Assign every prior of ``pred_instances`` to a ground truth, background or ignore.

        Args:
            pred_instances: Has ``.priors`` (or ``.bboxes``): anchors or proposals.
            gt_instances: Has ``.bboxes`` and ``.labels``.
            gt_instances_ignore: Has ``.bboxes``, the boxes to ignore; or None.

        Shapes:
            priors (N, 4); gt bboxes (G, 4); labels (G,) -> an AssignResult over N priors.
        """
        priors = check_boxes(
            instance_field(pred_instances, ("priors", "bboxes"), OWNER, "pred_instances"),
            "pred_instances.priors",
            OWNER,
            widths=(4, 5),
        )
        gt_bboxes = check_boxes(
            instance_field(gt_instances, ("bboxes",), OWNER, "gt_instances"),
            "gt_instances.bboxes",
            OWNER,
        )
        gt_labels = instance_field(gt_instances, ("labels",), OWNER, "gt_instances")
        if gt_labels.dim() != 1 or gt_labels.numel() != gt_bboxes.size(0):
            raise ValueError(
                f"{OWNER}: gt_instances has {gt_bboxes.size(0)} boxes but labels of shape "
                f"{tuple(gt_labels.shape)}; one label per box is needed."
            )
        ignore_bboxes = None
        if gt_instances_ignore is not None:
            ignore_bboxes = check_boxes(
                instance_field(gt_instances_ignore, ("bboxes",), OWNER, "gt_instances_ignore"),
                "gt_instances_ignore.bboxes",
                OWNER,
            )

        device = priors.device
        on_cpu = 0 < self.gpu_assign_thr < gt_bboxes.size(0)
        if on_cpu:
            priors, gt_bboxes, gt_labels = priors.cpu(), gt_bboxes.cpu(), gt_labels.cpu()
            if ignore_bboxes is not None:
                ignore_bboxes = ignore_bboxes.cpu()

        overlaps = self.iou_calculator(gt_bboxes, priors)
        if (
            self.ignore_iof_thr > 0
            and ignore_bboxes is not None
            and ignore_bboxes.numel() > 0
            and priors.numel() > 0
        ):
            if self.ignore_wrt_candidates:
                ignore_iof = self.iou_calculator(priors, ignore_bboxes, mode="iof").max(dim=1)[0]
            else:
                ignore_iof = self.iou_calculator(ignore_bboxes, priors, mode="iof").max(dim=0)[0]
            overlaps[:, ignore_iof > self.ignore_iof_thr] = -1

        result = self.assign_wrt_overlaps(overlaps, gt_labels)
        if on_cpu:
            result.gt_inds = result.gt_inds.to(device)
            result.max_overlaps = result.max_overlaps.to(device)
            if result.labels is not None:
                result.labels = result.labels.to(device)
        return result

    def assign_wrt_overlaps(self, overlaps: torch.Tensor, gt_labels: torch.Tensor) -> AssignResult:
        """The assignment from a ground-truth x prior overlap matrix.

        Shapes:
            overlaps (G, N); gt_labels (G,) -> an AssignResult over N priors.
        """
        num_gts, num_priors = overlaps.shape
        gt_inds = overlaps.new_full((num_priors,), -1, dtype=torch.long)
        if num_gts == 0 or num_priors == 0:
            if num_gts == 0:
                gt_inds.fill_(0)
            return AssignResult(
                num_gts,
                gt_inds,
                overlaps.new_zeros((num_priors,)),
                overlaps.new_full((num_priors,), -1, dtype=torch.long),
            )

        max_overlaps, argmax_overlaps = overlaps.max(dim=0)
        if isinstance(self.neg_iou_thr, tuple):
            low, high = self.neg_iou_thr
            negative = (max_overlaps >= low) & (max_overlaps < high)
        else:
            negative = (max_overlaps >= 0) & (max_overlaps < self.neg_iou_thr)
        gt_inds[negative] = 0
        positive = max_overlaps >= self.pos_iou_thr
        gt_inds[positive] = argmax_overlaps[positive] + 1

        if self.match_low_quality:
            gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)
            if self.gt_max_assign_all:
                claims = overlaps == gt_max_overlaps[:, None]
            else:
                claims = torch.zeros_like(overlaps, dtype=torch.bool)
                claims[torch.arange(num_gts, device=overlaps.device), gt_argmax_overlaps] = True
            claims &= (gt_max_overlaps >= self.min_pos_iou)[:, None]
            # The last ground truth claiming a prior wins (MMDet loops over them in order).
            last = num_gts - 1 - claims.flip(0).to(torch.uint8).argmax(dim=0)
            claimed = claims.any(dim=0)
            gt_inds = torch.where(claimed, last + 1, gt_inds)

        assigned = gt_inds > 0
        labels = torch.where(
            assigned,
            gt_labels.long()[(gt_inds - 1).clamp(min=0)],
            torch.full_like(gt_inds, -1),
        )
        return AssignResult(num_gts, gt_inds, max_overlaps, labels)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(pos_iou_thr={self.pos_iou_thr}, neg_iou_thr={self.neg_iou_thr}, "
            f"min_pos_iou={self.min_pos_iou}, match_low_quality={self.match_low_quality}, "
            f"ignore_iof_thr={self.ignore_iof_thr})"
        )
