"""PolygonMasks: point geometry, crops, rasterisation and consistency with BitmapMasks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segwright.structures import BitmapMasks, PolygonMasks


def square(x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    return np.array([x1, y1, x2, y1, x2, y2, x1, y2], dtype=np.float64)


def masks() -> PolygonMasks:
    # Instance 0: a 2x2 square at (1, 1); instance 1: two squares (one instance, two parts).
    return PolygonMasks([[square(1, 1, 3, 3)], [square(0, 0, 1, 1), square(4, 2, 5, 4)]], 4, 6)


def test_indexing():
    m = masks()
    assert len(m) == 2 and repr(m) == "PolygonMasks(num_masks=2, height=4, width=6)"
    assert len(m[1].masks[0]) == 2
    assert m[np.array([False, True])].masks[0] is m.masks[1]
    assert [len(p) for p in m[torch.tensor([1, 0])].masks] == [2, 1]
    assert len(m[[]]) == 0 and len(m[:1]) == 1
    with pytest.raises(TypeError):
        PolygonMasks([square(0, 0, 1, 1)], 4, 6)  # needs a list per instance


def test_to_ndarray_rasterises_pixels_inside():
    bits = masks().to_ndarray()
    assert bits.shape == (2, 4, 6) and bits.dtype == np.bool_
    expected0 = np.zeros((4, 6), bool)
    expected0[1:3, 1:3] = True
    expected1 = np.zeros((4, 6), bool)
    expected1[0, 0] = True
    expected1[2:4, 4] = True
    assert np.array_equal(bits[0], expected0) and np.array_equal(bits[1], expected1)
    assert masks().areas.tolist() == [4.0, 3.0]
    assert isinstance(masks().to_bitmap(), BitmapMasks)
    assert masks().to_tensor(torch.uint8, "cpu").sum() == 7
    assert PolygonMasks([], 4, 6).to_ndarray().shape == (0, 4, 6)


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_flip_matches_the_flipped_bitmap(direction):
    m = masks()
    flipped = m.flip(direction)
    assert np.array_equal(flipped.to_ndarray(), m.to_bitmap().flip(direction).masks)
    assert flipped.flip(direction).masks[0][0].tolist() == m.masks[0][0].tolist()


def test_horizontal_flip_points():
    assert masks().flip().masks[0][0].tolist() == [5, 1, 3, 1, 3, 3, 5, 3]


def test_resize_rescale_pad_expand():
    m = masks()
    up = m.resize((8, 12))
    assert (up.height, up.width) == (8, 12)
    assert up.masks[0][0].tolist() == [2, 2, 6, 2, 6, 6, 2, 6]
    assert np.array_equal(up.to_ndarray(), m.to_bitmap().resize((8, 12)).masks)
    assert m.rescale(2.0).masks[0][0].tolist() == up.masks[0][0].tolist()
    padded = m.pad((5, 7))
    assert (padded.height, padded.width) == (5, 7) and padded.masks is m.masks
    expanded = m.expand(6, 9, 1, 2)
    assert np.array_equal(
        expanded.to_ndarray(), m.to_bitmap().expand(6, 9, 1, 2).masks.astype(bool)
    )


def test_crop_clips_polygons_to_the_box():
    m = masks()
    cropped = m.crop(np.array([2, 0, 6, 3]))
    assert (cropped.height, cropped.width) == (3, 4)
    # Square (1..3) cut at x=2 and y=3, moved to the box origin.
    pts = cropped.masks[0][0].reshape(-1, 2)
    assert sorted(map(tuple, pts.tolist())) == [(0, 1), (0, 3), (1, 1), (1, 3)]
    # Instance 1: the (0, 0) square is outside and dropped; the other is clipped to y < 3.
    assert len(cropped.masks[1]) == 1
    assert np.array_equal(cropped.to_ndarray(), m.to_bitmap().crop(np.array([2, 0, 6, 3])).masks)
    outside = m.crop(np.array([5, 0, 6, 1]))
    assert outside.masks[0][0].tolist() == [0, 0, 0, 0, 0, 0]  # MMDet's dummy polygon


def test_crop_and_resize_own_box_and_half_box():
    block = PolygonMasks([[square(2, 2, 6, 6)]], 8, 8)
    boxes = np.array([[2.0, 2, 6, 6], [0, 2, 4, 6]])
    out = block.crop_and_resize(boxes, (4, 4), np.array([0, 0]))
    assert isinstance(out, PolygonMasks) and (out.height, out.width) == (4, 4)
    bits = out.to_ndarray()
    assert bits[0].all()
    assert bits[1].tolist() == [[False, False, True, True]] * 4
    with pytest.raises(ValueError, match="binary"):
        block.crop_and_resize(boxes, (4, 4), np.array([0, 0]), binarize=False)
    assert len(PolygonMasks([], 8, 8).crop_and_resize(boxes, (4, 4), np.array([0, 0]))) == 0


def test_get_bboxes_and_cat():
    assert masks().get_bboxes().tolist() == [[1, 1, 3, 3], [0, 0, 5, 4]]
    both = PolygonMasks.cat([masks(), masks()[0]])
    assert len(both) == 3 and (both.height, both.width) == (4, 6)
    with pytest.raises(TypeError):
        PolygonMasks.cat([masks(), masks().to_bitmap()])
