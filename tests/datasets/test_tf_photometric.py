"""Colour transforms match MMSeg's float formulas exactly; edges; the Albu wrapper."""

from __future__ import annotations

import sys
import types

import cv2
import numpy as np
import pytest

from segwright.datasets.transforms import (
    CLAHE,
    AdjustGamma,
    Albu,
    GenerateEdge,
    PhotoMetricDistortion,
    RGB2Gray,
)
from segwright.datasets.transforms.photometric import affine_lut
from segwright.utils.errors import ConfigError


def _convert(img, alpha=1.0, beta=0.0):
    return np.clip(img.astype(np.float32) * alpha + beta, 0, 255).astype(np.uint8)


def _reference_pmd(img):
    """MMSeg's PhotoMetricDistortion written out with float arithmetic (same draws)."""
    r = np.random
    if r.randint(2):
        img = _convert(img, beta=r.uniform(-32, 32))
    mode = r.randint(2)

    def contrast(img):
        return _convert(img, alpha=r.uniform(0.5, 1.5)) if r.randint(2) else img

    if mode == 1:
        img = contrast(img)
    if r.randint(2):
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        hsv[:, :, 1] = _convert(hsv[:, :, 1], alpha=r.uniform(0.5, 1.5))
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    if r.randint(2):
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        hsv[:, :, 0] = (hsv[:, :, 0].astype(int) + r.randint(-18, 18)) % 180
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    if mode == 0:
        img = contrast(img)
    return img


def test_photometric_distortion_equals_the_float_reference():
    img = np.random.default_rng(0).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    for seed in range(24):
        np.random.seed(seed)
        expected = _reference_pmd(img.copy())
        np.random.seed(seed)
        out = PhotoMetricDistortion()(dict(img=img.copy()))["img"]
        assert out.dtype == np.uint8 and np.array_equal(out, expected), seed


def test_lookup_table_equals_formula_for_every_value():
    values = np.arange(256, dtype=np.uint8)
    for alpha, beta in [(1.0, 31.7), (1.0, -12.3), (0.57, 0.0), (1.49, 0.0), (1.3, 5.5)]:
        assert np.array_equal(affine_lut(alpha, beta), _convert(values, alpha, beta))


def test_photometric_distortion_rejects_float_images():
    with pytest.raises(ConfigError, match="uint8 BGR"):
        PhotoMetricDistortion()(dict(img=np.zeros((2, 2, 3), np.float32)))


def test_clahe_gamma_and_gray():
    img = np.random.default_rng(1).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    clahe = cv2.createCLAHE(2.0, (4, 4))
    expected = np.stack([clahe.apply(np.ascontiguousarray(img[..., i])) for i in range(3)], -1)
    out = CLAHE(clip_limit=2.0, tile_grid_size=(4, 4))(dict(img=img.copy()))["img"]
    assert np.array_equal(out, expected)
    gamma = AdjustGamma(gamma=2.0)(dict(img=np.full((1, 1, 3), 64, np.uint8)))["img"]
    assert gamma[0, 0, 0] == int((64 / 255) ** 0.5 * 255)
    gray = RGB2Gray()(dict(img=np.full((2, 2, 3), [10, 20, 30], np.uint8)))
    assert gray["img"].shape == (2, 2, 3) and gray["img_shape"] == (2, 2, 3)
    assert gray["img"][0, 0, 0] == pytest.approx(0.299 * 10 + 0.587 * 20 + 0.114 * 30)
    assert RGB2Gray(out_channels=1)(dict(img=np.zeros((2, 2, 3))))["img"].shape == (2, 2, 1)


def _reference_edges(seg, width, ignore):
    h, w = seg.shape
    edge = np.zeros((h, w), np.uint8)

    def mark(i, j, k, m):
        if seg[i, j] != seg[k, m] and seg[i, j] != ignore and seg[k, m] != ignore:
            edge[i, j] = 1

    for i in range(h):
        for j in range(w):
            if i >= 1:
                mark(i, j, i - 1, j)  # down
            if j <= w - 2:
                mark(i, j, i, j + 1)  # left
            if i <= h - 2 and j <= w - 2:
                mark(i, j, i + 1, j + 1)  # up-left
            if i <= h - 2 and j >= 1:
                mark(i, j, i + 1, j - 1)  # up-right
    r = width // 2
    grown = np.zeros_like(edge)
    for i in range(h):
        for j in range(w):
            grown[i, j] = edge[max(0, i - r) : i + r + 1, max(0, j - r) : j + r + 1].max()
    return grown


def test_generate_edge_matches_neighbour_rule():
    seg = np.random.default_rng(2).choice([0, 1, 255], size=(7, 9), p=[0.6, 0.3, 0.1])
    seg = seg.astype(np.uint8)
    for width in (1, 3):
        out = GenerateEdge(edge_width=width)(dict(gt_seg_map=seg))
        assert np.array_equal(out["gt_edge_map"], _reference_edges(seg, width, 255))
        assert out["edge_width"] == width


def test_albu_without_albumentations_is_a_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "albumentations", None)
    with pytest.raises(ConfigError, match="pip install albumentations"):
        Albu(transforms=[dict(type="HorizontalFlip", p=1.0)])


def test_albu_maps_keys_through_an_albumentations_like_module(monkeypatch):
    fake = types.ModuleType("albumentations")

    class HorizontalFlip:
        def __init__(self, p):
            self.p = p

        def __call__(self, image, mask):
            return dict(image=image[:, ::-1], mask=mask[:, ::-1])

    class Compose:
        def __init__(self, transforms):
            self.transforms = transforms

        def __call__(self, **data):
            for t in self.transforms:
                data = t(**data)
            return data

    fake.HorizontalFlip, fake.Compose = HorizontalFlip, Compose
    monkeypatch.setitem(sys.modules, "albumentations", fake)
    img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    seg = np.array([[0, 1], [2, 3]], np.uint8)
    out = Albu(transforms=[dict(type="HorizontalFlip", p=1.0)], update_pad_shape=True)(
        dict(img=img, gt_seg_map=seg)
    )
    assert np.array_equal(out["gt_seg_map"], seg[:, ::-1]) and out["pad_shape"] == (2, 2, 3)
    with pytest.raises(ConfigError, match="no transform named 'Blurr'"):
        Albu(transforms=[dict(type="Blurr")])
