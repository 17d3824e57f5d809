"""Helpers of the dense heads: anchor border flags, unmapping, per-level regrouping."""

from __future__ import annotations

import pytest
import torch

from segwright.models.dense_heads.utils import (
    anchor_inside_flags,
    images_to_levels,
    meta_shape,
    unmap,
    unpack_gt_instances,
)
from segwright.structures import DetDataSample, InstanceData

ANCHORS = torch.tensor(
    [
        [0.0, 0.0, 10.0, 10.0],  # inside
        [-2.0, 0.0, 10.0, 10.0],  # 2 px over the left edge
        [0.0, 0.0, 20.0, 10.0],  # right edge exactly on the image border (exclusive)
        [5.0, 5.0, 15.0, 15.0],  # inside but flagged invalid below
    ]
)
VALID = torch.tensor([True, True, True, False])


def test_anchor_inside_flags() -> None:
    img_shape = (12, 20)
    assert anchor_inside_flags(ANCHORS, VALID, img_shape, 0).tolist() == [True, False, False, False]
    assert anchor_inside_flags(ANCHORS, VALID, img_shape, 2).tolist() == [True, True, True, False]
    assert anchor_inside_flags(ANCHORS, VALID, img_shape, -1).tolist() == VALID.tolist()


def test_unmap_fills_the_rest() -> None:
    inds = torch.tensor([False, True, False, True])
    assert unmap(torch.tensor([7, 8]), 4, inds, fill=1).tolist() == [1, 7, 1, 8]
    rows = unmap(torch.ones(2, 4), 4, inds)
    assert rows.sum(1).tolist() == [0.0, 4.0, 0.0, 4.0]


def test_images_to_levels() -> None:
    per_image = [torch.arange(5), torch.arange(5) + 10]
    levels = images_to_levels(per_image, [3, 2])
    assert [lvl.tolist() for lvl in levels] == [[[0, 1, 2], [10, 11, 12]], [[3, 4], [13, 14]]]


def test_unpack_gt_instances() -> None:
    plain = DetDataSample(metainfo=dict(img_shape=(4, 4)))
    plain.gt_instances = InstanceData(bboxes=torch.zeros(0, 4))
    crowd = DetDataSample(metainfo=dict(img_shape=(8, 8)))
    crowd.gt_instances = InstanceData(bboxes=torch.zeros(1, 4))
    crowd.ignored_instances = InstanceData(bboxes=torch.zeros(2, 4))
    gts, ignored, metas = unpack_gt_instances([plain, crowd])
    assert [len(g) for g in gts] == [0, 1]
    assert ignored[0] is None and len(ignored[1]) == 2
    assert metas == [dict(img_shape=(4, 4)), dict(img_shape=(8, 8))]
    with pytest.raises(ValueError, match="gt_instances"):
        unpack_gt_instances([DetDataSample(metainfo=dict(img_shape=(4, 4)))])


def test_meta_shape() -> None:
    assert meta_shape(dict(img_shape=(5, 6, 3)), "img_shape", "X") == (5, 6)
    with pytest.raises(ValueError, match="'pad_shape'"):
        meta_shape(dict(img_shape=(5, 6)), "pad_shape", "X")
