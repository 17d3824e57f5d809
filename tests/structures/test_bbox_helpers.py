"""Box helpers on plain (N, 4) tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segwright.structures import (
    bbox2roi,
    bbox_cxcywh_to_xyxy,
    bbox_flip,
    bbox_xyxy_to_cxcywh,
    get_box_tensor,
    roi2bbox,
    scale_boxes,
)


def test_bbox2roi_and_back():
    a = torch.tensor([[0.0, 1, 2, 3], [4, 5, 6, 7]])
    b = torch.zeros(0, 4)
    c = torch.tensor([[1.0, 1, 2, 2]])
    rois = bbox2roi([a, b, c])
    assert rois.tolist() == [[0, 0, 1, 2, 3], [0, 4, 5, 6, 7], [2, 1, 1, 2, 2]]
    back = roi2bbox(rois)
    assert len(back) == 2 and torch.equal(back[0], a) and torch.equal(back[1], c)


def test_bbox_flip():
    boxes = torch.tensor([[1.0, 2, 4, 3]])
    assert bbox_flip(boxes, (5, 10)).tolist() == [[6, 2, 9, 3]]
    assert bbox_flip(boxes, (5, 10), "vertical").tolist() == [[1, 2, 4, 3]]
    assert bbox_flip(boxes, (6, 10), "diagonal").tolist() == [[6, 3, 9, 4]]
    two = torch.tensor([[1.0, 2, 4, 3, 0, 0, 1, 1]])  # class-specific boxes
    assert bbox_flip(two, (5, 10)).tolist() == [[6, 2, 9, 3, 9, 0, 10, 1]]
    with pytest.raises(ValueError):
        bbox_flip(boxes, (5, 10), "sideways")


def test_scale_and_convert():
    boxes = torch.tensor([[1.0, 2, 3, 4]])
    assert scale_boxes(boxes, (2.0, 0.5)).tolist() == [[2, 1, 6, 2]]
    cxcywh = bbox_xyxy_to_cxcywh(boxes)
    assert cxcywh.tolist() == [[2, 3, 2, 2]]
    assert torch.equal(bbox_cxcywh_to_xyxy(cxcywh), boxes)
    assert torch.equal(get_box_tensor(np.ones((1, 4))), torch.ones(1, 4, dtype=torch.float64))
    with pytest.raises(TypeError):
        get_box_tensor([1, 2, 3, 4])
