"""MMDetection's match costs against their definitions, the Hungarian assigner against a
brute-force search over assignments, and the one-line message without scipy."""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Iterator

import pytest
import torch

from segwright.models.task_modules.hungarian_assigner import (
    HungarianAssigner,
    MaskPseudoSampler,
    linear_sum_assignment,
)
from segwright.models.task_modules.match_costs import (
    ClassificationCost,
    CrossEntropyLossCost,
    DiceCost,
    FocalLossCost,
)
from segwright.registry import TASK_UTILS
from segwright.structures import InstanceData
from segwright.utils.errors import ConfigError


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _instances() -> tuple[InstanceData, InstanceData]:
    gen = torch.Generator().manual_seed(0)
    preds = InstanceData(
        scores=torch.randn(5, 4, generator=gen, dtype=torch.float64),
        masks=torch.randn(5, 3, 4, generator=gen, dtype=torch.float64),
    )
    gts = InstanceData(
        labels=torch.tensor([2, 0, 3]),
        masks=(torch.rand(3, 3, 4, generator=gen) > 0.5).long(),
    )
    return preds, gts


def _focal_terms(p: float, alpha: float = 0.25, gamma: float = 2.0, eps: float = 1e-12):
    q = 1 / (1 + math.exp(-p))
    return (
        -math.log(q + eps) * alpha * (1 - q) ** gamma,  # as if positive
        -math.log(1 - q + eps) * (1 - alpha) * q**gamma,  # as if negative
    )


def test_costs_follow_their_definitions() -> None:
    preds, gts = _instances()
    probs = preds.scores.softmax(-1)
    cls = ClassificationCost(weight=2.0)(preds, gts)
    assert torch.allclose(cls, -2.0 * probs[:, [2, 0, 3]])

    focal = FocalLossCost(weight=3.0, binary_input=True)(preds, gts)
    dice = DiceCost(pred_act=True, eps=1.0)(preds, gts)
    bce = CrossEntropyLossCost()(preds, gts)
    for n, m in itertools.product(range(5), range(3)):
        logits = preds.masks[n].flatten().tolist()
        target = gts.masks[m].flatten().tolist()
        terms = [_focal_terms(p)[0 if t else 1] for p, t in zip(logits, target)]
        assert math.isclose(float(focal[n, m]), 3.0 * sum(terms) / 12, rel_tol=1e-12)
        sig = [1 / (1 + math.exp(-p)) for p in logits]
        overlap = sum(s * t for s, t in zip(sig, target))
        expected = 1 - (2 * overlap + 1.0) / (sum(sig) + sum(target) + 1.0)
        assert math.isclose(float(dice[n, m]), expected, rel_tol=1e-12)
        logs = [-math.log(s) if t else -math.log(1 - s) for s, t in zip(sig, target)]
        assert math.isclose(float(bce[n, m]), sum(logs) / 12, rel_tol=1e-10)
    # class logits: positive minus negative focal term of the ground truth's class
    focal_cls = FocalLossCost()(preds, gts)
    pos, neg = _focal_terms(float(preds.scores[1, 3]))
    assert math.isclose(float(focal_cls[1, 2]), pos - neg, rel_tol=1e-12)


def test_assigner_finds_the_cheapest_matching() -> None:
    preds, gts = _instances()
    assigner = TASK_UTILS.build(
        dict(
            type="mmdet.HungarianAssigner",
            match_costs=[
                dict(type="mmdet.ClassificationCost", weight=1.0),
                dict(type="mmdet.FocalLossCost", weight=20.0, binary_input=True),
                dict(type="mmdet.DiceCost", weight=1.0, pred_act=True, eps=1.0),
            ],
        )
    )
    result = assigner.assign(preds, gts)
    cost = sum(c(preds, gts) for c in assigner.match_costs)
    best = min(
        itertools.permutations(range(5), 3),
        key=lambda rows: sum(float(cost[r, g]) for g, r in enumerate(rows)),
    )
    expected = torch.zeros(5, dtype=torch.long)
    for g, r in enumerate(best):
        expected[r] = g + 1
    assert torch.equal(result.gt_inds, expected)
    assert torch.equal(result.labels[list(best)], gts.labels)
    assert int((result.labels == -1).sum()) == 2

    sampled = MaskPseudoSampler().sample(result, preds, gts)
    assert sorted(sampled.pos_inds.tolist()) == sorted(best)
    assert sampled.avg_factor == 3 and len(sampled.neg_inds) == 2
    assert torch.equal(gts.masks[sampled.pos_assigned_gt_inds], sampled.pos_gt_masks)


def test_no_ground_truth_makes_every_prediction_negative() -> None:
    preds, _ = _instances()
    empty = InstanceData(labels=torch.zeros(0, dtype=torch.long), masks=torch.zeros(0, 3, 4))
    result = HungarianAssigner(dict(type="mmdet.ClassificationCost")).assign(preds, empty)
    assert torch.equal(result.gt_inds, torch.zeros(5, dtype=torch.long))


def test_missing_scipy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # import fails
    with pytest.raises(ConfigError, match=r"segwright\[maskformer\]") as info:
        linear_sum_assignment(torch.zeros(2, 2))
    assert "\n" not in str(info.value)


def test_empty_match_costs_are_refused() -> None:
    with pytest.raises(ConfigError, match="must not be empty"):
        HungarianAssigner([])
