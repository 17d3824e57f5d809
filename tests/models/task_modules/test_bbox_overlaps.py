"""bbox_overlaps / BboxOverlaps2D: MMDetection's IoU, IoF and GIoU (no +1, eps-clamped)."""

from __future__ import annotations

import pytest
import torch

from segwright.models.task_modules import BboxOverlaps2D, bbox_overlaps
from segwright.registry import TASK_UTILS

A = torch.tensor([[0.0, 0.0, 10.0, 10.0], [10.0, 10.0, 20.0, 20.0], [32.0, 32.0, 38.0, 42.0]])
B = torch.tensor([[0.0, 0.0, 10.0, 20.0], [0.0, 10.0, 10.0, 19.0], [10.0, 10.0, 20.0, 20.0]])


def test_iou_by_hand() -> None:
    expected = torch.tensor(
        [[100 / 200, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    )  # touching edges do not overlap
    torch.testing.assert_close(bbox_overlaps(A, B), expected)


def test_iof_divides_by_the_first_box() -> None:
    torch.testing.assert_close(bbox_overlaps(B[:1], A[:1], mode="iof"), torch.tensor([[0.5]]))
    torch.testing.assert_close(bbox_overlaps(A[:1], B[:1], mode="iof"), torch.tensor([[1.0]]))


def test_giou_by_hand() -> None:
    box1 = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    box2 = torch.tensor([[20.0, 0.0, 30.0, 10.0]])
    # iou 0, union 200, enclosing box 30 x 10 -> 0 - (300 - 200) / 300
    torch.testing.assert_close(bbox_overlaps(box1, box2, mode="giou"), torch.tensor([[-1 / 3]]))


def test_aligned_is_the_diagonal() -> None:
    for mode in ("iou", "iof", "giou"):
        full = bbox_overlaps(A, B, mode=mode)
        torch.testing.assert_close(bbox_overlaps(A, B, mode=mode, is_aligned=True), full.diag())


def test_batch_dimensions_and_empty_inputs() -> None:
    batched = bbox_overlaps(A[None].repeat(2, 1, 1), B[None].repeat(2, 1, 1))
    assert batched.shape == (2, 3, 3)
    torch.testing.assert_close(batched[1], bbox_overlaps(A, B))
    assert bbox_overlaps(A, torch.empty(0, 4)).shape == (3, 0)
    assert bbox_overlaps(torch.empty(0), B).shape == (0, 3)
    assert bbox_overlaps(torch.empty(0, 4), torch.empty(0, 4), is_aligned=True).shape == (0,)


def test_degenerate_boxes_do_not_divide_by_zero() -> None:
    point = torch.tensor([[5.0, 5.0, 5.0, 5.0]])
    assert bbox_overlaps(point, point).item() == 0.0


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        bbox_overlaps(A, B, mode="dice")
    with pytest.raises(ValueError, match=r"shape \(\.\.\., N, 4\)"):
        bbox_overlaps(A[:, :3], B)
    with pytest.raises(ValueError, match="same number|as many boxes"):
        bbox_overlaps(A, B[:2], is_aligned=True)
    with pytest.raises(ValueError, match="batch dimensions"):
        bbox_overlaps(A[None], B)


def test_calculator_is_registered_and_drops_scores() -> None:
    calculator = TASK_UTILS.build(dict(type="mmdet.BboxOverlaps2D"))
    assert isinstance(calculator, BboxOverlaps2D)
    scored = torch.cat([A, torch.rand(3, 1)], dim=1)
    torch.testing.assert_close(calculator(scored, B), bbox_overlaps(A, B))
    fp16 = BboxOverlaps2D(scale=2.0, dtype="fp16")(A, B)
    assert fp16.dtype == torch.float32
    torch.testing.assert_close(fp16, bbox_overlaps(A, B), atol=1e-3, rtol=0)
