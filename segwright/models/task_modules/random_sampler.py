"""Random positives and negatives, as MMDetection 3.3's ``RandomSampler``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from segwright.models.task_modules.assign_result import AssignResult
from segwright.models.task_modules.base_sampler import BaseSampler
from segwright.registry import TASK_UTILS


@TASK_UTILS.register_module()
class RandomSampler(BaseSampler):
    """Sample positives and negatives uniformly at random (without replacement).

    The permutation is drawn with ``torch.randperm`` from the global CPU generator and then
    moved to the priors' device, as MMDetection does, so a seed picks the same priors on
    any device.

    Args:
        num: Priors to sample per image.
        pos_fraction: Upper bound of the positive fraction.
        neg_pos_ub: Upper bound of negatives per positive; negative means no bound.
        add_gt_as_proposals: Add the ground truths as proposals.
        rng: Accepted for MMDetection configs and unused (MMDetection does not use it either).
    """

    def __init__(
        self,
        num: int,
        pos_fraction: float,
        neg_pos_ub: float = -1,
        add_gt_as_proposals: bool = True,
        rng: Any = None,
    ) -> None:
        super().__init__(num, pos_fraction, neg_pos_ub, add_gt_as_proposals)
        self.rng = rng

    def random_choice(
        self, gallery: torch.Tensor | np.ndarray | Sequence[int], num: int
    ) -> torch.Tensor | np.ndarray:
        """``num`` distinct elements of ``gallery`` in random order (same type as given).

        Shapes:
            gallery (M,) -> (num,).
        """
        as_tensor = isinstance(gallery, torch.Tensor)
        values = gallery if as_tensor else torch.as_tensor(np.asarray(gallery), dtype=torch.long)
        if num > values.numel():
            raise ValueError(f"RandomSampler: cannot choose {num} elements from {values.numel()}.")
        perm = torch.randperm(values.numel())[:num].to(values.device)
        chosen = values[perm]
        return chosen if as_tensor else chosen.cpu().numpy()

    def _sample_with(self, candidates: torch.Tensor, num_expected: int) -> torch.Tensor:
        inds = torch.nonzero(candidates, as_tuple=False).reshape(-1)
        if inds.numel() <= num_expected:
            return inds
        chosen = self.random_choice(inds, num_expected)
        assert isinstance(chosen, torch.Tensor)  # a tensor gallery gives a tensor
        return chosen

    def _sample_pos(
        self, assign_result: AssignResult, num_expected: int, **kwargs: Any
    ) -> torch.Tensor:
        """Up to ``num_expected`` random indices of priors with ``gt_inds > 0``."""
        return self._sample_with(assign_result.gt_inds > 0, num_expected)

    def _sample_neg(
        self, assign_result: AssignResult, num_expected: int, **kwargs: Any
    ) -> torch.Tensor:
        """Up to ``num_expected`` random indices of priors with ``gt_inds == 0``."""
        return self._sample_with(assign_result.gt_inds == 0, num_expected)
