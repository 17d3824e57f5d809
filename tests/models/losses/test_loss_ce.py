"""CrossEntropyLoss: MMSeg 1.2 averaging, class weights (list and files), sigmoid CE."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
import torch

from segwright.engine.safe_unpickle import trusted_pickles
from segwright.models.losses import CrossEntropyLoss, get_class_weight
from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

EPS = float(np.finfo(np.float32).eps)
LN2, LN4 = math.log(2.0), math.log(4.0)


def three_pixels(last_label: int = 255) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (1, 2, 1, 3) whose per-pixel CE is ln2 (label 0), ln4 (label 1), then ``last``.

    Pixel 0: logits (0, 0)   -> p = 1/2 for either class.
    Pixel 1: logits (ln3, 0) -> p(class 1) = 1/4.
    Pixel 2: logits (0, 0), label ``last_label`` (ignored by default).
    """
    logits = torch.tensor([[[[0.0, math.log(3.0), 0.0]], [[0.0, 0.0, 0.0]]]])
    label = torch.tensor([[[0, 1, last_label]]])
    return logits, label


def test_default_mean_divides_by_all_pixels_including_ignored() -> None:
    logits, label = three_pixels()
    loss = CrossEntropyLoss()(logits, label, ignore_index=255)
    assert loss.item() == pytest.approx((LN2 + LN4) / (3 + EPS), rel=1e-6)


def test_avg_non_ignore_divides_by_valid_pixels() -> None:
    logits, label = three_pixels()
    loss = CrossEntropyLoss(avg_non_ignore=True)(logits, label, ignore_index=255)
    assert loss.item() == pytest.approx((LN2 + LN4) / 2, rel=1e-6)


def test_reductions_and_loss_weight() -> None:
    logits, label = three_pixels()
    none = CrossEntropyLoss(reduction="none")(logits, label, ignore_index=255)
    assert none.shape == (1, 1, 3)
    assert none.flatten().tolist() == pytest.approx([LN2, LN4, 0.0], rel=1e-6)
    total = CrossEntropyLoss(reduction="sum", loss_weight=0.5)(logits, label, ignore_index=255)
    assert total.item() == pytest.approx(0.5 * (LN2 + LN4), rel=1e-6)
    override = CrossEntropyLoss()(logits, label, reduction_override="sum", ignore_index=255)
    assert override.item() == pytest.approx(LN2 + LN4, rel=1e-6)
    with pytest.raises(ValueError, match="avg_factor"):
        CrossEntropyLoss(reduction="sum")(logits, label, avg_factor=2, ignore_index=255)
    explicit = CrossEntropyLoss()(logits, label, avg_factor=4, ignore_index=255)
    assert explicit.item() == pytest.approx((LN2 + LN4) / 4, rel=1e-6)


def test_element_weight_multiplies_but_keeps_denominator() -> None:
    logits, label = three_pixels()
    weight = torch.tensor([[[0.0, 1.0, 1.0]]])
    loss = CrossEntropyLoss()(logits, label, weight=weight, ignore_index=255)
    assert loss.item() == pytest.approx(LN4 / 3, rel=1e-6)


def test_default_ignore_index_at_call_time_is_255() -> None:
    logits, label = three_pixels()
    assert CrossEntropyLoss()(logits, label).item() == pytest.approx((LN2 + LN4) / 3, rel=1e-6)


def test_class_weight_without_ignored_pixels_matches_mmseg_1_2() -> None:
    # MMSeg 1.2: sum(w[y] * l) / sum(w[y]) when class weights are given.
    logits, label = three_pixels(last_label=0)
    loss = CrossEntropyLoss(class_weight=[1.0, 3.0])(logits, label)
    assert loss.item() == pytest.approx((LN2 + 3 * LN4 + LN2) / (1 + 3 + 1), rel=1e-6)


def test_class_weight_with_ignored_pixels_does_not_crash() -> None:
    logits, label = three_pixels()
    non_ignore = CrossEntropyLoss(class_weight=[1.0, 3.0], avg_non_ignore=True)
    assert non_ignore(logits, label, ignore_index=255).item() == pytest.approx(
        (LN2 + 3 * LN4) / (1 + 3), rel=1e-6
    )
    # avg_non_ignore=False: the ignored pixel stays in the divisor with weight 1.
    default = CrossEntropyLoss(class_weight=[1.0, 3.0])
    assert default(logits, label, ignore_index=255).item() == pytest.approx(
        (LN2 + 3 * LN4) / (1 + 3 + 1), rel=1e-6
    )
    none = CrossEntropyLoss(class_weight=[1.0, 3.0], reduction="none")(logits, label)
    assert none.flatten().tolist() == pytest.approx([LN2, 3 * LN4, 0.0], rel=1e-6)


def test_class_weight_avg_non_ignore_equals_torch_weighted_mean() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 5, 6, generator=gen)
    label = torch.randint(0, 4, (2, 5, 6), generator=gen)
    label[0, :2] = 255
    weights = [0.5, 1.0, 2.0, 4.0]
    ours = CrossEntropyLoss(class_weight=weights, avg_non_ignore=True)(logits, label)
    torch_ce = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights), ignore_index=255)
    assert ours.item() == pytest.approx(torch_ce(logits, label).item(), rel=1e-5)
    unweighted = CrossEntropyLoss(avg_non_ignore=True)(logits, label)
    plain = torch.nn.CrossEntropyLoss(ignore_index=255)(logits, label)
    assert unweighted.item() == pytest.approx(plain.item(), rel=1e-5)


@pytest.mark.parametrize("suffix", [".npy", ".json", ".txt", ".yaml", ".pkl"])
def test_class_weight_from_file(tmp_path, suffix: str) -> None:
    path = tmp_path / f"weights{suffix}"
    values = [1.0, 3.0]
    if suffix == ".npy":
        np.save(path, np.asarray(values, dtype=np.float32))
    elif suffix == ".json":
        path.write_text(json.dumps(values))
    elif suffix == ".txt":
        path.write_text("1.0\n3.0\n")
    elif suffix == ".yaml":
        path.write_text("- 1.0\n- 3.0\n")
    else:
        path.write_bytes(pickle.dumps(values))
    with trusted_pickles(suffix == ".pkl"):  # a pickle needs --trust-checkpoint
        loss_fn = CrossEntropyLoss(class_weight=str(path), avg_non_ignore=True)
    assert loss_fn.class_weight == [1.0, 3.0]
    logits, label = three_pixels()
    assert loss_fn(logits, label).item() == pytest.approx((LN2 + 3 * LN4) / 4, rel=1e-6)


def test_class_weight_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        get_class_weight(str(tmp_path / "missing.npy"))
    bad = tmp_path / "w.csvx"
    bad.write_text("1 2")
    with pytest.raises(ConfigError, match="unsupported extension"):
        get_class_weight(str(bad))
    with pytest.raises(ConfigError, match="flat list"):
        get_class_weight([[1.0], [2.0]])
    logits, label = three_pixels()
    with pytest.raises(ConfigError, match="3 entries"):
        CrossEntropyLoss(class_weight=[1.0, 2.0, 3.0])(logits, label)


def test_sigmoid_one_channel() -> None:
    # x = 0, label 1 -> BCE ln2; x = ln3, label 0 -> -log(1 - 3/4) = ln4; third pixel ignored.
    logits = torch.tensor([[[[0.0, math.log(3.0), 5.0]]]])
    label = torch.tensor([[[1, 0, 255]]])
    mean = CrossEntropyLoss(use_sigmoid=True)(logits, label, ignore_index=255)
    assert mean.item() == pytest.approx((LN2 + LN4) / 3, rel=1e-6)
    non_ignore = CrossEntropyLoss(use_sigmoid=True, avg_non_ignore=True)(logits, label)
    assert non_ignore.item() == pytest.approx((LN2 + LN4) / 2, rel=1e-6)
    none = CrossEntropyLoss(use_sigmoid=True, reduction="none")(logits, label)
    assert none.flatten().tolist() == pytest.approx([LN2, LN4, 0.0], rel=1e-6)
    # pos_weight (class_weight with one entry) multiplies the positive term.
    pos = CrossEntropyLoss(use_sigmoid=True, class_weight=[2.0], reduction="sum")(logits, label)
    assert pos.item() == pytest.approx(2 * LN2 + LN4, rel=1e-6)
    with pytest.raises(ConfigError, match="labels 0 or 1"):
        CrossEntropyLoss(use_sigmoid=True)(logits, torch.tensor([[[2, 0, 255]]]))


def test_sigmoid_multi_channel_one_hot() -> None:
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(1, 3, 2, 2, generator=gen)
    label = torch.tensor([[[0, 2], [255, 1]]])
    # Independent formula: one-hot target per channel, BCE, ignored pixel weight 0.
    expected_sum = 0.0
    for i in range(2):
        for j in range(2):
            if label[0, i, j] == 255:
                continue
            for c in range(3):
                x = logits[0, c, i, j].item()
                t = 1.0 if label[0, i, j].item() == c else 0.0
                expected_sum += -(
                    t * math.log(1 / (1 + math.exp(-x)))
                    + (1 - t) * math.log(1 - 1 / (1 + math.exp(-x)))
                )
    mean = CrossEntropyLoss(use_sigmoid=True)(logits, label)
    assert mean.item() == pytest.approx(expected_sum / 12, rel=1e-5)
    non_ignore = CrossEntropyLoss(use_sigmoid=True, avg_non_ignore=True)(logits, label)
    assert non_ignore.item() == pytest.approx(expected_sum / 9, rel=1e-5)
    weighted = CrossEntropyLoss(use_sigmoid=True, class_weight=[1.0, 1.0, 1.0])(logits, label)
    assert weighted.item() == pytest.approx(expected_sum / 12, rel=1e-5)


def test_config_errors_and_registry() -> None:
    with pytest.raises(ConfigError, match="use_sigmoid and use_mask"):
        CrossEntropyLoss(use_sigmoid=True, use_mask=True)
    with pytest.raises(ConfigError, match="reduction"):
        CrossEntropyLoss(reduction="avg")
    loss = MODELS.build(dict(type="mmseg.CrossEntropyLoss", loss_name="loss_x", loss_weight=0.4))
    assert isinstance(loss, CrossEntropyLoss)
    assert loss.loss_name == "loss_x"
    assert loss.loss_weight == 0.4
    assert list(loss.state_dict()) == []  # class weights are not buffers: checkpoints unchanged


def test_default_config_warns_about_avg_non_ignore() -> None:
    with pytest.warns(UserWarning, match="avg_non_ignore"):
        CrossEntropyLoss()


def test_gradient_flows() -> None:
    logits, label = three_pixels()
    logits.requires_grad_(True)
    CrossEntropyLoss(class_weight=[1.0, 2.0])(logits, label).backward()
    assert logits.grad is not None
    assert logits.grad[..., 2].abs().sum().item() == 0.0


def test_use_mask_scores_the_roi_class_channel() -> None:
    gen = torch.Generator().manual_seed(2)
    pred = torch.randn(2, 3, 2, 2, generator=gen)
    masks = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [1.0, 1.0]]])
    roi_labels = torch.tensor([2, 0])
    loss = CrossEntropyLoss(use_mask=True)(pred, masks, roi_labels)
    selected = torch.stack([pred[0, 2], pred[1, 0]])
    p = torch.sigmoid(selected)
    expected = -(masks * p.log() + (1 - masks) * (1 - p).log()).mean()
    assert loss.shape == (1,)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ConfigError, match="per-ROI"):
        CrossEntropyLoss(use_mask=True)(pred, masks)


def test_a_count_kept_on_the_device_divides_exactly_as_the_python_count() -> None:
    # weight_reduce_loss with an integer tensor avg_factor (avg_non_ignore keeps its count on the
    # device, no sync) gives the bits a Python int gives, also where `count + EPS` rounds up in
    # float32 (an odd count above 2**24 lies halfway between two float32 numbers).
    from segwright.models.losses.utils import weight_reduce_loss

    loss = torch.rand(7, generator=torch.Generator().manual_seed(0)) * 1e7
    for count in (0, 1, 2, 3, 1000, 2**24 + 1, 2**24 + 3, 10**9 + 7):
        as_int = weight_reduce_loss(loss, avg_factor=count)
        as_tensor = weight_reduce_loss(loss, avg_factor=torch.tensor(count))
        assert as_tensor.dtype == as_int.dtype == torch.float32
        assert torch.equal(as_tensor, as_int), count


def test_class_weights_are_made_once_per_device_and_follow_changes() -> None:
    loss = CrossEntropyLoss(class_weight=[1.0, 2.0])
    logits, label = three_pixels(last_label=1)
    first = loss(logits, label)
    cached = dict(loss.__dict__["_constants_by_device"])
    assert loss(logits, label).item() == first.item()
    assert loss.__dict__["_constants_by_device"] == cached and len(cached) == 1
    loss.class_weight = [1.0, 1.0]  # a changed weight is a new constant, as MMSeg reads it anew
    assert loss(logits, label).item() == CrossEntropyLoss()(logits, label).item()
    with torch.inference_mode():  # never cached: an inference tensor cannot serve training
        loss(logits, label)
    assert all(not t.is_inference() for t in loss.__dict__["_constants_by_device"].values())
