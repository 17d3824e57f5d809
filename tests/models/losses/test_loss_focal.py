"""FocalLoss: sigmoid focal loss on flattened pixels, ignored pixels masked."""

from __future__ import annotations

import math

import pytest
import torch

from segwright.models.losses import FocalLoss
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def focal_term(x: float, t: int, alpha: float = 0.5, gamma: float = 2.0) -> float:
    """-[t log p + (1-t) log(1-p)] * (alpha_t) * (1 - p_t)^gamma, written from the paper."""
    p = sig(x)
    p_t = p if t == 1 else 1 - p
    alpha_t = alpha if t == 1 else 1 - alpha
    return -math.log(p_t) * alpha_t * (1 - p_t) ** gamma


LOGITS = torch.tensor([[[[1.0, -2.0, 0.5]], [[0.0, 3.0, -1.0]]]])  # (1, 2, 1, 3)
LABEL = torch.tensor([[[0, 1, 255]]])


def expected_terms(alpha: float | list[float] = 0.5) -> list[list[float]]:
    rows = []
    for j in range(2):  # the third pixel is ignored
        y = LABEL[0, 0, j].item()
        row = []
        for c in range(2):
            a = alpha[c] if isinstance(alpha, list) else alpha
            row.append(focal_term(LOGITS[0, c, 0, j].item(), int(y == c), alpha=a))
        rows.append(row)
    return rows


def test_mean_over_all_elements_including_ignored() -> None:
    total = sum(sum(r) for r in expected_terms())
    loss = FocalLoss()(LOGITS, LABEL)
    assert loss.item() == pytest.approx(total / 6, rel=1e-6)  # 3 pixels x 2 channels


def test_reduction_none_shape_and_values() -> None:
    none = FocalLoss(reduction="none")(LOGITS, LABEL, ignore_index=255)
    assert none.shape == LOGITS.shape
    rows = expected_terms()
    for j in range(2):
        for c in range(2):
            assert none[0, c, 0, j].item() == pytest.approx(rows[j][c], rel=1e-6)
    assert none[..., 2].abs().sum().item() == 0.0


def test_alpha_list_class_weight_and_loss_weight() -> None:
    rows = expected_terms(alpha=[0.25, 0.75])
    loss = FocalLoss(alpha=[0.25, 0.75], class_weight=[1.0, 2.0], loss_weight=0.5, reduction="sum")
    expected = 0.5 * sum(r[0] * 1.0 + r[1] * 2.0 for r in rows)
    assert loss(LOGITS, LABEL).item() == pytest.approx(expected, rel=1e-6)


def test_pixel_weight_map_from_ohem() -> None:
    rows = expected_terms()
    weight = torch.tensor([[[0.0, 1.0, 1.0]]])
    loss = FocalLoss(reduction="sum")(LOGITS, LABEL, weight=weight)
    assert loss.item() == pytest.approx(sum(rows[1]), rel=1e-6)


def test_one_channel_target_is_label_one() -> None:
    logits = torch.tensor([[[[1.0, -2.0, 0.3]]]])
    label = torch.tensor([[[1, 0, 255]]])
    expected = focal_term(1.0, 1) + focal_term(-2.0, 0)
    loss = FocalLoss(reduction="sum")(logits, label)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_non_float_arguments_are_converted() -> None:
    loss = FocalLoss(gamma=2, alpha=(1, 0), loss_weight=1, class_weight=(1, 1))
    assert loss.gamma == 2.0 and isinstance(loss.gamma, float)
    assert loss.alpha == [1.0, 0.0]
    assert loss.loss_weight == 1.0
    with pytest.raises(ConfigError, match="gamma"):
        FocalLoss(gamma="2")
    with pytest.raises(ConfigError, match="sigmoid"):
        FocalLoss(use_sigmoid=False)
    with pytest.raises(ConfigError, match="alpha has 3"):
        FocalLoss(alpha=[0.1, 0.2, 0.3])(LOGITS, LABEL)


def test_one_hot_target_input() -> None:
    target = torch.tensor([[[[1, 0, 0]], [[0, 1, 1]]]])
    rows = expected_terms()
    extra = focal_term(0.5, 0) + focal_term(-1.0, 1)
    loss = FocalLoss(reduction="sum")(LOGITS, target)
    assert loss.item() == pytest.approx(sum(map(sum, rows)) + extra, rel=1e-6)


def test_registry() -> None:
    loss = MODELS.build(dict(type="FocalLoss", loss_weight=1.0))
    assert isinstance(loss, FocalLoss)
    assert loss.loss_name == "loss_focal"
