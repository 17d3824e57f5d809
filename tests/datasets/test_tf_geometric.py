"""Geometric transforms: MMCV/MMSeg sizes, offsets and fill values."""

from __future__ import annotations

import numpy as np
import pytest

from segwright.datasets.transforms import (
    Pad,
    RandomChoiceResize,
    RandomCrop,
    RandomFlip,
    RandomResize,
    RandomRotate,
    RandomRotFlip,
    Resize,
    ResizeShortestEdge,
    ResizeToMultiple,
    SegRescale,
)
from segwright.utils.errors import ConfigError


def _results(h=10, w=20):
    img = np.arange(h * w * 3, dtype=np.int64).reshape(h, w, 3).astype(np.uint8)
    seg = (np.arange(h * w).reshape(h, w) % 7).astype(np.uint8)
    return dict(img=img, gt_seg_map=seg, seg_fields=["gt_seg_map"], img_shape=(h, w))


@pytest.mark.parametrize(
    "shape, expected, factor",
    [
        ((1024, 2048), (1024, 2048), 1.0),
        ((512, 1024), (1024, 2048), 2.0),
        ((1000, 1500), (1024, 1536), 1.024),
    ],
)
def test_resize_keep_ratio_uses_long_and_short_edge_bounds(shape, expected, factor):
    results = dict(
        img=np.zeros((*shape, 3), np.uint8),
        gt_seg_map=np.zeros(shape, np.uint8),
        seg_fields=["gt_seg_map"],
    )
    out = Resize(scale=(2048, 1024), keep_ratio=True)(results)
    assert out["img"].shape == (*expected, 3) and out["gt_seg_map"].shape == expected
    assert out["img_shape"] == expected and out["scale"] == (2048, 1024)
    assert out["scale_factor"] == pytest.approx((expected[1] / shape[1], expected[0] / shape[0]))
    assert out["scale_factor"][0] == pytest.approx(factor, abs=1e-3) and out["keep_ratio"]


def test_resize_exact_and_by_factor():
    out = Resize(scale=(7, 5))(_results())
    assert out["img"].shape == (5, 7, 3) and out["scale_factor"] == (7 / 20, 5 / 10)
    assert set(np.unique(out["gt_seg_map"])) <= set(range(7))  # nearest keeps label values
    half = Resize(scale_factor=0.5, keep_ratio=True)(_results())
    assert half["img"].shape == (5, 10, 3) and half["scale"] == (10, 5)
    with pytest.raises(ConfigError, match="scale=.*scale_factor"):
        Resize()


def test_random_resize_ratio_range_matches_mmcv_formula():
    np.random.seed(3)
    ratio = np.random.random_sample() * 1.5 + 0.5
    target = (int(40 * ratio), int(20 * ratio))
    factor = min(max(target) / 20, min(target) / 10)
    np.random.seed(3)
    out = RandomResize(scale=(40, 20), ratio_range=(0.5, 2.0), keep_ratio=True)(_results())
    assert out["scale"] == target
    assert out["img"].shape[:2] == (int(10 * factor + 0.5), int(20 * factor + 0.5))
    assert RandomResize(scale=[40, 20], ratio_range=[1.0, 1.0])(_results())["img"].shape == (
        20,
        40,
        3,
    )
    with pytest.raises(ConfigError, match="needs ratio_range"):
        RandomResize(scale=(40, 20))


def test_random_resize_between_two_scales_and_random_choice():
    np.random.seed(0)
    out = RandomResize(scale=[(10, 4), (20, 8)])(_results())
    assert 10 <= out["img"].shape[1] <= 20 and 4 <= out["img"].shape[0] <= 8
    np.random.seed(1)
    expected = np.random.randint(2)
    np.random.seed(1)
    choice = RandomChoiceResize(scales=[(8, 4), (12, 6)], keep_ratio=False)(_results())
    assert choice["scale_idx"] == expected
    assert choice["img"].shape[:2] == [(4, 8), (6, 12)][expected]


def test_resize_shortest_edge_and_to_multiple_and_seg_rescale():
    out = ResizeShortestEdge(scale=8, max_size=12)(_results())
    assert out["img"].shape[:2] == (6, 12)
    multiple = ResizeToMultiple(size_divisor=8)(_results())
    assert multiple["img"].shape[:2] == (16, 24) and multiple["gt_seg_map"].shape == (16, 24)
    assert multiple["pad_shape"] == (16, 24)
    assert SegRescale(scale_factor=0.5)(_results())["gt_seg_map"].shape == (5, 10)


def test_random_crop_offsets_and_small_images():
    np.random.seed(5)
    top, left = np.random.randint(0, 7), np.random.randint(0, 15)
    np.random.seed(5)
    results = _results()
    img, seg = results["img"].copy(), results["gt_seg_map"].copy()
    out = RandomCrop(crop_size=(4, 6))(results)
    assert np.array_equal(out["img"], img[top : top + 4, left : left + 6])
    assert np.array_equal(out["gt_seg_map"], seg[top : top + 4, left : left + 6])
    assert out["img_shape"] == (4, 6)
    small = RandomCrop(crop_size=32)(_results())
    assert small["img"].shape == (10, 20, 3)  # never larger than the image; Pad comes later


def _halves():
    seg = np.zeros((10, 20), np.uint8)
    seg[:, 10:] = 1
    return dict(img=np.zeros((10, 20, 3), np.uint8), gt_seg_map=seg, seg_fields=["gt_seg_map"])


def _max_share(seg, ignore=255):
    _, counts = np.unique(seg[seg != ignore], return_counts=True)
    return counts.max() / counts.sum() if len(counts) > 1 else 1.0


def test_random_crop_cat_max_ratio_retries_until_balanced():
    shares = []
    for seed in range(20):
        np.random.seed(seed)
        crop = RandomCrop(crop_size=(10, 12), cat_max_ratio=0.75)(_halves())["gt_seg_map"]
        assert _max_share(crop) < 0.75
        np.random.seed(seed)
        shares.append(_max_share(RandomCrop(crop_size=(10, 12))(_halves())["gt_seg_map"]))
    assert max(shares) >= 0.75  # without the ratio some crops are unbalanced


def test_random_crop_gives_up_after_ten_retries(monkeypatch):
    calls = []
    original = np.random.randint
    monkeypatch.setattr(np.random, "randint", lambda *a, **k: calls.append(a) or original(*a, **k))
    results = _halves()
    results["gt_seg_map"][:] = 3  # one class only: no crop is ever accepted
    RandomCrop(crop_size=(5, 5), cat_max_ratio=0.75)(results)
    assert len(calls) == 22  # the first box and 10 retries, 2 offsets each


def test_random_flip_flips_image_and_masks_together():
    results = _results()
    img, seg = results["img"].copy(), results["gt_seg_map"].copy()
    out = RandomFlip(prob=1.0)(results)
    assert out["flip"] is True and out["flip_direction"] == "horizontal"
    assert np.array_equal(out["img"], img[:, ::-1]) and np.array_equal(
        out["gt_seg_map"], seg[:, ::-1]
    )
    assert np.array_equal(RandomFlip(prob=1.0, direction="vertical")(_results())["img"], img[::-1])
    diag = RandomFlip(prob=1.0, direction="diagonal")(_results())
    assert np.array_equal(diag["gt_seg_map"], seg[::-1, ::-1])
    still = RandomFlip(prob=0.0)(_results())
    assert still["flip"] is False and still["flip_direction"] is None
    assert np.array_equal(still["img"], img)
    swapped = RandomFlip(prob=1.0, swap_seg_labels=[(1, 2)])(_results())["gt_seg_map"]
    expected = seg[:, ::-1].copy()
    expected[seg[:, ::-1] == 1], expected[seg[:, ::-1] == 2] = 2, 1
    assert np.array_equal(swapped, expected)
    with pytest.raises(ConfigError, match="direction='sideways'"):
        RandomFlip(prob=0.5, direction="sideways")


def test_random_flip_probability_splits_over_directions():
    flip = RandomFlip(prob=0.6, direction=["horizontal", "vertical"])
    assert flip._probs == pytest.approx([0.3, 0.3, 0.4])


def test_pad_size_divisor_and_fixed_size():
    out = Pad(size_divisor=8)(_results())
    assert out["img"].shape == (16, 24, 3) and out["pad_shape"] == (16, 24, 3)
    assert out["img_shape"] == (16, 24) and out["gt_seg_map"].shape == (16, 24)
    assert (out["img"][10:] == 0).all() and (out["img"][:, 20:] == 0).all()
    assert (out["gt_seg_map"][10:] == 255).all() and (out["gt_seg_map"][:, 20:] == 255).all()
    fixed = Pad(size=(32, 12), pad_val=dict(img=7, seg=9))(_results())  # size is (w, h)
    assert fixed["img"].shape == (12, 32, 3) and (fixed["img"][11] == 7).all()
    assert (fixed["gt_seg_map"][11] == 9).all()
    assert (Pad(size_divisor=4, pad_val=1, seg_pad_val=0)(_results())["gt_seg_map"][10:] == 0).all()
    with pytest.raises(ConfigError, match="exactly one of size"):
        Pad(size=(4, 4), size_divisor=2)


def test_random_rotate_turns_clockwise_and_pads_labels():
    seg = np.arange(36, dtype=np.uint8).reshape(6, 6)
    results = dict(img=np.stack([seg] * 3, -1), gt_seg_map=seg.copy(), seg_fields=["gt_seg_map"])
    out = RandomRotate(prob=1.0, degree=(90, 90))(results)
    assert np.array_equal(out["gt_seg_map"], np.rot90(seg, k=-1))
    assert np.array_equal(out["img"][..., 0], np.rot90(seg, k=-1))
    tilted = RandomRotate(prob=1.0, degree=(45, 45), seg_pad_val=255)(
        dict(
            img=np.zeros((6, 6, 3), np.uint8),
            gt_seg_map=np.ones((6, 6), np.uint8),
            seg_fields=["gt_seg_map"],
        )
    )
    assert tilted["gt_seg_map"][0, 0] == 255 and tilted["gt_seg_map"][3, 3] == 1
    grown = RandomRotate(prob=1.0, degree=(90, 90), auto_bound=True)(_results())
    assert grown["img"].shape == (20, 10, 3) and grown["gt_seg_map"].shape == (20, 10)
    assert RandomRotate(prob=0.0, degree=30)(_results())["img"].shape == (10, 20, 3)


def test_random_rot_flip_turns_then_flips():
    np.random.seed(2)
    np.random.random(), np.random.random()
    turns, axis = np.random.randint(0, 4), np.random.randint(0, 2)
    np.random.seed(2)
    results = _results()
    seg = results["gt_seg_map"].copy()
    out = RandomRotFlip(rotate_prob=0.0, flip_prob=1.0)(results)
    assert np.array_equal(out["gt_seg_map"], np.flip(np.rot90(seg, turns), axis=axis))


def test_random_choice_resize_with_short_edge_lengths():
    np.random.seed(4)
    index = np.random.randint(3)
    np.random.seed(4)
    out = RandomChoiceResize(scales=[4, 6, 8], resize_type="ResizeShortestEdge", max_size=100)(
        _results()
    )
    assert out["scale_idx"] == index and min(out["img"].shape[:2]) == [4, 6, 8][index]
