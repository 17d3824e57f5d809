"""accuracy(): top-k pixel accuracy in percent over non-ignored pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segwright.models.losses import Accuracy, accuracy

EPS = float(np.finfo(np.float32).eps)


def scores() -> torch.Tensor:
    """(1, 3, 1, 4) scores; top-1 classes (0, 1, 0, 2); pixels 2 and 3 rank (0, 2) and (2, 0)."""
    return torch.tensor(
        [[[[0.9, 0.1, 0.6, 0.2]], [[0.05, 0.8, 0.1, 0.1]], [[0.05, 0.1, 0.3, 0.7]]]]
    )


def test_percent_with_ignore() -> None:
    target = torch.tensor([[[0, 1, 2, 255]]])
    acc = accuracy(scores(), target, ignore_index=255)
    assert acc.shape == (1,)
    assert acc.item() == pytest.approx((2 + EPS) * 100 / (3 + EPS), rel=1e-6)
    assert accuracy(scores(), target).item() == pytest.approx(50.0, rel=1e-6)


def test_topk_tuple_and_thresh() -> None:
    target = torch.tensor([[[0, 1, 2, 1]]])  # pixel 2 right at top-2 only, pixel 3 never
    top1, top2 = accuracy(scores(), target, topk=(1, 2))
    assert top1.item() == pytest.approx(50.0, rel=1e-6)
    assert top2.item() == pytest.approx(75.0, rel=1e-6)
    # only scores > 0.7 count: pixel 0 (0.9) and 1 (0.8) are right
    assert accuracy(scores(), target, thresh=0.7).item() == pytest.approx(50.0, rel=1e-6)
    assert accuracy(scores(), target, thresh=0.85).item() == pytest.approx(25.0, rel=1e-6)
    assert Accuracy(topk=(2,))(scores(), target)[0].item() == pytest.approx(75.0, rel=1e-6)


def test_all_ignored_reports_100_as_mmseg() -> None:
    target = torch.full((1, 1, 4), 255)
    assert accuracy(scores(), target, ignore_index=255).item() == pytest.approx(100.0)


def test_errors() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        accuracy(scores(), torch.zeros(1, 1, 4, dtype=torch.long), topk=4)
    with pytest.raises(TypeError):
        accuracy(scores(), torch.zeros(1, 1, 4, dtype=torch.long), topk=[1])


def test_top1_counts_the_first_of_tied_classes_as_predicted():
    """Top-1 goes through max(), which picks the first maximum (as argmax does)."""
    pred = torch.zeros(1, 3, 2, 2)  # all three classes tie everywhere
    assert accuracy(pred, torch.zeros(1, 2, 2, dtype=torch.long)).item() == pytest.approx(100.0)
    assert accuracy(pred, torch.full((1, 2, 2), 2)).item() == pytest.approx(0.0, abs=1e-5)
    scores = torch.randn(2, 5, 8, 8)
    target = torch.randint(0, 5, (2, 8, 8))
    expected = (scores.argmax(1) == target).float().mean() * 100
    assert accuracy(scores, target).item() == pytest.approx(expected.item(), rel=1e-5)
    assert accuracy(scores, target, topk=(1, 2))[0].item() == pytest.approx(expected.item())
