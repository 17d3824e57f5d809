"""DiceLoss with the MMSeg >= 1.1 definition: one global dice per image."""

from __future__ import annotations

import math

import pytest
import torch

from segwright.models.losses import DiceLoss
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def probs() -> torch.Tensor:
    """(1, 2, 1, 2) probabilities: channel 0 = (0.8, 0.3), channel 1 = (0.2, 0.6)."""
    return torch.tensor([[[[0.8, 0.3]], [[0.2, 0.6]]]])


def test_vnet_dice_by_hand() -> None:
    label = torch.tensor([[[0, 1]]])
    # a = 0.8 + 0.6; sum p^2 = 0.64 + 0.09 + 0.04 + 0.36; sum t^2 = 2
    expected = 1 - 2 * 1.4 / ((1.13 + 1e-3) + (2 + 1e-3))
    loss = DiceLoss(activate=False)(probs(), label)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_naive_dice_by_hand() -> None:
    label = torch.tensor([[[0, 1]]])
    expected = 1 - (2 * 1.4 + 1e-3) / (1.9 + 2 + 1e-3)
    loss = DiceLoss(activate=False, naive_dice=True)(probs(), label)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_ignored_pixel_has_zero_target_but_keeps_prediction() -> None:
    label = torch.tensor([[[0, 255]]])
    # target one-hot: channel 0 = (1, 0), channel 1 = (0, 0); predictions all count.
    expected = 1 - 2 * 0.8 / ((1.13 + 1e-3) + (1 + 1e-3))
    assert DiceLoss(activate=False)(probs(), label).item() == pytest.approx(expected, rel=1e-6)
    # ignore_index at call time is unused (as in MMSeg).
    same = DiceLoss(activate=False)(probs(), label, ignore_index=0)
    assert same.item() == pytest.approx(expected, rel=1e-6)


def test_ignore_index_drops_the_channel() -> None:
    label = torch.tensor([[[0, 1]]])
    # only channel 1 remains: p = (0.2, 0.6), t = (0, 1)
    expected = 1 - 2 * 0.6 / ((0.4 + 1e-3) + (1 + 1e-3))
    loss = DiceLoss(activate=False, ignore_index=0)(probs(), label)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ConfigError, match="only predicted channel"):
        DiceLoss(activate=False, ignore_index=0)(probs()[:, :1], label)


def test_sigmoid_is_the_default_activation() -> None:
    logits = torch.tensor([[[[0.0, 1.0]], [[-1.0, 2.0]]]])
    label = torch.tensor([[[1, 0]]])

    def sig(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    p = [sig(0.0), sig(1.0), sig(-1.0), sig(2.0)]  # channel-major
    t = [0, 1, 1, 0]
    a = sum(pi * ti for pi, ti in zip(p, t))
    expected = 1 - 2 * a / ((sum(pi * pi for pi in p) + 1e-3) + (sum(t) + 1e-3))
    assert DiceLoss()(logits, label).item() == pytest.approx(expected, rel=1e-6)

    soft = torch.softmax(logits, dim=1).flatten().tolist()
    a = sum(pi * ti for pi, ti in zip(soft, t))
    expected_softmax = 1 - 2 * a / ((sum(pi * pi for pi in soft) + 1e-3) + (2 + 1e-3))
    loss = DiceLoss(use_sigmoid=False)(logits, label)
    assert loss.item() == pytest.approx(expected_softmax, rel=1e-6)


def test_per_image_reduction_and_weights() -> None:
    pred = torch.cat([probs(), probs().flip(1)])  # image 1 swaps the channels
    label = torch.tensor([[[0, 1]], [[0, 1]]])
    first = 1 - 2 * 1.4 / ((1.13 + 1e-3) + (2 + 1e-3))
    second = 1 - 2 * (0.2 + 0.3) / ((1.13 + 1e-3) + (2 + 1e-3))
    none = DiceLoss(activate=False, reduction="none")(pred, label)
    assert none.tolist() == pytest.approx([first, second], rel=1e-6)
    mean = DiceLoss(activate=False, loss_weight=3.0)(pred, label)
    assert mean.item() == pytest.approx(3.0 * (first + second) / 2, rel=1e-6)
    weighted = DiceLoss(activate=False, reduction="sum")(
        pred, label, weight=torch.tensor([1.0, 0.0])
    )
    assert weighted.item() == pytest.approx(first, rel=1e-6)
    with pytest.raises(ConfigError, match="OHEMPixelSampler"):
        DiceLoss(activate=False)(pred, label, weight=torch.ones(2, 1, 2))


def test_smooth_and_exponent_compatibility_keys() -> None:
    label = torch.tensor([[[0, 1]]])
    expected = 1 - (2 * 1.4 + 1.0) / (1.13 + 2 + 1.0)
    loss = DiceLoss(activate=False, smooth=1, exponent=2)(probs(), label)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # exponent 1 without smooth: V-Net form with first powers
    expected_e1 = 1 - 2 * 1.4 / ((1.9 + 1e-3) + (2 + 1e-3))
    loss = DiceLoss(activate=False, exponent=1)(probs(), label)
    assert loss.item() == pytest.approx(expected_e1, rel=1e-6)


def test_one_hot_target_input_and_one_channel_quirk() -> None:
    target = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])
    expected = 1 - 2 * 1.4 / ((1.13 + 1e-3) + (2 + 1e-3))
    assert DiceLoss(activate=False)(probs(), target).item() == pytest.approx(expected, rel=1e-6)
    # One channel + index labels: MMSeg 1.2's one-hot keeps the first column -> target = label==0.
    pred = torch.tensor([[[[0.9, 0.1]]]])
    label = torch.tensor([[[1, 0]]])
    expected = 1 - 2 * 0.1 / ((0.82 + 1e-3) + (1 + 1e-3))
    assert DiceLoss(activate=False)(pred, label).item() == pytest.approx(expected, rel=1e-6)


def test_registry_and_name() -> None:
    loss = MODELS.build(dict(type="DiceLoss", loss_name="loss_dice", loss_weight=3.0))
    assert isinstance(loss, DiceLoss)
    assert loss.loss_name == "loss_dice"
    assert loss.use_sigmoid is True
    with pytest.raises(ConfigError):
        MODELS.build(dict(type="DiceLoss", class_weight=[1.0]))
