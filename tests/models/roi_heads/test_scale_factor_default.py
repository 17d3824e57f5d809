"""A test pipeline without ``Resize`` sets no ``scale_factor``: the heads take it as 1.0.

MMDetection 3.3's heads index ``img_meta['scale_factor']`` (a KeyError or an assertion without
``Resize``); MMDetection 2.x's formatting filled in 1.0. segwright does the latter, in one
place (``meta_scale_factor``) that the mask head, the box head and the RPN head share.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from roi_head_fixtures import BBOX_HEAD, IMG, MASK_HEAD, NUM_CLASSES, TEST_CFG

from segwright.models.dense_heads.utils import meta_scale_factor
from segwright.registry import MODELS
from segwright.structures import InstanceData


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (1.0, 1.0)),
        ((2.0, 0.5), (2.0, 0.5)),
        ([3, 4], (3.0, 4.0)),
        (0.5, (0.5, 0.5)),
        (np.array([2.0, 3.0, 2.0, 3.0], dtype=np.float32), (2.0, 3.0)),  # MMDetection 2.x
        (torch.tensor([1.5, 2.5]), (1.5, 2.5)),
    ],
)
def test_meta_scale_factor_forms(value, expected):
    meta = {} if value is None else {"scale_factor": value}
    assert meta_scale_factor(meta, "Head") == expected


def test_meta_scale_factor_refuses_what_is_not_a_number():
    with pytest.raises(ValueError, match="Head: metainfo 'scale_factor'"):
        meta_scale_factor({"scale_factor": "big"}, "Head")
    with pytest.raises(ValueError, match="scale_factor"):
        meta_scale_factor({"scale_factor": ()}, "Head")


def _mask_results() -> InstanceData:
    return InstanceData(
        bboxes=torch.tensor([[0.0, 0, 32, 32], [10, 12, 60, 50]]),
        scores=torch.tensor([0.9, 0.8]),
        labels=torch.tensor([0, 2]),
    )


@pytest.mark.parametrize("rescale", [True, False])
def test_mask_head_without_scale_factor_pastes_as_at_scale_1(rescale):
    head = MODELS.build(MASK_HEAD)
    head.eval()
    preds = torch.randn(2, NUM_CLASSES, 28, 28, generator=torch.Generator().manual_seed(0))
    meta = dict(img_shape=(IMG, IMG), ori_shape=(IMG, IMG))
    (bare,) = head.predict_by_feat([preds], [_mask_results()], [meta], TEST_CFG, rescale)
    scaled = dict(meta, scale_factor=(1.0, 1.0))
    (one,) = head.predict_by_feat([preds], [_mask_results()], [scaled], TEST_CFG, rescale)
    assert bare.masks.shape == (2, IMG, IMG) and bare.masks.any()
    assert torch.equal(bare.masks, one.masks)
    torch.testing.assert_close(bare.bboxes, one.bboxes)


def test_box_head_rescale_without_scale_factor_keeps_the_boxes():
    head = MODELS.build(BBOX_HEAD)
    gen = torch.Generator().manual_seed(1)
    rois = torch.cat([torch.zeros(20, 1), torch.rand(20, 2, generator=gen) * 30], 1)
    rois = torch.cat([rois, rois[:, 1:3] + 20], 1)
    cls_score = torch.randn(20, NUM_CLASSES + 1, generator=gen) * 3
    bbox_pred = torch.randn(20, 4 * NUM_CLASSES, generator=gen)
    meta = dict(img_shape=(IMG, IMG), ori_shape=(IMG, IMG))
    args = ([rois], [cls_score], [bbox_pred])
    (bare,) = head.predict_by_feat(*args, [meta], TEST_CFG, True)
    (kept,) = head.predict_by_feat(*args, [meta], TEST_CFG, False)
    assert len(bare) > 0
    torch.testing.assert_close(bare.bboxes, kept.bboxes)
