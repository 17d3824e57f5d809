"""DeltaXYWHBBoxCoder: MMDetection 3.3's bbox2delta / delta2bbox."""

from __future__ import annotations

import math

import pytest
import torch

from segwright.models.task_modules import DeltaXYWHBBoxCoder
from segwright.registry import TASK_UTILS
from segwright.utils.errors import ConfigError

PROPOSAL = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
GT = torch.tensor([[2.0, 4.0, 12.0, 24.0]])


def test_encode_by_hand() -> None:
    # centres (5, 5) -> (7, 14), sizes (10, 10) -> (10, 20)
    plain = DeltaXYWHBBoxCoder().encode(PROPOSAL, GT)
    torch.testing.assert_close(plain, torch.tensor([[0.2, 0.9, 0.0, math.log(2.0)]]))
    rcnn = DeltaXYWHBBoxCoder(target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2])
    torch.testing.assert_close(
        rcnn.encode(PROPOSAL, GT), torch.tensor([[2.0, 9.0, 0.0, math.log(2.0) / 0.2]])
    )


def test_round_trip() -> None:
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(20, 2, generator=gen) * 50
    priors = torch.cat([xy, xy + 1 + torch.rand(20, 2, generator=gen) * 30], dim=1)
    xy = torch.rand(20, 2, generator=gen) * 50
    gts = torch.cat([xy, xy + 1 + torch.rand(20, 2, generator=gen) * 30], dim=1)
    coder = TASK_UTILS.build(
        dict(
            type="DeltaXYWHBBoxCoder",
            target_means=[0.1, -0.1, 0.0, 0.2],
            target_stds=[0.1, 0.1, 0.2, 0.2],
        )
    )
    deltas = coder.encode(priors, gts)
    torch.testing.assert_close(coder.decode(priors, deltas), gts, rtol=1e-5, atol=1e-4)


def test_decode_clamps_size_change_and_clips_to_the_image() -> None:
    coder = DeltaXYWHBBoxCoder()
    huge = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    out = coder.decode(PROPOSAL, huge)
    scale = 1000 / 16  # exp(|log(16 / 1000)|)
    torch.testing.assert_close(
        out, torch.tensor([[5 - 5 * scale, 5 - 5 * scale, 5 + 5 * scale, 5 + 5 * scale]])
    )
    clipped = coder.decode(PROPOSAL, huge, max_shape=(40, 30, 3))
    torch.testing.assert_close(clipped, torch.tensor([[0.0, 0.0, 30.0, 40.0]]))
    unclipped = DeltaXYWHBBoxCoder(clip_border=False).decode(PROPOSAL, huge, max_shape=(40, 30))
    torch.testing.assert_close(unclipped, out)


def test_decode_with_centre_clamp_and_per_class_deltas() -> None:
    coder = DeltaXYWHBBoxCoder(add_ctr_clamp=True, ctr_clamp=3)
    deltas = torch.tensor([[1.0, -1.0, -10.0, 0.0, 0.0, 0.0, 0.0, 0.0]])  # two classes
    out = coder.decode(PROPOSAL, deltas)
    assert out.shape == (1, 8)
    # shift 10 * 1 clamped to 3; dw -10 is not clamped from below with add_ctr_clamp
    w = 10 * math.exp(-10)
    torch.testing.assert_close(out[0, :4], torch.tensor([8 - w / 2, 2 - 5.0, 8 + w / 2, 2 + 5.0]))
    torch.testing.assert_close(out[0, 4:], PROPOSAL[0])


def test_empty_and_bad_input() -> None:
    coder = DeltaXYWHBBoxCoder()
    assert coder.decode(torch.empty(0, 4), torch.empty(0, 4)).shape == (0, 4)
    assert coder.encode(torch.empty(0, 4), torch.empty(0, 4)).shape == (0, 4)
    with pytest.raises(ValueError, match="paired row by row"):
        coder.encode(PROPOSAL, GT.repeat(2, 1))
    with pytest.raises(ValueError, match=r"\(N, 4K\)"):
        coder.decode(PROPOSAL, torch.zeros(1, 1, 4))
    with pytest.raises(ValueError, match=r"\(N, 4K\)"):
        coder.decode(PROPOSAL, torch.zeros(1, 6))
    with pytest.raises(ValueError, match="rows of deltas"):
        coder.decode(PROPOSAL, torch.zeros(2, 4))
    with pytest.raises(ConfigError, match="four numbers"):
        DeltaXYWHBBoxCoder(target_stds=[0.1, 0.2])
