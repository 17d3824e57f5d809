"""OHEMPixelSampler: per-batch min_kept, strict threshold, loss-based mining."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from segwright.models.losses import CrossEntropyLoss, DiceLoss, FocalLoss
from segwright.models.samplers import BasePixelSampler, OHEMPixelSampler
from segwright.registry import TASK_UTILS
from segwright.utils.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")


def logits_for(probs: list[list[float]]) -> torch.Tensor:
    """(N, 2, 1, W) logits whose softmax gives class 0 the probabilities ``probs[n][w]``."""
    p = torch.tensor(probs, dtype=torch.float64)
    return torch.stack([p.log(), (1 - p).log()], dim=1).unsqueeze(2).float()


def head(loss_decode=None, ignore_index: int = 255) -> SimpleNamespace:
    if loss_decode is None:
        loss_decode = CrossEntropyLoss()
    return SimpleNamespace(ignore_index=ignore_index, loss_decode=loss_decode)


PROBS = [[0.1, 0.5, 0.7, 0.9, 0.95, 0.2]]
LABEL = torch.tensor([[[[0, 0, 0, 0, 0, 255]]]])  # (N, 1, H, W); last pixel ignored


def test_thresh_rises_to_the_min_kept_th_probability_strictly() -> None:
    sampler = OHEMPixelSampler(head(), thresh=0.6, min_kept=2)
    weight = sampler.sample(logits_for(PROBS), LABEL)
    assert weight.shape == (1, 1, 6)
    # sorted valid probs (0.1, 0.5, 0.7, 0.9, 0.95): threshold = max(0.6, sorted[2] = 0.7);
    # 0.7 itself is not below it (strict <); the ignored pixel always gets 0.
    assert weight.flatten().tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def test_thresh_above_min_kept_keeps_everything_below_it() -> None:
    sampler = OHEMPixelSampler(head(), thresh=0.92, min_kept=2)
    weight = sampler.sample(logits_for(PROBS), LABEL)
    assert weight.flatten().tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def test_min_kept_is_per_batch() -> None:
    probs = [[0.1, 0.5, 0.7, 0.9], [0.2, 0.3, 0.8, 0.85]]
    label = torch.zeros(2, 1, 1, 4, dtype=torch.long)
    weight = OHEMPixelSampler(head(), thresh=0.05, min_kept=2).sample(logits_for(probs), label)
    # batch_kept = 2 * 2 = 4 -> threshold = sorted[4] = 0.7 over all 8 pixels of the batch
    assert weight.tolist() == [[[1.0, 1.0, 0.0, 0.0]], [[1.0, 1.0, 0.0, 0.0]]]


def test_fewer_valid_pixels_than_min_kept_drops_the_most_confident() -> None:
    weight = OHEMPixelSampler(head(), thresh=0.6, min_kept=100).sample(logits_for(PROBS), LABEL)
    assert weight.flatten().tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    all_ignored = torch.full_like(LABEL, 255)
    weight = OHEMPixelSampler(head(), thresh=0.6, min_kept=2).sample(logits_for(PROBS), all_ignored)
    assert weight.sum().item() == 0.0


def test_loss_based_selection_without_thresh() -> None:
    # Per-pixel CE = -log p: the two largest losses are at probabilities 0.1 and 0.5.
    sampler = OHEMPixelSampler(head(), min_kept=2)
    weight = sampler.sample(logits_for(PROBS), LABEL)
    assert weight.flatten().tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    # Labels flipped to class 1: losses are -log(1 - p), largest at 0.95 and 0.9.
    flipped = torch.tensor([[[[1, 1, 1, 1, 1, 255]]]])
    weight = sampler.sample(logits_for(PROBS), flipped)
    assert weight.flatten().tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 0.0]


class FixedLoss(nn.Module):
    """Returns a fixed per-pixel map and records how it was called."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values = torch.tensor([[values]])
        self.calls: list[dict] = []

    def forward(self, cls_score, label, **kwargs):
        self.calls.append(kwargs)
        return self.values


def test_loss_based_sums_every_loss_module() -> None:
    first = FixedLoss([5.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    second = FixedLoss([0.0, 1.0, 2.0, 3.0, 4.0, 99.0])  # pixel 5 is ignored
    sampler = OHEMPixelSampler(head(nn.ModuleList([first, second]), ignore_index=255), min_kept=2)
    weight = sampler.sample(logits_for(PROBS), LABEL)
    assert weight.flatten().tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert first.calls == [dict(weight=None, ignore_index=255, reduction_override="none")]


def test_loss_based_sums_channel_maps() -> None:
    # FocalLoss returns (N, C, H, W) maps; they are summed over channels (falls with p).
    losses = nn.ModuleList([CrossEntropyLoss(loss_weight=0.0), FocalLoss()])
    weight = OHEMPixelSampler(head(losses), min_kept=3).sample(logits_for(PROBS), LABEL)
    assert weight.flatten().tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


def test_weight_with_cross_entropy_keeps_the_denominator() -> None:
    logits = logits_for(PROBS)
    ce = CrossEntropyLoss()
    weight = OHEMPixelSampler(head(ce), thresh=0.6, min_kept=2).sample(logits, LABEL)
    label = LABEL.squeeze(1)
    loss = ce(logits, label, weight=weight, ignore_index=255)
    expected = (-math.log(0.1) - math.log(0.5)) / 6  # divided by all N*H*W pixels
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss = CrossEntropyLoss(avg_non_ignore=True)(logits, label, weight=weight)
    assert loss.item() == pytest.approx(expected * 6 / 5, rel=1e-5)


def test_built_from_task_utils_with_context() -> None:
    ctx = head()
    sampler = TASK_UTILS.build(
        dict(type="mmseg.OHEMPixelSampler", thresh=0.7, min_kept=100000),
        default_args=dict(context=ctx),
    )
    assert isinstance(sampler, OHEMPixelSampler) and isinstance(sampler, BasePixelSampler)
    assert sampler.context is ctx and sampler.min_kept == 100000


def test_errors() -> None:
    with pytest.raises(ConfigError, match="min_kept"):
        OHEMPixelSampler(head(), min_kept=1)
    with pytest.raises(ConfigError, match="per pixel"):
        OHEMPixelSampler(head(DiceLoss()), min_kept=2).sample(logits_for(PROBS), LABEL)
    with pytest.raises(ConfigError, match="one channel"):
        OHEMPixelSampler(head(), thresh=0.7, min_kept=2).sample(
            torch.zeros(1, 1, 1, 6), torch.zeros(1, 1, 1, 6, dtype=torch.long)
        )
    with pytest.raises(ValueError, match="differ in size"):
        OHEMPixelSampler(head(), thresh=0.7, min_kept=2).sample(
            torch.zeros(1, 2, 1, 5), torch.zeros(1, 1, 1, 6, dtype=torch.long)
        )


def _mmseg_threshold_weights(sampler, seg_logit, seg_label):
    """MMSeg's thresh branch as it reads: boolean indexing, a Python float threshold."""
    label = seg_label.squeeze(1).long()
    valid = label != sampler.context.ignore_index
    weight = seg_logit.new_zeros(label.shape)
    valid_weight = weight[valid]
    safe = torch.where(valid, label, torch.zeros_like(label))
    prob = torch.softmax(seg_logit, dim=1).gather(1, safe.unsqueeze(1)).squeeze(1)[valid]
    ranked = prob.sort().values
    kept = sampler.min_kept * label.size(0)
    min_threshold = float(ranked[min(kept, ranked.numel() - 1)]) if ranked.numel() else 0.0
    valid_weight[prob < max(min_threshold, sampler.thresh)] = 1.0
    weight[valid] = valid_weight
    return weight


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_thresh_weights_equal_mmsegs_formula_without_a_host_read(dtype) -> None:
    # Random batches with ignored pixels, ties (logits rounded to a few values), fewer valid
    # pixels than min_kept, no valid pixel at all, and NaN logits: the weights are MMSeg's,
    # and the sampler reads nothing on the host (a device sync on CUDA).
    from segwright.testing.host_reads import HostReads

    gen = torch.Generator().manual_seed(0)
    for case in range(60):
        n, c, h, w = 2, 3, 5, 7
        logits = (torch.randn(n, c, h, w, generator=gen) * 2).round(decimals=case % 3).to(dtype)
        label = torch.randint(0, c, (n, 1, h, w), generator=gen)
        ignored = torch.rand(n, 1, h, w, generator=gen) < [0.0, 0.3, 0.9, 1.0][case % 4]
        label[ignored] = 255
        if case % 5 == 2:  # a valid pixel with NaN logits: it sorts last, as in MMSeg
            logits[0, :, 1, 2] = float("nan")
            label[0, 0, 1, 2] = 0
        sampler = OHEMPixelSampler(
            head(), thresh=[0.3, 0.6, 0.9][case % 3], min_kept=[2, 10, 40][case % 5 % 3]
        )
        reads = HostReads()
        with reads:
            weight = sampler.sample(logits, label)
        assert dict(reads.where) == {}
        expected = _mmseg_threshold_weights(sampler, logits, label)
        assert weight.dtype == dtype and torch.equal(weight, expected), case
