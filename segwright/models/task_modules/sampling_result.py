"""The priors a sampler kept, with their targets, as MMDetection 3.3's ``SamplingResult``."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from segwright.models.task_modules.assign_result import AssignResult


class SamplingResult:
    """Positive and negative priors chosen by a sampler, and the targets of the positives.

    Attributes (besides the arguments): ``pos_priors``/``neg_priors``, ``pos_is_gt``
    (1 where a positive is a ground truth added as a proposal), ``num_gts``,
    ``pos_assigned_gt_inds`` (0-based), ``pos_gt_labels``, ``pos_gt_bboxes``, ``num_pos``
    and ``num_neg`` (at least 1) and ``avg_factor`` (``num_pos + num_neg``, or ``num_pos``
    without ``avg_factor_with_neg``).

    Args:
        pos_inds: Indices of the positive priors.
        neg_inds: Indices of the negative priors.
        priors: All priors (ground truths first when they were added as proposals).
        gt_bboxes: The ground-truth boxes.
        assign_result: The assignment over ``priors``.
        gt_flags: 1 for priors that are ground truths, else 0.
        avg_factor_with_neg: Count the negatives in ``avg_factor``.

    Shapes:
        pos_inds (P,); neg_inds (Q,); priors (N, 4); gt_bboxes (G, 4); gt_flags (N,) uint8.
    """

    def __init__(
        self,
        pos_inds: torch.Tensor,
        neg_inds: torch.Tensor,
        priors: torch.Tensor,
        gt_bboxes: torch.Tensor,
        assign_result: AssignResult,
        gt_flags: torch.Tensor,
        avg_factor_with_neg: bool = True,
    ) -> None:
        self.pos_inds = pos_inds
        self.neg_inds = neg_inds
        self.num_pos = max(pos_inds.numel(), 1)
        self.num_neg = max(neg_inds.numel(), 1)
        self.avg_factor_with_neg = avg_factor_with_neg
        self.avg_factor = self.num_pos + self.num_neg if avg_factor_with_neg else self.num_pos
        self.pos_priors = priors[pos_inds]
        self.neg_priors = priors[neg_inds]
        self.pos_is_gt = gt_flags[pos_inds]
        self.num_gts = gt_bboxes.shape[0]
        self.pos_assigned_gt_inds = assign_result.gt_inds[pos_inds] - 1
        self.pos_gt_labels = (
            assign_result.labels[pos_inds] if assign_result.labels is not None else None
        )
        if gt_bboxes.numel() == 0:
            if self.pos_assigned_gt_inds.numel() != 0:
                raise ValueError(
                    "SamplingResult: there are positive priors but no ground-truth boxes."
                )
            self.pos_gt_bboxes = gt_bboxes.reshape(-1, 4)
        else:
            if gt_bboxes.dim() < 2:
                gt_bboxes = gt_bboxes.reshape(-1, 4)
            self.pos_gt_bboxes = gt_bboxes[self.pos_assigned_gt_inds.long()]

    @property
    def priors(self) -> torch.Tensor:
        """The positive priors, then the negative ones.

        Shapes:
            -> (P + Q, 4).
        """
        return torch.cat([self.pos_priors, self.neg_priors])

    @property
    def bboxes(self) -> torch.Tensor:
        """Old name of :attr:`priors`."""
        warnings.warn("SamplingResult.bboxes is deprecated; use .priors", DeprecationWarning, 2)
        return self.priors

    @property
    def pos_bboxes(self) -> torch.Tensor:
        """Old name of :attr:`pos_priors`."""
        warnings.warn(
            "SamplingResult.pos_bboxes is deprecated; use .pos_priors", DeprecationWarning, 2
        )
        return self.pos_priors

    @property
    def neg_bboxes(self) -> torch.Tensor:
        """Old name of :attr:`neg_priors`."""
        warnings.warn(
            "SamplingResult.neg_bboxes is deprecated; use .neg_priors", DeprecationWarning, 2
        )
        return self.neg_priors

    def to(self, device: str | torch.device) -> SamplingResult:
        """Move every tensor attribute to ``device`` (in place); returns self."""
        for key, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                setattr(self, key, value.to(device))
        return self

    @property
    def info(self) -> dict[str, Any]:
        """The main fields as a dict."""
        return {
            "pos_inds": self.pos_inds,
            "neg_inds": self.neg_inds,
            "pos_priors": self.pos_priors,
            "neg_priors": self.neg_priors,
            "pos_is_gt": self.pos_is_gt,
            "num_gts": self.num_gts,
            "pos_assigned_gt_inds": self.pos_assigned_gt_inds,
            "num_pos": self.num_pos,
            "num_neg": self.num_neg,
            "avg_factor": self.avg_factor,
        }

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__}(num_gts={self.num_gts}, pos={self.pos_inds.numel()}, "
            f"neg={self.neg_inds.numel()}, avg_factor={self.avg_factor})>"
        )
