"""BitmapMasks: exact values of every geometric operation on tiny masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segwright.structures import BitmapMasks

# One 3x4 instance: a distinct pattern so each flip/crop is checkable by eye.
M = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.uint8)


def masks() -> BitmapMasks:
    return BitmapMasks(np.stack([M, np.zeros_like(M)]), 3, 4)


def test_construction_and_indexing():
    m = masks()
    assert len(m) == 2 and repr(m) == "BitmapMasks(num_masks=2, height=3, width=4)"
    assert BitmapMasks([M, M], 3, 4).masks.shape == (2, 3, 4)
    assert BitmapMasks([], 3, 4).masks.shape == (0, 3, 4)
    assert m[0].masks.shape == (1, 3, 4)
    assert np.array_equal(m[np.array([False, True])].masks, np.zeros((1, 3, 4)))
    assert np.array_equal(m[torch.tensor([1, 0])].masks[1], M)
    assert len(m[1:]) == 1 and len(m[[]]) == 0
    with pytest.raises(ValueError, match="do not match"):
        BitmapMasks(np.zeros((1, 3, 3)), 3, 4)
    with pytest.raises(TypeError):
        BitmapMasks(np.zeros((3, 4)), 3, 4)


def test_flip():
    m = masks()
    assert np.array_equal(m.flip().masks[0], M[:, ::-1])
    assert np.array_equal(m.flip("vertical").masks[0], M[::-1])
    assert np.array_equal(m.flip("diagonal").masks[0], M[::-1, ::-1])
    assert np.array_equal(m.flip().flip().masks, m.masks)
    with pytest.raises(ValueError):
        m.flip("sideways")


def test_resize_rescale_pad():
    m = masks()
    up = m.resize((6, 8))
    assert (up.height, up.width) == (6, 8)
    assert np.array_equal(up.masks[0], M.repeat(2, 0).repeat(2, 1))
    assert np.array_equal(m.rescale(2.0).masks, up.masks)
    assert m.rescale((8, 6)).masks.shape == (2, 6, 8)  # long edge <= 8, short edge <= 6
    assert m.resize((6, 8)).masks.dtype == np.uint8
    assert BitmapMasks(M[None].astype(bool), 3, 4).resize((6, 8)).masks.dtype == np.bool_
    padded = m.pad((4, 6), pad_val=7)
    assert padded.masks.shape == (2, 4, 6)
    assert np.array_equal(padded.masks[0, :3, :4], M)
    assert (padded.masks[:, 3, :] == 7).all() and (padded.masks[:, :, 4:] == 7).all()
    with pytest.raises(ValueError, match="only grows"):
        m.pad((2, 4))
    assert BitmapMasks([], 3, 4).resize((5, 5)).masks.shape == (0, 5, 5)


def test_crop_and_expand():
    m = masks()
    cropped = m.crop(np.array([1, 0, 3, 2]))
    assert (cropped.height, cropped.width) == (2, 2)
    assert np.array_equal(cropped.masks[0], M[0:2, 1:3])
    clipped = m.crop(np.array([2, 1, 10, 10]))  # clipped to the canvas
    assert np.array_equal(clipped.masks[0], M[1:, 2:])
    assert m.crop(np.array([1, 1, 1, 1])).masks.shape == (2, 1, 1)  # at least one pixel
    expanded = m.expand(5, 6, 1, 2)
    assert expanded.masks.shape == (2, 5, 6) and np.array_equal(expanded.masks[0, 1:4, 2:6], M)
    assert expanded.masks.sum() == M.sum()


def test_boxes_areas_tensor_cat():
    m = masks()
    assert m.get_bboxes().tolist() == [[0, 0, 4, 3], [0, 0, 0, 0]]
    block = np.zeros((1, 5, 6), np.uint8)
    block[0, 1:3, 2:5] = 1
    assert BitmapMasks(block, 5, 6).get_bboxes().tolist() == [[2, 1, 5, 3]]
    assert BitmapMasks([], 5, 6).get_bboxes().shape == (0, 4)
    assert m.areas.tolist() == [4, 0]
    t = m.to_tensor(torch.float32, "cpu")
    assert t.dtype == torch.float32 and torch.equal(t[0], torch.from_numpy(M).float())
    assert m.to_ndarray() is m.masks
    assert len(BitmapMasks.cat([m, m[0]])) == 3
    with pytest.raises(ValueError, match="canvas"):
        BitmapMasks.cat([m, m.pad((4, 4))])


def _block_masks() -> BitmapMasks:
    block = np.zeros((2, 8, 8), np.uint8)
    block[0, 2:6, 2:6] = 1  # a 4x4 block
    block[1, :, :4] = 1  # left half
    return BitmapMasks(block, 8, 8)


def test_crop_and_resize_own_box_is_all_ones_and_half_box_is_half():
    m = _block_masks()
    boxes = np.array([[2.0, 2, 6, 6], [0, 2, 4, 6]], dtype=np.float32)
    out = m.crop_and_resize(boxes, (4, 4), inds=np.array([0, 0]))
    assert (out.height, out.width) == (4, 4) and out.masks.dtype == np.bool_
    assert out.masks[0].all()
    assert out.masks[1].tolist() == [[False, False, True, True]] * 4
    # The second mask through a tensor box and index; the left half of its box is set.
    out = m.crop_and_resize(torch.tensor([[2.0, 0, 6, 8]]), (2, 4), torch.tensor([1]))
    assert out.masks[0].tolist() == [[True, True, False, False]] * 2


def test_crop_and_resize_soft_and_empty():
    m = _block_masks()
    box = np.array([[1.0, 2, 3, 6]], dtype=np.float32)  # half on the block
    soft = m.crop_and_resize(box, (1, 1), np.array([0]), binarize=False)
    assert soft.masks.dtype == np.float32 and soft.masks[0, 0, 0] == pytest.approx(0.5)
    assert len(m.crop_and_resize(np.zeros((0, 4), np.float32), (3, 3), np.zeros(0, int))) == 0
    empty = BitmapMasks([], 8, 8).crop_and_resize(np.ones((2, 4)), (3, 3), np.zeros(2, int))
    assert empty.masks.shape == (0, 3, 3)
