"""RandomSampler / SamplingResult: MMDetection 3.3's counts, gt-as-proposal and targets."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from segwright.models.task_modules import AssignResult, RandomSampler, SamplingResult
from segwright.registry import TASK_UTILS
from segwright.utils.errors import ConfigError

GT = SimpleNamespace(
    bboxes=torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]]),
    labels=torch.tensor([4, 9]),
)


def assignment(
    num_pos: int = 6, num_neg: int = 30, num_ignored: int = 4
) -> tuple[AssignResult, SimpleNamespace]:
    """Priors whose assignment is given: positives alternate between the two gts."""
    gt_inds = torch.tensor([1 + i % 2 for i in range(num_pos)] + [0] * num_neg + [-1] * num_ignored)
    labels = torch.where(
        gt_inds > 0, GT.labels[(gt_inds - 1).clamp(min=0)], torch.full_like(gt_inds, -1)
    )
    n = gt_inds.numel()
    priors = torch.arange(n, dtype=torch.float32)[:, None] + torch.tensor([0.0, 0.0, 5.0, 5.0])
    return AssignResult(2, gt_inds, torch.rand(n), labels), SimpleNamespace(priors=priors)


def test_counts_and_gt_as_proposals() -> None:
    torch.manual_seed(0)
    result, preds = assignment()
    sampler = RandomSampler(num=10, pos_fraction=0.25)
    sampled = sampler.sample(result, preds, GT)
    assert isinstance(sampled, SamplingResult)
    assert result.num_preds == 2 + 40  # the gts were prepended
    assert sampled.pos_inds.numel() == int(10 * 0.25) == 2
    assert sampled.neg_inds.numel() == 8
    assert (result.gt_inds[sampled.pos_inds] > 0).all() and (
        result.gt_inds[sampled.neg_inds] == 0
    ).all()
    all_priors = torch.cat([GT.bboxes, preds.priors])
    torch.testing.assert_close(sampled.pos_priors, all_priors[sampled.pos_inds])
    torch.testing.assert_close(sampled.neg_priors, all_priors[sampled.neg_inds])
    torch.testing.assert_close(sampled.pos_gt_bboxes, GT.bboxes[sampled.pos_assigned_gt_inds])
    assert sampled.pos_gt_labels.tolist() == GT.labels[sampled.pos_assigned_gt_inds].tolist()
    assert sampled.pos_is_gt.tolist() == (sampled.pos_inds < 2).to(torch.uint8).tolist()
    assert sampled.num_gts == 2 and sampled.avg_factor == 10
    assert sampled.priors.shape == (10, 4)


def test_all_positives_kept_when_few_and_negatives_fill_up() -> None:
    result, preds = assignment(num_pos=3)
    sampled = RandomSampler(num=256, pos_fraction=0.5, add_gt_as_proposals=False).sample(
        result, preds, GT
    )
    assert sampled.pos_inds.tolist() == [0, 1, 2]
    assert sampled.neg_inds.tolist() == list(range(3, 33))  # every negative, sorted by unique()
    assert sampled.pos_is_gt.sum() == 0 and result.num_preds == 37


def test_neg_pos_upper_bound() -> None:
    result, preds = assignment(num_pos=3)
    sampled = RandomSampler(
        num=20, pos_fraction=0.5, neg_pos_ub=2, add_gt_as_proposals=False
    ).sample(result, preds, GT)
    assert sampled.pos_inds.numel() == 3 and sampled.neg_inds.numel() == 6
    result, preds = assignment(num_pos=0)
    sampled = RandomSampler(
        num=20, pos_fraction=0.5, neg_pos_ub=2, add_gt_as_proposals=False
    ).sample(result, preds, GT)
    assert sampled.pos_inds.numel() == 0 and sampled.neg_inds.numel() == 2  # max(1, pos) * 2
    assert sampled.num_pos == 1 and sampled.pos_gt_bboxes.shape == (0, 4)


def test_seeded_runs_repeat() -> None:
    picks = []
    for _ in range(2):
        torch.manual_seed(3)
        result, preds = assignment()
        picks.append(RandomSampler(8, 0.25).sample(result, preds, GT).neg_inds.tolist())
    assert picks[0] == picks[1]


def test_no_ground_truth() -> None:
    result = AssignResult(0, torch.zeros(5, dtype=torch.long), torch.zeros(5), torch.full((5,), -1))
    empty = SimpleNamespace(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    sampled = RandomSampler(4, 0.5).sample(result, SimpleNamespace(priors=torch.rand(5, 4)), empty)
    assert sampled.pos_inds.numel() == 0 and sampled.neg_inds.numel() == 4
    assert sampled.pos_gt_bboxes.shape == (0, 4) and sampled.num_gts == 0


def test_random_choice_keeps_the_gallery_type() -> None:
    sampler = TASK_UTILS.build(dict(type="RandomSampler", num=4, pos_fraction=0.5))
    chosen = sampler.random_choice([5, 6, 7, 8], 2)
    assert isinstance(chosen, np.ndarray) and len(set(chosen.tolist()) - {5, 6, 7, 8}) == 0
    assert sampler.random_choice(torch.arange(10), 10).sort()[0].tolist() == list(range(10))
    with pytest.raises(ValueError, match="cannot choose 3"):
        sampler.random_choice(torch.arange(2), 3)


def test_bad_input_raises() -> None:
    with pytest.raises(ConfigError, match="pos_fraction must be in"):
        RandomSampler(10, 1.5)
    with pytest.raises(ConfigError, match="num must be"):
        RandomSampler(-1, 0.5)
    result, preds = assignment()
    with pytest.raises(ValueError, match="covers 40 priors"):
        RandomSampler(10, 0.5).sample(result, SimpleNamespace(priors=preds.priors[:5]), GT)
