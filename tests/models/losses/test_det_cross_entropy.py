"""MMDetection's CrossEntropyLoss (the ``mmdet`` scope's meaning of the name), by hand."""

from __future__ import annotations

import math

import pytest
import torch

from segwright.models.losses import CrossEntropyLoss, DetCrossEntropyLoss
from segwright.registry import MODELS, default_scope


def _bce(x: float, t: float) -> float:
    return -(t * math.log(1 / (1 + math.exp(-x))) + (1 - t) * math.log(1 - 1 / (1 + math.exp(-x))))


def test_the_name_means_mmdet_loss_in_the_mmdet_scope_only():
    assert (
        type(MODELS.build(dict(type="CrossEntropyLoss", avg_non_ignore=True))) is CrossEntropyLoss
    )
    assert type(MODELS.build(dict(type="mmdet.CrossEntropyLoss"))) is DetCrossEntropyLoss
    with default_scope("mmdet"):
        assert type(MODELS.build(dict(type="CrossEntropyLoss"))) is DetCrossEntropyLoss
        assert (
            type(MODELS.build(dict(type="mmseg.CrossEntropyLoss", avg_non_ignore=True)))
            is CrossEntropyLoss
        )


def test_sigmoid_one_channel_label_zero_is_the_positive_class():
    # RPN: one objectness channel, label 0 = foreground, label 1 (= num_classes) = background.
    pred = torch.tensor([[2.0], [-1.0], [0.5]], dtype=torch.float64)
    label = torch.tensor([0, 1, 1])
    weight = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)
    loss = DetCrossEntropyLoss(use_sigmoid=True)(pred, label, weight, avg_factor=2)
    expected = (_bce(2.0, 1) + _bce(-1.0, 0)) / (2 + torch.finfo(torch.float32).eps)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_sigmoid_background_index_is_an_all_zero_target():
    pred = torch.tensor([[0.3, -0.2], [1.0, 2.0]], dtype=torch.float64)
    label = torch.tensor([2, 1])  # 2 = background for two classes
    loss = DetCrossEntropyLoss(use_sigmoid=True, reduction="sum")(pred, label)
    expected = _bce(0.3, 0) + _bce(-0.2, 0) + _bce(1.0, 0) + _bce(2.0, 1)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_softmax_plain_mean_and_avg_factor():
    pred = torch.tensor([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]], dtype=torch.float64)
    label = torch.tensor([0, 1])
    per_row = [
        -math.log(math.exp(1) / (math.exp(1) + 1 + math.exp(-1))),
        -math.log(math.exp(2) / (math.exp(2) + 2)),
    ]
    loss = DetCrossEntropyLoss()
    assert loss(pred, label).item() == pytest.approx(sum(per_row) / 2, rel=1e-12)
    weighted = loss(pred, label, torch.tensor([1.0, 0.0], dtype=torch.float64), avg_factor=4)
    assert weighted.item() == pytest.approx(
        per_row[0] / (4 + torch.finfo(torch.float32).eps), rel=1e-12
    )
    # class_weight: still the plain mean of the weighted terms (MMSeg divides by the weights).
    cw = DetCrossEntropyLoss(class_weight=[2.0, 3.0, 1.0])(pred, label)
    assert cw.item() == pytest.approx((2 * per_row[0] + 3 * per_row[1]) / 2, rel=1e-12)


def test_mask_mode_scores_each_roi_on_its_class_channel():
    pred = torch.zeros(2, 3, 2, 2, dtype=torch.float64)
    pred[0, 2] = 1.0
    pred[1, 0] = -2.0
    target = torch.ones(2, 2, 2, dtype=torch.float64)
    classes = torch.tensor([2, 0])
    loss = DetCrossEntropyLoss(use_mask=True)(pred, target, classes)
    assert loss.shape == (1,)
    assert loss.item() == pytest.approx((_bce(1.0, 1) + _bce(-2.0, 1)) / 2, rel=1e-12)
