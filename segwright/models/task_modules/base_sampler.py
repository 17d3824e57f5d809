"""The sampling flow shared by the samplers, as MMDetection 3.3's ``BaseSampler``."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from typing import Any

import torch

from segwright.models.task_modules._boxes import check_boxes, instance_field
from segwright.models.task_modules.assign_result import AssignResult
from segwright.models.task_modules.sampling_result import SamplingResult
from segwright.utils.errors import ConfigError


class BaseSampler(ABC):
    """Pick up to ``num`` priors, a ``pos_fraction`` of them positive, from an assignment.

    Ground-truth boxes are prepended to the priors (as positives of themselves) when
    ``add_gt_as_proposals``. At most ``int(num * pos_fraction)`` positives are taken, then
    ``num - positives`` negatives, bounded by ``neg_pos_ub * max(1, positives)`` when
    ``neg_pos_ub >= 0``.

    Args:
        num: Priors to sample per image.
        pos_fraction: Upper bound of the positive fraction.
        neg_pos_ub: Upper bound of negatives per positive; negative means no bound.
        add_gt_as_proposals: Add the ground truths as proposals.
    """

    def __init__(
        self,
        num: int,
        pos_fraction: float,
        neg_pos_ub: float = -1,
        add_gt_as_proposals: bool = True,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(num, numbers.Integral) or isinstance(num, bool) or num < 0:
            raise ConfigError(f"{owner}: num must be a non-negative integer, got {num!r}.")
        if not isinstance(pos_fraction, numbers.Real) or not 0 <= pos_fraction <= 1:
            raise ConfigError(f"{owner}: pos_fraction must be in [0, 1], got {pos_fraction!r}.")
        if not isinstance(neg_pos_ub, numbers.Real) or isinstance(neg_pos_ub, bool):
            raise ConfigError(f"{owner}: neg_pos_ub must be a number, got {neg_pos_ub!r}.")
        self.num = int(num)
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = bool(add_gt_as_proposals)
        self.pos_sampler = self
        self.neg_sampler = self

    @abstractmethod
    def _sample_pos(
        self, assign_result: AssignResult, num_expected: int, **kwargs: Any
    ) -> torch.Tensor:
        """Indices of up to ``num_expected`` positive priors."""

    @abstractmethod
    def _sample_neg(
        self, assign_result: AssignResult, num_expected: int, **kwargs: Any
    ) -> torch.Tensor:
        """Indices of up to ``num_expected`` negative priors."""

    def sample(
        self, assign_result: AssignResult, pred_instances: Any, gt_instances: Any, **kwargs: Any
    ) -> SamplingResult:
        """Sample positives and negatives; ``assign_result`` grows in place when gts are added.

        Args:
            assign_result: The assignment of ``pred_instances``' priors.
            pred_instances: Has ``.priors`` (or ``.bboxes``).
            gt_instances: Has ``.bboxes`` and ``.labels``.

        Shapes:
            priors (N, 4); gt bboxes (G, 4); labels (G,) -> a SamplingResult over G + N
            (or N) priors.
        """
        owner = type(self).__name__
        priors = instance_field(pred_instances, ("priors", "bboxes"), owner, "pred_instances")
        if isinstance(priors, torch.Tensor) and priors.dim() < 2:
            priors = priors[None, :]
        priors = check_boxes(priors, "pred_instances.priors", owner, widths=(4, 5))
        gt_bboxes = check_boxes(
            instance_field(gt_instances, ("bboxes",), owner, "gt_instances"),
            "gt_instances.bboxes",
            owner,
        )
        gt_labels = instance_field(gt_instances, ("labels",), owner, "gt_instances")
        if assign_result.num_preds != priors.size(0):
            raise ValueError(
                f"{owner}: the assignment covers {assign_result.num_preds} priors but "
                f"pred_instances has {priors.size(0)}."
            )

        gt_flags = priors.new_zeros((priors.size(0),), dtype=torch.uint8)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            if priors.size(-1) != gt_bboxes.size(-1):
                raise ValueError(
                    f"{owner}: cannot add (G, 4) ground truths to priors of shape "
                    f"{tuple(priors.shape)}; give (N, 4) priors."
                )
            priors = torch.cat([gt_bboxes.to(priors.dtype), priors], dim=0)
            assign_result.add_gt_(gt_labels)
            gt_flags = torch.cat([gt_flags.new_ones(gt_bboxes.size(0)), gt_flags])

        num_expected_pos = int(self.num * self.pos_fraction)
        pos_inds = self.pos_sampler._sample_pos(
            assign_result, num_expected_pos, bboxes=priors, **kwargs
        ).unique()
        num_sampled_pos = pos_inds.numel()
        num_expected_neg = self.num - num_sampled_pos
        if self.neg_pos_ub >= 0:
            num_expected_neg = min(num_expected_neg, int(self.neg_pos_ub * max(1, num_sampled_pos)))
        neg_inds = self.neg_sampler._sample_neg(
            assign_result, num_expected_neg, bboxes=priors, **kwargs
        ).unique()
        return SamplingResult(
            pos_inds=pos_inds,
            neg_inds=neg_inds,
            priors=priors,
            gt_bboxes=gt_bboxes,
            assign_result=assign_result,
            gt_flags=gt_flags,
        )
