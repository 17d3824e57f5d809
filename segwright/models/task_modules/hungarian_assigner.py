"""MMDetection 3.3's ``HungarianAssigner`` and the mask pseudo-sampler of MaskFormer.

The one-to-one matching minimises the summed match costs with
``scipy.optimize.linear_sum_assignment``; scipy is an optional dependency
(``pip install 'segwright[maskformer]'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from segwright.models.task_modules.assign_result import AssignResult
from segwright.registry import TASK_UTILS, build_if_dict
from segwright.utils.errors import ConfigError


def linear_sum_assignment(cost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """scipy's optimal assignment of a ``(rows, cols)`` cost matrix: matched rows, cols."""
    try:
        from scipy.optimize import linear_sum_assignment as solve
    except ImportError:
        raise ConfigError(
            "HungarianAssigner (MaskFormer/Mask2Former training) needs scipy, which is not "
            "installed: pip install 'segwright[maskformer]' (or pip install scipy)."
        ) from None
    rows, cols = solve(cost.detach().cpu().numpy())
    return torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(cols, dtype=torch.long)


@TASK_UTILS.register_module(scope="mmdet")
class HungarianAssigner:
    """One-to-one matching of predictions (queries) to ground truths by summed costs.

    ``gt_inds`` of the result: 0 for unmatched predictions, ``k + 1`` for ground truth ``k``.

    Args:
        match_costs: One match-cost config (or object) or a non-empty list of them.
    """

    def __init__(self, match_costs: Mapping[str, Any] | Sequence[Any]) -> None:
        if isinstance(match_costs, Mapping) or callable(match_costs):
            match_costs = [match_costs]
        if not match_costs:
            raise ConfigError("HungarianAssigner: match_costs must not be empty.")
        self.match_costs = [
            build_if_dict(cost, TASK_UTILS, key=f"match_costs[{i}]")
            for i, cost in enumerate(match_costs)
        ]

    def assign(
        self, pred_instances: Any, gt_instances: Any, img_meta: Any = None, **kwargs: Any
    ) -> AssignResult:
        """Match ``len(pred_instances)`` predictions to ``len(gt_instances)`` ground truths."""
        labels = gt_instances.labels
        num_gts, num_preds = len(gt_instances), len(pred_instances)
        gt_inds = torch.full((num_preds,), -1, dtype=torch.long, device=labels.device)
        assigned = torch.full((num_preds,), -1, dtype=torch.long, device=labels.device)
        if num_gts == 0 or num_preds == 0:
            if num_gts == 0:
                gt_inds[:] = 0
            return AssignResult(num_gts, gt_inds, None, labels=assigned)  # type: ignore[arg-type]
        cost = sum(c(pred_instances=pred_instances, gt_instances=gt_instances, img_meta=img_meta)
                   for c in self.match_costs)  # fmt: skip
        rows, cols = linear_sum_assignment(cost)  # type: ignore[arg-type]
        rows, cols = rows.to(labels.device), cols.to(labels.device)
        gt_inds[:] = 0
        gt_inds[rows] = cols + 1
        assigned[rows] = labels[cols]
        return AssignResult(num_gts, gt_inds, None, labels=assigned)  # type: ignore[arg-type]


class MaskSamplingResult:
    """Positive (matched) and negative predictions of one image, with their targets.

    Attributes:
        pos_inds, neg_inds: Prediction indices.
        pos_assigned_gt_inds: The ground truth of each positive.
        avg_factor: ``max(num_pos, 1)`` (negatives not counted, as MaskFormer uses it).
    """

    def __init__(
        self, pos_inds: torch.Tensor, neg_inds: torch.Tensor, masks: torch.Tensor,
        gt_masks: torch.Tensor, assign_result: AssignResult,
    ) -> None:  # fmt: skip
        self.pos_inds = pos_inds
        self.neg_inds = neg_inds
        self.num_pos = max(pos_inds.numel(), 1)
        self.num_neg = max(neg_inds.numel(), 1)
        self.avg_factor = self.num_pos
        self.pos_masks = masks[pos_inds]
        self.neg_masks = masks[neg_inds]
        self.num_gts = gt_masks.shape[0]
        self.pos_assigned_gt_inds = assign_result.gt_inds[pos_inds] - 1
        self.pos_gt_masks = (
            gt_masks[self.pos_assigned_gt_inds] if gt_masks.numel() else torch.empty_like(gt_masks)
        )


@TASK_UTILS.register_module(scope="mmdet")
class MaskPseudoSampler:
    """Takes every matched prediction as positive and every other one as negative."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def sample(
        self, assign_result: AssignResult, pred_instances: Any, gt_instances: Any, **kwargs: Any
    ) -> MaskSamplingResult:
        gt_inds = assign_result.gt_inds
        # nonzero() of a 1-D mask lists each index once, ascending: what MMDet's extra unique()
        # returns, which would be one more device sync each (its output size is read back).
        pos = torch.nonzero(gt_inds > 0, as_tuple=False).squeeze(-1)
        neg = torch.nonzero(gt_inds == 0, as_tuple=False).squeeze(-1)
        return MaskSamplingResult(pos, neg, pred_instances.masks, gt_instances.masks, assign_result)
