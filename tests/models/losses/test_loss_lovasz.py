"""LovaszLoss: Lovász-hinge / Lovász-softmax against the level-set form of the extension."""

from __future__ import annotations

import pytest
import torch

from segwright.models.losses import LovaszLoss
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


def jaccard_loss(fg: list[int], mistakes: set[int]) -> float:
    """1 - IoU when the pixels in ``mistakes`` are predicted wrongly (Berman et al., eq. 1)."""
    gt = {i for i, v in enumerate(fg) if v}
    union = gt | mistakes
    return 1.0 - len(gt - mistakes) / len(union) if union else 0.0


def lovasz_extension(errors: list[float], fg: list[int]) -> float:
    """Level-set form: sum_i (m_(i) - m_(i+1)) * Delta({1..i}) with m sorted descending."""
    order = sorted(range(len(errors)), key=lambda i: -errors[i])
    m = [errors[i] for i in order] + [0.0]
    total = 0.0
    for k in range(len(order)):
        total += (m[k] - m[k + 1]) * jaccard_loss(fg, set(order[: k + 1]))
    return total


def test_binary_hinge_by_hand() -> None:
    logits = torch.tensor([[[[2.0, -1.0, 0.5, 9.0]]]])
    label = torch.tensor([[[1, 0, 0, 255]]])
    # errors 1 - x * sign = (-1, 0, 1.5); sorted gt (0, 0, 1); grad (1/2, 1/6, 1/3)
    loss = LovaszLoss(loss_type="binary", reduction="none")(logits, label)
    assert loss.item() == pytest.approx(0.75, rel=1e-6)


def test_multi_class_matches_level_set_form() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 2, 3, generator=gen)
    label = torch.tensor([[[0, 1, 1], [2, 255, 0]], [[1, 1, 1], [0, 0, 255]]])
    probs = torch.softmax(logits, dim=1)

    def per_batch(indices: list[int], classes: str) -> float:
        flat_p, flat_y = [], []
        for n in indices:
            for i in range(2):
                for j in range(3):
                    if label[n, i, j] != 255:
                        flat_p.append(probs[n, :, i, j].tolist())
                        flat_y.append(int(label[n, i, j]))
        values = []
        for c in range(3):
            fg = [int(y == c) for y in flat_y]
            if classes == "present" and not any(fg):
                continue
            errors = [abs(f - p[c]) for f, p in zip(fg, flat_p)]
            values.append(lovasz_extension(errors, fg))
        return sum(values) / len(values)

    batch = LovaszLoss(reduction="none")(logits, label)
    assert batch.item() == pytest.approx(per_batch([0, 1], "present"), rel=1e-5)
    all_classes = LovaszLoss(classes="all", reduction="none")(logits, label)
    assert all_classes.item() == pytest.approx(per_batch([0, 1], "all"), rel=1e-5)
    images = LovaszLoss(per_image=True, loss_weight=2.0)(logits, label)
    expected = 2.0 * (per_batch([0], "present") + per_batch([1], "present")) / 2
    assert images.item() == pytest.approx(expected, rel=1e-5)


def test_class_weight_and_class_list() -> None:
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(1, 3, 2, 2, generator=gen)
    label = torch.tensor([[[0, 1], [2, 1]]])
    base = LovaszLoss(classes=[1], reduction="none")(logits, label)
    weighted = LovaszLoss(classes=[1], class_weight=[1.0, 5.0, 1.0], reduction="none")
    assert weighted(logits, label).item() == pytest.approx(5 * base.item(), rel=1e-6)


def test_all_ignored_gives_zero() -> None:
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    label = torch.full((1, 2, 2), 255)
    loss = LovaszLoss(reduction="none")(logits, label)
    assert loss.item() == 0.0
    loss.backward()


def test_config_rules() -> None:
    with pytest.raises(ConfigError, match="reduction must be 'none'"):
        LovaszLoss()
    with pytest.raises(ConfigError, match="loss_type"):
        LovaszLoss(loss_type="softmax", reduction="none")
    with pytest.raises(ConfigError, match="classes"):
        LovaszLoss(classes="some", reduction="none")
    loss = MODELS.build(dict(type="LovaszLoss", per_image=True))
    assert loss.loss_name == "loss_lovasz"
    with pytest.raises(ConfigError, match="one-channel"):
        LovaszLoss(loss_type="binary", reduction="none")(
            torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1)
        )
