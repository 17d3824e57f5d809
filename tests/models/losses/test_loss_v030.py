"""MMSeg 0.30's loss values: DiceLossV030 and class-weighted cross-entropy with ignored pixels.

Expected values are worked out by hand from MMSeg 0.30's definitions (written out in the
docstrings of ``dice_loss_v030`` and ``CrossEntropyLoss``). Tolerances: float32 sums of a few
terms, 1e-6.
"""

from __future__ import annotations

import math

import pytest
import torch

from segwright.models.losses import CrossEntropyLoss, DiceLossV030
from segwright.registry import MODELS

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

# One 2x2 image, two classes; the bottom-right pixel is ignored.
LABEL = torch.tensor([[[0, 1], [1, 255]]])


def logits_for(p0: float, images: int = 1) -> torch.Tensor:
    """(images, 2, 2, 2) logits whose softmax is (p0, 1 - p0) at every pixel."""
    pair = torch.tensor([math.log(p0), math.log(1 - p0)])
    return pair.view(1, 2, 1, 1).expand(images, 2, 2, 2).clone()


def test_dice_v030_hand_computed():
    # p = 0.5 everywhere; one-hot of clamp(255) is class 1; the mask only acts on the numerator.
    # class 0: 1 - (2*0.5 + 1) / (4*0.25 + 1 + 1) = 1/3; class 1: 1 - (2*1 + 1) / (1 + 3 + 1) = 2/5
    loss = DiceLossV030()(logits_for(0.5), LABEL)
    assert loss.item() == pytest.approx((1 / 3 + 2 / 5) / 2, abs=1e-6)
    # p = (0.75, 0.25): class 0: 1 - 2.5/4.25 = 7/17; class 1: 1 - 2/4.25 = 9/17.
    assert DiceLossV030()(logits_for(0.75), LABEL).item() == pytest.approx(8 / 17, abs=1e-6)
    # Class weights scale each class; the sum is still divided by the number of classes.
    weighted = DiceLossV030(class_weight=[1.0, 2.0], loss_weight=3.0)(logits_for(0.5), LABEL)
    assert weighted.item() == pytest.approx(3 * (1 / 3 + 4 / 5) / 2, abs=1e-6)


def test_dice_v030_averages_each_class_over_images_then_over_classes():
    # Image 2: all class 0, p = 0.5: class 0: 1 - 5/6 = 1/6; class 1: 1 - 1/2 = 1/2.
    logits = torch.cat([logits_for(0.75), logits_for(0.5)])
    label = torch.cat([LABEL, torch.zeros_like(LABEL)])
    expected = ((7 / 17 + 1 / 6) / 2 + (9 / 17 + 1 / 2) / 2) / 2
    assert DiceLossV030()(logits, label).item() == pytest.approx(expected, abs=1e-6)
    # One number whatever the reduction (0.30 averaged each class over the batch first).
    for reduction in ("none", "sum"):
        value = DiceLossV030(reduction=reduction)(logits, label)
        assert value.item() == pytest.approx(expected, abs=1e-6)


def test_dice_v030_ignore_index_masks_pixels_and_drops_that_class():
    label = torch.tensor([[[0, 1], [1, 1]]])
    # ignore_index=1: pixels labelled 1 leave the numerator, class 1 leaves the sum (not C).
    # class 0 at p = 0.5: 1 - (2*0.5 + 1) / (1 + 1 + 1) = 1/3 -> (1/3) / 2
    loss = DiceLossV030(ignore_index=1)(logits_for(0.5), label)
    assert loss.item() == pytest.approx(1 / 6, abs=1e-6)
    # The call's ignore_index and an OHEM weight are not used (as in 0.30).
    again = DiceLossV030(ignore_index=1)(
        logits_for(0.5), label, weight=torch.zeros(1, 2, 2), ignore_index=0
    )
    assert again.item() == loss.item()


def test_dice_v030_differs_from_the_1x_dice_and_backpropagates():
    logits = logits_for(0.75).requires_grad_()
    old = DiceLossV030()(logits, LABEL)
    new = MODELS.build(dict(type="DiceLoss"))(logits, LABEL)
    assert abs(old.item() - new.item()) > 1e-3
    old.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


def test_class_weighted_ce_0x_divides_by_the_pixel_count():
    # Zero logits: every kept pixel's loss is ln 2; weights (1, 3): sum = (1 + 3 + 3) ln 2.
    logits = torch.zeros(1, 2, 2, 2)
    weights = [1.0, 3.0]
    ln2 = math.log(2)
    old = CrossEntropyLoss(class_weight=weights, avg_by_class_weight=False)
    new = CrossEntropyLoss(class_weight=weights)
    assert old(logits, LABEL).item() == pytest.approx(7 * ln2 / 4, abs=1e-6)  # 4 pixels
    assert new(logits, LABEL).item() == pytest.approx(7 * ln2 / 8, abs=1e-6)  # 1+3+3 + 1 ignored
    old_kept = CrossEntropyLoss(
        class_weight=weights, avg_non_ignore=True, avg_by_class_weight=False
    )
    new_kept = CrossEntropyLoss(class_weight=weights, avg_non_ignore=True)
    assert old_kept(logits, LABEL).item() == pytest.approx(7 * ln2 / 3, abs=1e-6)  # 3 kept
    assert new_kept(logits, LABEL).item() == pytest.approx(ln2, abs=1e-6)  # 7 ln2 / 7
    # Without class weights the option changes nothing.
    plain = CrossEntropyLoss(avg_by_class_weight=False)(logits, LABEL)
    assert plain.item() == CrossEntropyLoss()(logits, LABEL).item()
