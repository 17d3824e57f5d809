"""RoIAlign: hand-computed values, then the vectorised op against the loop reference."""

from __future__ import annotations

import importlib

import pytest
import torch

from segwright.ops import RoIAlign, roi_align
from segwright.ops._reference import roi_align_reference

ROI_ALIGN_MODULE = importlib.import_module("segwright.ops.roi_align")


def linear_map(height: int = 3, width: int = 4, dtype: torch.dtype = torch.float32):
    """f(y, x) = 10 y + x: bilinear sampling reproduces it exactly inside the map."""
    ys = torch.arange(height, dtype=dtype)[:, None]
    xs = torch.arange(width, dtype=dtype)[None, :]
    return (10 * ys + xs)[None, None]


def pool_one(rois: list[float], **kwargs) -> float:
    """One RoI, one bin, on the linear map; both implementations must give the same number."""
    kwargs.setdefault("output_size", 1)
    feature = linear_map()
    roi = torch.tensor([rois])
    fast = roi_align(feature, roi, **kwargs)
    slow = roi_align_reference(feature, roi, **kwargs)
    assert fast.shape == (1, 1, *ROI_ALIGN_MODULE._pair(kwargs["output_size"]))
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-6)
    return fast.flatten()[0].item()


# Hand-worked: sample positions, then 10 * mean(y) + mean(x) on the linear map.
@pytest.mark.parametrize(
    ("roi", "kwargs", "expected"),
    [
        # aligned: box x 0.5..2.5, y 0.5..1.5; 2x2 samples at y {0.75, 1.25}, x {1, 2}
        ([0, 1, 1, 3, 2], dict(sampling_ratio=2), 11.5),
        # legacy: no half-pixel shift; y {1.25, 1.75}, x {1.5, 2.5}
        ([0, 1, 1, 3, 2], dict(sampling_ratio=2, aligned=False), 17.0),
        # adaptive: 3 wide, 2 high -> 2x3 samples at y {0, 1}, x {0, 1, 2}
        ([0, 0, 0, 3, 2], dict(sampling_ratio=0), 6.0),
        # spatial_scale halves the box: x 0.5..2.5 -> samples at x {1, 2}; y 0.5..1.5
        ([0, 2, 2, 6, 4], dict(sampling_ratio=2, spatial_scale=0.5), 11.5),
        # legacy, a point box grows to 1x1: one sample at (1.5, 1.5)
        ([0, 1, 1, 1, 1], dict(sampling_ratio=0, aligned=False), 16.5),
        # y = -0.5 (within a pixel above the map) reads row 0: 0 + x = 0.5
        ([0, 0.5, -0.5, 1.5, 0.5], dict(sampling_ratio=1), 0.5),
        # y = -1 exactly still reads row 0
        ([0, 0.5, -1.0, 1.5, 0.0], dict(sampling_ratio=1), 0.5),
        # y = -2.5 is more than a pixel outside: 0
        ([0, 0.5, -2.5, 1.5, -1.5], dict(sampling_ratio=1), 0.0),
        # y = 2.5 (between the last row and the border) reads the last row: 20.5
        ([0, 0.5, 2.5, 1.5, 3.5], dict(sampling_ratio=1), 20.5),
        # y = 3 = height exactly still reads the last row; x = 4 = width the last column
        ([0, 4.0, 3.0, 5.0, 4.0], dict(sampling_ratio=1), 23.0),
        # y = 3.5 is past the border: 0
        ([0, 0.5, 3.5, 1.5, 4.5], dict(sampling_ratio=1), 0.0),
        # max over the 2x2 samples of the first case: 10 * 1.25 + 2
        ([0, 1, 1, 3, 2], dict(sampling_ratio=2, pool_mode="max"), 14.5),
        # an empty grid (zero-size box, adaptive sampling) reads 0 ...
        ([0, 1, 1, 1, 1], dict(sampling_ratio=0), 0.0),
        # ... and -10000 in max mode, MMCV's starting maximum
        ([0, 1, 1, 1, 1], dict(sampling_ratio=0, pool_mode="max"), -10000.0),
        # a zero-size box with a fixed grid samples its corner: (0.5, 0.5) -> 5.5
        ([0, 1, 1, 1, 1], dict(sampling_ratio=2), 5.5),
    ],
)
def test_hand_computed_single_bin(roi, kwargs, expected):
    assert pool_one(roi, **kwargs) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("op", [roi_align, roi_align_reference])
def test_two_bins_split_the_box(op):
    # aligned box x 0.5..2.5 -> bins [0.5, 1.5], [1.5, 2.5]; one sample each at x = 1, 2; y = 1
    feature = linear_map()
    out = op(feature, torch.tensor([[0.0, 1, 0.5, 3, 2.5]]), (1, 2), sampling_ratio=1)
    torch.testing.assert_close(out.flatten(), torch.tensor([11.0, 12.0]))
    # aligned box x -4..2 -> samples at x = -2.5 (outside: 0) and 0.5; y = 0.75 -> 8
    out = op(feature, torch.tensor([[0.0, -3.5, 0.5, 2.5, 2.0]]), (1, 2), sampling_ratio=1)
    torch.testing.assert_close(out.flatten(), torch.tensor([0.0, 8.0]))


def random_rois(
    count: int, num_images: int, height: int, width: int, scale: float, generator: torch.Generator
) -> torch.Tensor:
    """Boxes of every kind: inside, straddling the border, far outside, tiny, zero-size."""
    h, w = height / scale, width / scale
    x1 = torch.rand(count, generator=generator) * (w + 8) - 4
    y1 = torch.rand(count, generator=generator) * (h + 8) - 4
    bw = torch.rand(count, generator=generator) * w * 0.6
    bh = torch.rand(count, generator=generator) * h * 0.6
    bw[:3] = torch.tensor([0.0, 0.3, 1e-3])  # tiny and empty boxes
    bh[:3] = torch.tensor([0.0, 0.2, 2.0])
    x1[3], y1[3] = -3 * w, 2 * h  # entirely outside
    batch = torch.randint(0, num_images, (count,), generator=generator).float()
    return torch.stack([batch, x1, y1, x1 + bw, y1 + bh], 1)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-12)).item()


@pytest.mark.parametrize("pool_mode", ["avg", "max"])
@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sampling_ratio", [0, 1, 3])
def test_matches_reference_on_random_rois(pool_mode, aligned, sampling_ratio):
    generator = torch.Generator().manual_seed(sampling_ratio + 10 * aligned)
    feature = torch.randn(2, 3, 9, 12, generator=generator)
    rois = random_rois(14, 2, 9, 12, 0.5, generator)
    kwargs = dict(
        output_size=(2, 3),
        spatial_scale=0.5,
        sampling_ratio=sampling_ratio,
        pool_mode=pool_mode,
        aligned=aligned,
    )
    fast = roi_align(feature, rois, **kwargs)
    slow = roi_align_reference(feature, rois, **kwargs)
    assert fast.shape == (14, 3, 2, 3)
    assert relative_error(fast, slow) <= 1e-5
    # the entirely-outside RoI reads 0 everywhere
    assert torch.equal(fast[3], torch.zeros_like(fast[3]))


@pytest.mark.parametrize("pool_mode", ["avg", "max"])
def test_gradient_matches_reference_in_float64(pool_mode):
    generator = torch.Generator().manual_seed(3)
    feature = torch.randn(2, 2, 8, 10, dtype=torch.float64, generator=generator)
    rois = random_rois(10, 2, 8, 10, 1.0, generator).double()
    upstream = torch.randn(10, 2, 3, 2, dtype=torch.float64, generator=generator)
    grads = []
    for op in (roi_align, roi_align_reference):
        leaf = feature.clone().requires_grad_(True)
        out = op(leaf, rois, (3, 2), sampling_ratio=0, pool_mode=pool_mode)
        (out * upstream).sum().backward()
        grads.append(leaf.grad)
    assert relative_error(grads[0], grads[1]) <= 1e-5
    assert grads[1].abs().sum() > 0


@pytest.mark.parametrize("pool_mode", ["avg", "max"])
def test_gradcheck(pool_mode):
    generator = torch.Generator().manual_seed(4)
    feature = torch.randn(2, 2, 4, 5, dtype=torch.float64, generator=generator)
    rois = torch.tensor(
        [[0, 0.3, 0.2, 3.1, 2.9], [1, -0.7, 1.1, 2.2, 4.6], [1, 2.5, 0.4, 5.6, 1.9]],
        dtype=torch.float64,
    )
    feature.requires_grad_(True)
    # Max mode is slower to check element by element; a random projection covers it.
    assert torch.autograd.gradcheck(
        lambda x: roi_align(x, rois, 2, 1.0, 2, pool_mode, True),
        (feature,),
        fast_mode=pool_mode == "max",
    )


def test_many_gathers_and_split_groups_give_the_same_result(monkeypatch):
    generator = torch.Generator().manual_seed(5)
    feature = torch.randn(3, 4, 16, 20, generator=generator)
    rois = random_rois(40, 3, 16, 20, 1.0, generator)
    whole = roi_align(feature, rois, 3)
    monkeypatch.setattr(ROI_ALIGN_MODULE, "_GATHER_ELEMENTS", 2000)
    pieces = roi_align(feature, rois, 3)
    torch.testing.assert_close(pieces, whole, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(pieces, roi_align_reference(feature, rois, 3), rtol=1e-5, atol=1e-5)


def test_module_builds_from_an_mmdet_config_and_matches_the_function():
    layer = RoIAlign(**dict(output_size=7, sampling_ratio=0), spatial_scale=1 / 4)
    assert layer.output_size == (7, 7)
    assert "spatial_scale=0.25" in repr(layer) and "aligned=True" in repr(layer)
    generator = torch.Generator().manual_seed(6)
    feature = torch.randn(1, 2, 12, 12, generator=generator)
    rois = torch.tensor([[0.0, 4, 4, 30, 40], [0, 0, 0, 47, 47]])
    torch.testing.assert_close(layer(feature, rois), roi_align(feature, rois, 7, 0.25, 0))
    assert RoIAlign((14, 7), use_torchvision=True).output_size == (14, 7)


def test_empty_rois_and_double_rois_with_float_input():
    feature = torch.randn(1, 3, 5, 5)
    assert roi_align(feature, torch.zeros(0, 5), 7).shape == (0, 3, 7, 7)
    rois = torch.tensor([[0, 0.5, 0.5, 3.5, 4.0]], dtype=torch.float64)
    out = roi_align(feature, rois, 2)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, roi_align(feature, rois.float(), 2))


@pytest.mark.parametrize(
    ("feature", "rois", "kwargs", "message"),
    [
        (torch.zeros(3, 5, 5), torch.zeros(1, 5), {}, "input must be a feature map"),
        (torch.zeros(1, 3, 5, 5), torch.zeros(1, 4), {}, r"rois must have shape \(K, 5\)"),
        (torch.zeros(1, 3, 5, 5), torch.tensor([[1.0, 0, 0, 2, 2]]), {}, "batch index 1"),
        (torch.zeros(1, 3, 5, 5), torch.tensor([[-1.0, 0, 0, 2, 2]]), {}, "batch index -1"),
        (torch.zeros(1, 3, 5, 5), torch.tensor([[0.0, 3, 0, 2, 2]]), {}, "x2 >= x1"),
        (torch.zeros(1, 3, 5, 5), torch.zeros(1, 5), {"pool_mode": "sum"}, "pool_mode"),
        (torch.zeros(1, 3, 5, 5), torch.zeros(1, 5), {"output_size": 0}, "output_size"),
    ],
)
def test_bad_input_raises_value_error(feature, rois, kwargs, message):
    kwargs = {"output_size": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        roi_align(feature, rois, **kwargs)
    with pytest.raises(ValueError, match=message):
        roi_align_reference(feature, rois, **kwargs)


def test_legacy_mode_accepts_inverted_boxes_like_mmcv():
    # aligned=False clamps the size to 1 instead of failing
    # size -1 becomes 1: one sample at (2.5, 2.5); y reads the last row (2), so 20 + 2.5
    for op in (roi_align, roi_align_reference):
        out = op(linear_map(), torch.tensor([[0.0, 2, 2, 1, 1]]), 1, aligned=False)
        assert out.item() == pytest.approx(22.5)
