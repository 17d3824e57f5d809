"""Polygon rasterisation and clipping helpers."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from segwright.structures.masks.polygon_ops import clip_polygon, polygon_area, polygons_to_bitmap


def test_pixel_centre_rule_and_union():
    # Two overlapping squares: the overlap stays set (union, not even-odd across polygons).
    a = [0.0, 0, 3, 0, 3, 3, 0, 3]
    b = [1.0, 1, 4, 1, 4, 4, 1, 4]
    bits = polygons_to_bitmap([np.array(a), np.array(b)], 5, 5)
    assert bits.sum() == 9 + 9 - 4 and bits[1:3, 1:3].all()
    # A square from 0.6 to 2.4 holds the pixel centre (1.5, 1.5) only.
    bits = polygons_to_bitmap([np.array([0.6, 0.6, 2.4, 0.6, 2.4, 2.4, 0.6, 2.4])], 3, 3)
    assert bits.tolist() == [[False] * 3, [False, True, False], [False] * 3]


def test_concave_and_out_of_canvas():
    # An L shape, partly outside the canvas.
    ell = np.array([-1.0, -1, 2, -1, 2, 1, 1, 1, 1, 3, -1, 3])
    bits = polygons_to_bitmap([ell], 3, 3)
    assert bits.astype(int).tolist() == [[1, 1, 0], [1, 0, 0], [1, 0, 0]]
    assert polygon_area(ell) == 3 * 2 + 2 * 2  # a 3x2 bar and a 2x2 foot
    assert not polygons_to_bitmap([np.array([0.0, 0, 1, 1])], 3, 3).any()  # two points


def test_clip_polygon():
    tri = np.array([0.0, 0, 4, 0, 0, 4])
    clipped = clip_polygon(tri, (1, 0, 5, 5))
    assert sorted(map(tuple, clipped.tolist())) == [(1, 0), (1, 3), (4, 0)]
    assert clip_polygon(tri, (4, 4, 5, 5)) is None


@pytest.mark.skipif(importlib.util.find_spec("pycocotools") is None, reason="needs pycocotools")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools vs NumPy 2
def test_close_to_pycocotools_on_random_polygons():
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(0)
    diff = area = 0
    for _ in range(50):
        h, w = (int(v) for v in rng.integers(8, 40, 2))
        k = int(rng.integers(3, 10))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = rng.uniform(1, max(h, w) / 2, k)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        poly = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).reshape(-1)
        ref = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], h, w)))
        diff += (polygons_to_bitmap([poly], h, w) != ref.astype(bool)).sum()
        area += ref.sum()
    assert diff / area < 0.03
