"""TverskyLoss: per image and class, averaged; ignored pixels masked."""

from __future__ import annotations

import pytest
import torch

from segwright.models.losses import TverskyLoss
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

ZERO_LOGITS = torch.zeros(1, 2, 1, 2)  # softmax = 0.5 everywhere


def test_by_hand_without_ignore() -> None:
    label = torch.tensor([[[0, 1]]])
    # each class: TP = FP = FN = 0.5 -> TI = 1.5 / (0.5 + 0.15 + 0.35 + 1) = 0.75
    assert TverskyLoss()(ZERO_LOGITS, label).item() == pytest.approx(0.25, rel=1e-6)


def test_by_hand_with_ignored_pixel() -> None:
    label = torch.tensor([[[0, 255]]])
    class0 = 1 - 1.5 / (0.5 + 0.7 * 0.5 + 1)  # TP 0.5, FP 0, FN 0.5
    class1 = 1 - 1.0 / (0.3 * 0.5 + 1)  # TP 0, FP 0.5, FN 0
    loss = TverskyLoss()(ZERO_LOGITS, label)
    assert loss.item() == pytest.approx((class0 + class1) / 2, rel=1e-6)
    focal = TverskyLoss(gamma=2.0, class_weight=[1.0, 3.0], loss_weight=2.0)(ZERO_LOGITS, label)
    assert focal.item() == pytest.approx(2.0 * (class0**2 + 3 * class1**2) / 2, rel=1e-6)


def test_ignore_index_as_class_is_skipped_but_counted() -> None:
    label = torch.tensor([[[0, 1]]])
    loss = TverskyLoss(ignore_index=1)(ZERO_LOGITS, label)
    # pixel 1 masked; class 1 skipped; class 0: TP 0.5, FP 0, FN 0.5 ... divided by C = 2
    assert loss.item() == pytest.approx((1 - 1.5 / (0.5 + 0.35 + 1)) / 2, rel=1e-6)


def test_per_image_values_with_override() -> None:
    logits = torch.zeros(2, 2, 1, 2)
    label = torch.tensor([[[0, 1]], [[0, 255]]])
    none = TverskyLoss()(logits, label, reduction_override="none")
    second = ((1 - 1.5 / 1.85) + (1 - 1 / 1.15)) / 2
    assert none.tolist() == pytest.approx([0.25, second], rel=1e-6)
    assert TverskyLoss()(logits, label).item() == pytest.approx((0.25 + second) / 2, rel=1e-6)


def test_config_rules() -> None:
    with pytest.raises(ConfigError, match="alpha \\+ beta"):
        TverskyLoss(alpha=0.5, beta=0.6)
    with pytest.raises(ConfigError, match="gamma"):
        TverskyLoss(gamma=0.5)
    loss = MODELS.build(dict(type="TverskyLoss", alpha=0.4, beta=0.6))
    assert loss.loss_name == "loss_tversky"
