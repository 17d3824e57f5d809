"""MaxIoUAssigner: MMDetection 3.3's thresholds, low-quality matches and ignore boxes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from segwright.models.task_modules import AssignResult, MaxIoUAssigner
from segwright.registry import TASK_UTILS
from segwright.utils.errors import ConfigError

GT = SimpleNamespace(
    bboxes=torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]]),
    labels=torch.tensor([3, 7]),
)
PRIORS = SimpleNamespace(
    priors=torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0],  # IoU 1.0 with gt 0
            [0.0, 0.0, 10.0, 5.0],  # IoU 0.5 with gt 0
            [50.0, 50.0, 60.0, 60.0],  # IoU 0
            [20.0, 20.0, 30.0, 26.0],  # IoU 0.6 with gt 1: gt 1's best prior
            [20.0, 20.0, 30.0, 24.0],  # IoU 0.4 with gt 1
        ]
    )
)
RPN = dict(pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3, ignore_iof_thr=-1)


def test_rpn_assignment_by_hand() -> None:
    result = MaxIoUAssigner(**RPN).assign(PRIORS, GT)
    assert isinstance(result, AssignResult)
    assert result.num_gts == 2 and result.num_preds == 5
    assert result.gt_inds.tolist() == [1, -1, 0, 2, -1]  # gt 1 rescued by low-quality matching
    assert result.labels.tolist() == [3, -1, -1, 7, -1]
    torch.testing.assert_close(result.max_overlaps, torch.tensor([1.0, 0.5, 0.0, 0.6, 0.4]))


def test_without_low_quality_matching() -> None:
    result = MaxIoUAssigner(**RPN, match_low_quality=False).assign(PRIORS, GT)
    assert result.gt_inds.tolist() == [1, -1, 0, -1, -1]


def test_min_pos_iou_bounds_low_quality_matches() -> None:
    result = MaxIoUAssigner(0.7, 0.3, min_pos_iou=0.65).assign(PRIORS, GT)
    assert result.gt_inds.tolist() == [1, -1, 0, -1, -1]


def test_rcnn_thresholds() -> None:
    result = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5).assign(PRIORS, GT)
    assert result.gt_inds.tolist() == [1, 1, 0, 2, 0]
    assert result.labels.tolist() == [3, 3, -1, 7, -1]


def test_negative_range() -> None:
    result = MaxIoUAssigner(0.7, (0.1, 0.3)).assign(PRIORS, GT)
    assert result.gt_inds.tolist() == [1, -1, -1, 2, -1]  # IoU 0 is below the range


def test_ignore_boxes() -> None:
    ignore = SimpleNamespace(bboxes=torch.tensor([[48.0, 48.0, 70.0, 70.0]]))
    result = MaxIoUAssigner(**{**RPN, "ignore_iof_thr": 0.5}).assign(PRIORS, GT, ignore)
    assert result.gt_inds.tolist() == [1, -1, -1, 2, -1]  # prior 2 lies inside the ignore box
    assert result.max_overlaps[2].item() == -1
    # IoF over the ignore box's area instead: 100 / 484 < 0.5, so nothing is ignored
    result = MaxIoUAssigner(**{**RPN, "ignore_iof_thr": 0.5}, ignore_wrt_candidates=False).assign(
        PRIORS, GT, ignore
    )
    assert result.gt_inds.tolist() == [1, -1, 0, 2, -1]


def test_later_ground_truth_wins_a_shared_best_prior() -> None:
    gt = SimpleNamespace(
        bboxes=torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 2), labels=torch.tensor([1, 2])
    )
    priors = SimpleNamespace(priors=torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 8.0]]))
    for assign_all in (True, False):
        result = MaxIoUAssigner(0.9, 0.3, gt_max_assign_all=assign_all).assign(priors, gt)
        assert result.gt_inds[0].item() == 2 and result.labels[0].item() == 2


def _loop_reference(overlaps: torch.Tensor, assigner: MaxIoUAssigner) -> torch.Tensor:
    """The low-quality step written as the plain per-ground-truth loop."""
    max_overlaps, argmax = overlaps.max(dim=0)
    inds = torch.full((overlaps.size(1),), -1, dtype=torch.long)
    inds[(max_overlaps >= 0) & (max_overlaps < assigner.neg_iou_thr)] = 0
    pos = max_overlaps >= assigner.pos_iou_thr
    inds[pos] = argmax[pos] + 1
    gt_max, gt_argmax = overlaps.max(dim=1)
    for i in range(overlaps.size(0)):
        if gt_max[i] >= assigner.min_pos_iou:
            if assigner.gt_max_assign_all:
                inds[overlaps[i] == gt_max[i]] = i + 1
            else:
                inds[gt_argmax[i]] = i + 1
    return inds


@pytest.mark.parametrize("assign_all", [True, False])
def test_vectorised_low_quality_step_equals_the_loop(assign_all: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    assigner = MaxIoUAssigner(0.7, 0.3, min_pos_iou=0.3, gt_max_assign_all=assign_all)
    for _ in range(8):
        overlaps = (torch.rand(6, 40, generator=gen) * 10).floor() / 10  # many ties
        result = assigner.assign_wrt_overlaps(overlaps, torch.arange(6))
        assert result.gt_inds.tolist() == _loop_reference(overlaps, assigner).tolist()


def test_empty_ground_truth_and_priors() -> None:
    no_gt = SimpleNamespace(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    result = MaxIoUAssigner(**RPN).assign(PRIORS, no_gt)
    assert result.gt_inds.tolist() == [0] * 5 and result.labels.tolist() == [-1] * 5
    assert result.max_overlaps.tolist() == [0.0] * 5
    result = MaxIoUAssigner(**RPN).assign(SimpleNamespace(priors=torch.zeros(0, 4)), GT)
    assert result.gt_inds.shape == (0,) and result.num_gts == 2


def test_bboxes_instead_of_priors_and_cpu_assignment() -> None:
    as_bboxes = SimpleNamespace(bboxes=PRIORS.priors)
    result = MaxIoUAssigner(**RPN, gpu_assign_thr=1).assign(as_bboxes, GT)
    assert result.gt_inds.tolist() == [1, -1, 0, 2, -1]


def test_registered_with_calculator_config() -> None:
    assigner = TASK_UTILS.build(
        dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
             match_low_quality=True, ignore_iof_thr=-1, iou_calculator=dict(type="BboxOverlaps2D"))
    )  # fmt: skip
    assert isinstance(assigner, MaxIoUAssigner)


def test_add_gt_prepends_ground_truths() -> None:
    result = MaxIoUAssigner(**RPN).assign(PRIORS, GT)
    result.add_gt_(GT.labels)
    assert result.gt_inds.tolist() == [1, 2, 1, -1, 0, 2, -1]
    assert result.labels.tolist() == [3, 7, 3, -1, -1, 7, -1]
    assert result.max_overlaps[:2].tolist() == [1.0, 1.0]
    result.set_extra_property("note", 1)
    assert result.get_extra_property("note") == 1 and result.info["note"] == 1


def test_bad_input_raises() -> None:
    with pytest.raises(ConfigError, match="neg_iou_thr"):
        MaxIoUAssigner(0.7, (0.1, 0.2, 0.3))
    with pytest.raises(ConfigError, match="pos_iou_thr must be a number"):
        MaxIoUAssigner("0.7", 0.3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\.priors or \.bboxes"):
        MaxIoUAssigner(**RPN).assign(SimpleNamespace(), GT)
    with pytest.raises(ValueError, match="one label per box"):
        MaxIoUAssigner(**RPN).assign(
            PRIORS, SimpleNamespace(bboxes=GT.bboxes, labels=GT.labels[:1])
        )
    with pytest.raises(ValueError, match=r"shape \(\.\.\., N, 4\)"):
        MaxIoUAssigner(**RPN).assign(
            PRIORS, SimpleNamespace(bboxes=GT.bboxes[:, :3], labels=GT.labels)
        )
