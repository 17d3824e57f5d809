"""NMS: hand-made cases, then the blocked sweep against the greedy loop reference, ties included."""

from __future__ import annotations

import importlib

import pytest
import torch

from segwright.ops import batched_nms, nms
from segwright.ops._reference import batched_nms_reference, nms_reference

NMS_MODULE = importlib.import_module("segwright.ops.nms")


def both(*args, **kwargs):
    """Run the fast and the reference NMS; they must agree exactly. Returns the fast result."""
    dets, keep = nms(*args, **kwargs)
    ref_dets, ref_keep = nms_reference(*args, **kwargs)
    assert torch.equal(keep, ref_keep), (keep, ref_keep)
    assert torch.equal(dets, ref_dets)
    assert keep.dtype == torch.long
    return dets, keep


BOXES = torch.tensor(
    [
        [0.0, 0, 10, 10],  # A
        [1, 1, 11, 11],  # B: IoU with A = 81 / 119 = 0.68
        [20, 20, 30, 30],  # C: alone
        [0, 0, 10, 10],  # D: A again
    ]
)
SCORES = torch.tensor([0.9, 0.8, 0.7, 0.6])


@pytest.mark.parametrize(
    ("threshold", "expected"), [(0.5, [0, 2]), (0.7, [0, 1, 2]), (1.0, [0, 1, 2, 3])]
)
def test_hand_made_suppression(threshold, expected):
    dets, keep = both(BOXES, SCORES, threshold)
    assert keep.tolist() == expected
    torch.testing.assert_close(dets, torch.cat([BOXES, SCORES[:, None]], 1)[expected])


def test_iou_equal_to_the_threshold_does_not_suppress():
    boxes = torch.tensor([[0.0, 0, 2, 1], [0, 0, 1, 1]])  # IoU exactly 1 / 2
    assert both(boxes, torch.tensor([0.9, 0.8]), 0.5)[1].tolist() == [0, 1]
    assert both(boxes, torch.tensor([0.9, 0.8]), 0.49)[1].tolist() == [0]


def test_offset_one_widens_boxes():
    boxes = torch.tensor([[0.0, 0, 1, 1], [1, 0, 2, 1]])  # touching: IoU 0, or 2 / 6 with +1
    scores = torch.tensor([0.9, 0.8])
    assert both(boxes, scores, 0.3)[1].tolist() == [0, 1]
    assert both(boxes, scores, 0.3, offset=1)[1].tolist() == [0]


def test_score_threshold_and_max_num():
    boxes = torch.tensor([[0.0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5], [6, 6, 7, 7]])
    scores = torch.tensor([0.1, 0.5, 0.3, 0.05])
    assert both(boxes, scores, 0.5, score_threshold=0.2)[1].tolist() == [1, 2]
    assert both(boxes, scores, 0.5, score_threshold=0.2, max_num=1)[1].tolist() == [1]
    assert both(boxes, scores, 0.5, max_num=3)[1].tolist() == [1, 2, 0]
    assert both(boxes, scores, 0.5, score_threshold=None)[1].tolist() == [1, 2, 0, 3]


def test_empty_input():
    dets, keep = both(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert dets.shape == (0, 5) and keep.shape == (0,)
    dets, keep = both(torch.ones(3, 4), torch.zeros(3), 0.5, score_threshold=0.1)
    assert dets.shape == (0, 5) and keep.shape == (0,)


def test_ties_follow_torch_sort_like_mmcv():
    # Disjoint boxes with one shared score: the kept order is exactly scores.sort's order
    # (MMCV's kernels sort the same way), which on CPU is not stable beyond 16 elements.
    boxes = torch.arange(40.0)[:, None] * 10 + torch.tensor([0.0, 0, 5, 5])
    scores = torch.full((40,), 0.5)
    keep = both(boxes, scores, 0.5)[1]
    assert torch.equal(keep, scores.sort(0, descending=True)[1])


def random_boxes(count: int, generator: torch.Generator, spread: float = 60.0):
    """Clustered boxes with few distinct scores: many ties, duplicates and chains of overlap."""
    centres = torch.rand(max(count // 6, 1), 2, generator=generator) * spread
    pick = torch.randint(0, centres.shape[0], (count,), generator=generator)
    xy = centres[pick] + torch.randn(count, 2, generator=generator) * 3
    wh = torch.rand(count, 2, generator=generator) * 12 + 0.5
    boxes = torch.cat([xy, xy + wh], 1)
    if count > 4:
        boxes[1::5] = boxes[0::5][: boxes[1::5].shape[0]]  # exact duplicates
    scores = torch.randint(0, 8, (count,), generator=generator).float() / 8
    return boxes, scores


@pytest.mark.parametrize("count", [1, 2, 17, 120, 400])
@pytest.mark.parametrize("threshold", [0.1, 0.5, 0.9])
def test_matches_reference_on_random_boxes_with_ties(count, threshold):
    generator = torch.Generator().manual_seed(count + int(threshold * 10))
    boxes, scores = random_boxes(count, generator)
    both(boxes, scores, threshold)
    both(boxes, scores, threshold, offset=1, score_threshold=0.3, max_num=count // 2)


@pytest.mark.parametrize("block", [1, 3, 16])
def test_small_blocks_give_the_same_keep(block):
    generator = torch.Generator().manual_seed(block)
    boxes, scores = random_boxes(150, generator, spread=30.0)
    order = scores.sort(0, descending=True)[1]
    threshold = NMS_MODULE._iou_threshold_as(0.3, boxes.dtype)
    blocked = NMS_MODULE._greedy_keep(boxes[order], threshold, 0, block=block)
    whole = NMS_MODULE._greedy_keep(boxes[order], threshold, 0, block=1000)
    assert torch.equal(blocked, whole)
    assert torch.equal(order[whole], nms_reference(boxes, scores, 0.3)[1])


def test_float64_boxes():
    generator = torch.Generator().manual_seed(7)
    boxes, scores = random_boxes(80, generator)
    both(boxes.double(), scores.double(), 0.4)


@pytest.mark.parametrize(
    ("boxes", "scores", "message"),
    [
        (torch.zeros(3, 5), torch.zeros(3), r"boxes must have shape \(N, 4\)"),
        (torch.zeros(3, 4), torch.zeros(2), r"scores must have shape \(N,\)"),
    ],
)
def test_bad_shapes_raise(boxes, scores, message):
    with pytest.raises(ValueError, match=message):
        nms(boxes, scores, 0.5)
    with pytest.raises(ValueError, match="offset must be 0 or 1"):
        nms(torch.zeros(1, 4), torch.zeros(1), 0.5, offset=2)


# --- batched_nms -------------------------------------------------------------------------


def both_batched(boxes, scores, idxs, nms_cfg, class_agnostic=False):
    dets, keep = batched_nms(boxes, scores, idxs, nms_cfg, class_agnostic)
    ref_dets, ref_keep = batched_nms_reference(boxes, scores, idxs, nms_cfg, class_agnostic)
    assert torch.equal(keep, ref_keep) and torch.equal(dets, ref_dets)
    return dets, keep


def test_groups_do_not_suppress_each_other():
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    idxs = torch.tensor([0, 1, 0, 1])
    cfg = dict(type="nms", iou_threshold=0.5)
    dets, keep = both_batched(boxes, scores, idxs, cfg)
    assert keep.tolist() == [0, 1, 3]
    torch.testing.assert_close(dets, torch.cat([boxes, scores[:, None]], 1)[[0, 1, 3]])
    assert both_batched(boxes, scores, idxs, cfg, class_agnostic=True)[1].tolist() == [0, 3]
    agnostic = dict(cfg, class_agnostic=True)
    assert both_batched(boxes, scores, idxs, agnostic)[1].tolist() == [0, 3]
    assert both_batched(boxes, scores, idxs, dict(cfg, max_num=2))[1].tolist() == [0, 1]


def test_no_cfg_returns_everything_sorted():
    boxes = torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1]])
    dets, keep = batched_nms(boxes, torch.tensor([0.2, 0.7]), torch.tensor([0, 0]), None)
    assert keep.tolist() == [1, 0]
    assert dets[:, 4].tolist() == pytest.approx([0.7, 0.2])


@pytest.mark.parametrize("max_num", [-1, 25])
def test_split_path_keeps_what_the_offset_path_keeps(max_num):
    generator = torch.Generator().manual_seed(11)
    boxes, _ = random_boxes(300, generator)
    scores = torch.rand(300, generator=generator)  # distinct: both paths order alike
    idxs = torch.randint(0, 5, (300,), generator=generator)
    cfg = dict(type="nms", iou_threshold=0.4, max_num=max_num)
    dets, keep = both_batched(boxes, scores, idxs, cfg)
    split_dets, split_keep = both_batched(boxes, scores, idxs, dict(cfg, split_thr=10))
    assert torch.equal(keep, split_keep)
    torch.testing.assert_close(dets, split_dets)
    if max_num > 0:
        assert keep.shape == (max_num,)


def test_batched_ties_and_duplicates_match_reference():
    generator = torch.Generator().manual_seed(12)
    boxes, scores = random_boxes(400, generator)
    idxs = torch.randint(0, 3, (400,), generator=generator)
    for cfg in (dict(type="nms", iou_threshold=0.6), dict(iou_threshold=0.3, split_thr=100)):
        both_batched(boxes, scores, idxs, cfg)


def test_batched_empty_input():
    dets, keep = batched_nms(
        torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long), dict(iou_threshold=0.5)
    )
    assert dets.shape == (0, 5) and keep.shape == (0,) and keep.dtype == torch.long


def test_batched_cfg_errors_and_deprecated_key():
    boxes, scores, idxs = torch.zeros(1, 4), torch.ones(1), torch.zeros(1, dtype=torch.long)
    with pytest.raises(ValueError, match="'soft_nms' is not supported"):
        batched_nms(boxes, scores, idxs, dict(type="soft_nms", iou_threshold=0.5))
    with pytest.raises(ValueError, match=r"unknown nms_cfg keys \['iou'\]"):
        batched_nms(boxes, scores, idxs, dict(iou=0.5))
    with pytest.raises(ValueError, match=r"boxes must have shape \(N, 4\)"):
        batched_nms(torch.zeros(1, 5), scores, idxs, dict(iou_threshold=0.5))
    with pytest.warns(DeprecationWarning, match="iou_thr"):
        _, keep = batched_nms(boxes, scores, idxs, dict(iou_thr=0.5))
    assert keep.tolist() == [0]


@pytest.mark.parametrize(
    "cfg",
    [
        dict(type="nms", iou_threshold=0.7),
        dict(type="nms", iou_threshold=0.5, score_threshold=0.3, max_num=200),
    ],
)
def test_per_group_sweep_equals_one_sweep_ties_included(cfg):
    # The RPN's shape: thousands of boxes on a few levels. The per-group sweep is chosen (it is
    # ~4x cheaper there) and must keep the very boxes, in the very order, of one sweep over all
    # (the reference), tied scores included: scores are rounded to 1/20.
    generator = torch.Generator().manual_seed(13)
    boxes, _ = random_boxes(2500, generator)
    boxes = boxes - boxes.min()  # coordinates >= 0: shifted groups cannot touch
    scores = (torch.rand(2500, generator=generator) * 20).round() / 20
    idxs = torch.randint(0, 4, (2500,), generator=generator)
    assert NMS_MODULE._sweep_per_group(boxes, idxs, False)
    dets, keep = both_batched(boxes, scores, idxs, cfg)
    assert keep.numel() > 0


def test_negative_coordinates_keep_one_sweep():
    # With a coordinate below 0, MMCV's shift (max + 1 per group) can make neighbouring groups
    # overlap, and one sweep then suppresses across them: the per-group sweep is not taken.
    boxes = torch.tensor([[-50.0, -50, 9, 10], [-40, -40, 19, 10]])
    idxs = torch.tensor([0, 1])
    assert not NMS_MODULE._sweep_per_group(boxes.repeat(2000, 1), idxs.repeat(2000), False)
    dets, keep = both_batched(boxes, torch.tensor([0.9, 0.8]), idxs, dict(iou_threshold=0.1))
    assert keep.tolist() == [0]  # group 1's box shifted by (20, 20) still overlaps: MMCV's quirk
