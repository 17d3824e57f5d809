"""DetDataPreprocessor: MMDetection's normalise, pad-to-divisor and metainfo, masks padded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segwright.models.det_preprocessor import DetDataPreprocessor
from segwright.registry import MODELS
from segwright.structures import BitmapMasks, DetDataSample, InstanceData
from segwright.utils.errors import ConfigError


def _sample(h: int, w: int) -> DetDataSample:
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
    masks = np.zeros((1, h, w), dtype=np.uint8)
    masks[0, 0, 0] = 1
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[0.0, 0.0, 1.0, 1.0]]),
        labels=torch.tensor([0]),
        masks=BitmapMasks(masks, h, w),
    )
    return sample


def test_normalises_pads_to_divisor_and_records_shapes():
    pre = MODELS.build(
        dict(
            type="DetDataPreprocessor", mean=[1.0, 2.0, 3.0], std=[2.0, 2.0, 2.0],
            bgr_to_rgb=True, pad_size_divisor=8, pad_value=-1, pad_mask=True,
        )
    )  # fmt: skip
    a = torch.full((3, 5, 9), 7, dtype=torch.uint8)
    a[0] = 11  # the B channel of a BGR image; it becomes channel 2 after the swap
    b = torch.full((3, 10, 4), 5, dtype=torch.uint8)
    samples = [_sample(5, 9), _sample(10, 4)]
    out = pre(dict(inputs=[a, b], data_samples=samples), training=True)
    batch = out["inputs"]
    assert batch.shape == (2, 3, 16, 16) and batch.dtype == torch.float32
    # (x - mean) / std, channels swapped first: R=7 -> (7-1)/2, G=7 -> (7-2)/2, B=11 -> (11-3)/2.
    assert batch[0, :, 0, 0].tolist() == [3.0, 2.5, 4.0]
    assert batch[0, :, 5:, :].eq(-1).all() and batch[0, :, :, 9:].eq(-1).all()
    assert batch[1, :, :10, :4].tolist() == [[[2.0] * 4] * 10, [[1.5] * 4] * 10, [[1.0] * 4] * 10]
    # pad_shape: each image's own size rounded up; batch_input_shape: the batch's size.
    samples = out["data_samples"]  # moved to the device: new objects, as in MMEngine
    assert samples[0].metainfo["pad_shape"] == (8, 16)
    assert samples[1].metainfo["pad_shape"] == (16, 8)
    assert all(s.metainfo["batch_input_shape"] == (16, 16) for s in out["data_samples"])
    masks = out["data_samples"][0].gt_instances.masks
    assert (masks.height, masks.width) == (16, 16) and masks.to_ndarray().sum() == 1


def test_masks_are_not_padded_at_inference_and_config_is_checked():
    pre = DetDataPreprocessor(pad_size_divisor=4, pad_mask=True)
    samples = [_sample(5, 6)]
    out = pre(dict(inputs=[torch.zeros(3, 5, 6)], data_samples=samples), training=False)
    assert out["inputs"].shape == (1, 3, 8, 8)
    assert out["data_samples"][0].gt_instances.masks.height == 5
    with pytest.raises(ConfigError, match="mean and std"):
        DetDataPreprocessor(mean=[0, 0, 0])
    with pytest.raises(ConfigError, match="pad_size_divisor"):
        DetDataPreprocessor(pad_size_divisor=0)
