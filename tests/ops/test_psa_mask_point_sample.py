"""PSA mask and point sampling against their loop references (float64, forward and backward),
plus PointRend's point pickers against their definitions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from segwright.ops import PSAMask, point_sample, psa_mask
from segwright.ops._reference_context import point_sample_reference, psa_mask_reference
from segwright.ops.point_sample import (
    calculate_uncertainty,
    get_uncertain_point_coords_on_grid,
    get_uncertain_point_coords_with_randomness,
)

RTOL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    # Results do not depend on it; on a shared two-core machine, two threads waiting for each
    # other made these tiny forward passes ~500x slower.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


# (H, W, mask_h, mask_w): windows larger, smaller, even-sized and non-square
PSA_CASES = [(3, 4, 5, 7), (4, 4, 3, 3), (2, 5, 4, 6), (3, 3, 7, 7)]


@pytest.mark.parametrize("psa_type", ["collect", "distribute"])
@pytest.mark.parametrize(("height", "width", "mask_h", "mask_w"), PSA_CASES)
def test_psa_mask_matches_reference(psa_type, height, width, mask_h, mask_w):
    torch.manual_seed(0)
    x = torch.randn(2, mask_h * mask_w, height, width, dtype=torch.float64)
    fast_in, slow_in = x.clone().requires_grad_(), x.clone().requires_grad_()
    fast = psa_mask(fast_in, psa_type, (mask_h, mask_w))
    slow = psa_mask_reference(slow_in, psa_type, (mask_h, mask_w))
    assert fast.shape == (2, height * width, height, width) and fast.is_contiguous()
    assert _rel(fast, slow) <= RTOL
    grad = torch.randn(fast.shape, dtype=torch.float64)
    fast.backward(grad)
    slow.backward(grad)
    assert _rel(fast_in.grad, slow_in.grad) <= RTOL


def test_psa_mask_by_hand():
    # 1x2 map, 1x3 window centred on each pixel: pixel 0 sees (-1, 0, 1), pixel 1 sees (0, 1, 2)
    x = torch.tensor([[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]).view(1, 3, 1, 2)
    collect = psa_mask(x, "collect", (1, 3)).view(2, 2)  # [target q, source p]
    assert collect.tolist() == [[2.0, 4.0], [3.0, 5.0]]
    distribute = psa_mask(x, 1, (1, 3)).view(2, 2)  # [source p, target q]
    assert distribute.tolist() == [[2.0, 3.0], [4.0, 5.0]]
    assert torch.equal(PSAMask("collect", (1, 3))(x), psa_mask(x, 0, (1, 3)))


def test_psa_mask_rejects_bad_input():
    with pytest.raises(ValueError, match="mask_size"):
        psa_mask(torch.zeros(1, 8, 3, 3), "collect", (3, 3))
    with pytest.raises(ValueError, match="psa_type"):
        PSAMask("both", (3, 3))


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_point_sample_matches_reference(align_corners, mode):
    torch.manual_seed(1)
    feature = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    # points inside, on and beyond the border (zeros padding), never exactly half-way
    points = torch.rand(2, 40, 2, dtype=torch.float64) * 1.3 - 0.15
    ins = [feature.clone().requires_grad_() for _ in range(2)]
    pts = [points.clone().requires_grad_() for _ in range(2)]
    fast = point_sample(ins[0], pts[0], align_corners=align_corners, mode=mode)
    slow = point_sample_reference(ins[1], pts[1], align_corners=align_corners, mode=mode)
    assert fast.shape == (2, 3, 40)
    assert _rel(fast, slow) <= RTOL
    grad = torch.randn(fast.shape, dtype=torch.float64)
    fast.backward(grad)
    slow.backward(grad)
    assert _rel(ins[0].grad, ins[1].grad) <= RTOL
    if mode == "bilinear":
        assert _rel(pts[0].grad, pts[1].grad) <= RTOL


def test_point_sample_grid_shape_and_dtype():
    feature = torch.arange(16, dtype=torch.float64).view(1, 1, 4, 4)
    centres = torch.tensor([[[[0.125, 0.625], [0.875, 0.125]]]], dtype=torch.float32)
    out = point_sample(feature, centres)  # float32 points on a float64 map: cast, not an error
    assert out.shape == (1, 1, 1, 2) and out.flatten().tolist() == [8.0, 3.0]


def test_uncertainty_and_grid_points_follow_the_definition():
    logits = torch.tensor([[[[3.0, 0.0]], [[1.0, 0.5]], [[2.5, 0.4]]]])  # (1, 3, 1, 2)
    unc = calculate_uncertainty(logits)
    assert torch.allclose(unc, torch.tensor([[[[-0.5, -0.1]]]]))
    indices, coords = get_uncertain_point_coords_on_grid(unc, num_points=5)
    assert indices.tolist() == [[1, 0]]  # capped at H * W, most uncertain first
    assert coords.tolist() == [[[0.75, 0.5], [0.25, 0.5]]]


def test_training_points_are_the_most_uncertain_of_the_oversampled_set():
    torch.manual_seed(2)
    logits = torch.randn(2, 4, 6, 6)
    torch.manual_seed(5)
    coords = get_uncertain_point_coords_with_randomness(logits, calculate_uncertainty, 10, 3, 0.7)
    torch.manual_seed(5)  # the same draws, by the definition
    candidates = torch.rand(2, 30, 2)
    scores = calculate_uncertainty(point_sample(logits, candidates))[:, 0]
    for b in range(2):
        best = candidates[b, scores[b].argsort(descending=True)[:7]]
        assert set(map(tuple, coords[b, :7].tolist())) == set(map(tuple, best.tolist()))
    assert coords.shape == (2, 10, 2) and bool(((coords >= 0) & (coords <= 1)).all())
    with pytest.raises(ValueError, match="oversample_ratio"):
        get_uncertain_point_coords_with_randomness(logits, calculate_uncertainty, 10, 0.5, 0.7)
