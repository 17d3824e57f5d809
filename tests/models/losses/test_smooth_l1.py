"""SmoothL1Loss and L1Loss: MMDetection 3.3's values, weights, avg_factor and shortcuts."""

from __future__ import annotations

import pytest
import torch

from segwright.models.losses import L1Loss, SmoothL1Loss
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

PRED = torch.tensor([[0.0, 0.5, 2.0, -3.0]])
TARGET = torch.zeros(1, 4)


def test_smooth_l1_by_hand() -> None:
    # |d| < beta: 0.5 d^2 / beta, else |d| - 0.5 beta -> 0, 0.125, 1.5, 2.5
    loss = SmoothL1Loss()
    assert loss(PRED, TARGET).item() == pytest.approx(4.125 / 4)
    assert loss(PRED, TARGET, reduction_override="sum").item() == pytest.approx(4.125)
    per_element = loss(PRED, TARGET, reduction_override="none")
    torch.testing.assert_close(per_element, torch.tensor([[0.0, 0.125, 1.5, 2.5]]))
    # beta 0.5: 0.5 is not below beta -> 0.25; then 1.75 and 2.75
    small = SmoothL1Loss(beta=0.5, reduction="sum", loss_weight=2.0)
    assert small(PRED, TARGET).item() == pytest.approx(2.0 * 4.75)


def test_l1_by_hand() -> None:
    assert L1Loss()(PRED, TARGET).item() == pytest.approx(5.5 / 4)
    assert L1Loss(loss_weight=0.5, reduction="sum")(PRED, TARGET).item() == pytest.approx(2.75)


@pytest.mark.parametrize("cls", [SmoothL1Loss, L1Loss])
def test_weight_and_avg_factor(cls: type) -> None:
    weight = torch.tensor([[1.0, 1.0, 0.0, 2.0]])
    loss = cls()
    element = loss(PRED, TARGET, reduction_override="none")
    expected = (element * weight).sum() / (2.0 + torch.finfo(torch.float32).eps)
    torch.testing.assert_close(loss(PRED, TARGET, weight=weight, avg_factor=2.0), expected)
    with pytest.raises(ValueError, match="avg_factor cannot be used"):
        loss(PRED, TARGET, avg_factor=2.0, reduction_override="sum")


@pytest.mark.parametrize("cls", [SmoothL1Loss, L1Loss])
def test_zero_weight_and_empty_target_give_zero_with_grad(cls: type) -> None:
    pred = PRED.clone().requires_grad_(True)
    value = cls(loss_weight=3.0)(pred, TARGET, weight=torch.zeros(1, 4), avg_factor=0)
    assert value.item() == 0.0
    value.backward()
    assert pred.grad is not None
    empty = torch.zeros(0, 4, requires_grad=True)
    assert cls()(empty, torch.zeros(0, 4)).item() == 0.0


@pytest.mark.parametrize("name", ["SmoothL1Loss", "mmdet.L1Loss"])
def test_registered(name: str) -> None:
    loss = MODELS.build(dict(type=name, loss_weight=1.0))
    assert isinstance(loss, (SmoothL1Loss, L1Loss))


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="same shape"):
        SmoothL1Loss()(PRED, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="same shape"):
        L1Loss()(PRED, torch.zeros(1, 3))
    with pytest.raises(ConfigError, match="beta must be > 0"):
        SmoothL1Loss(beta=0.0)
    with pytest.raises(ConfigError, match="reduction must be one of"):
        L1Loss(reduction="avg")
    with pytest.raises(ValueError, match="reduction_override"):
        L1Loss()(PRED, TARGET, reduction_override="avg")
