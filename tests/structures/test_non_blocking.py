"""Data samples' ``.to(device, non_blocking=True)`` reaches every tensor they hold.

A batch from pinned memory is copied asynchronously only if the flag gets to each tensor's
``.to``; a patched ``torch.Tensor.to`` records what each tensor was given.
"""

from __future__ import annotations

import pytest
import torch

from segwright.engine.model import cast_to_device
from segwright.structures import DetDataSample, InstanceData, PixelData, SegDataSample


@pytest.fixture
def tensor_to_calls(monkeypatch):
    calls: list[tuple[tuple, dict]] = []
    original = torch.Tensor.to

    def recording(self, *args, **kwargs):
        calls.append((args, kwargs))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", recording)
    return calls


def _seg_sample() -> SegDataSample:
    return SegDataSample(
        gt_sem_seg=PixelData(torch.tensor([[[0, 1], [1, 255]]])),
        seg_logits=PixelData(torch.randn(2, 2, 2)),
        metainfo=dict(img_shape=(2, 2)),
    )


def _det_sample() -> DetDataSample:
    gt = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 2.0, 3.0]]), labels=torch.tensor([1]))
    sample = DetDataSample(gt_instances=gt, metainfo=dict(img_id=7))
    sample.gt_sem_seg = PixelData(torch.zeros(1, 2, 2, dtype=torch.long))
    return sample


def test_pixel_data_passes_non_blocking_through(tensor_to_calls):
    data = PixelData(torch.arange(4.0).view(1, 2, 2))
    moved = data.to("cpu", non_blocking=True)
    assert tensor_to_calls == [(("cpu",), dict(non_blocking=True))]
    assert torch.equal(moved.data, data.data)


def test_seg_data_sample_passes_non_blocking_to_each_field(tensor_to_calls):
    sample = _seg_sample()
    moved = sample.to(torch.device("cpu"), non_blocking=True)
    assert [kwargs for _, kwargs in tensor_to_calls] == [dict(non_blocking=True)] * 2
    assert torch.equal(moved.gt_sem_seg.data, sample.gt_sem_seg.data)
    assert torch.equal(moved.seg_logits.data, sample.seg_logits.data)
    assert moved.pred_sem_seg is None and moved.metainfo == dict(img_shape=(2, 2))


def test_det_data_sample_passes_non_blocking_into_nested_instances(tensor_to_calls):
    sample = _det_sample()
    moved = sample.to("cpu", non_blocking=True)
    # bboxes, labels (inside gt_instances) and gt_sem_seg's tensor
    assert [kwargs for _, kwargs in tensor_to_calls] == [dict(non_blocking=True)] * 3
    assert torch.equal(moved.gt_instances.bboxes, sample.gt_instances.bboxes)
    assert torch.equal(moved.gt_instances.labels, sample.gt_instances.labels)
    assert torch.equal(moved.gt_sem_seg.data, sample.gt_sem_seg.data)
    assert moved.img_id == 7


def test_cast_to_device_hands_non_blocking_to_the_samples_of_a_batch(tensor_to_calls):
    batch = dict(inputs=[torch.ones(3, 2, 2)], data_samples=[_seg_sample(), _det_sample()])
    moved = cast_to_device(batch, "cpu", non_blocking=True)
    # the image, two SegDataSample fields, three DetDataSample tensors
    assert [kwargs for _, kwargs in tensor_to_calls] == [dict(non_blocking=True)] * 6
    assert torch.equal(moved["inputs"][0], batch["inputs"][0])
    tensor_to_calls.clear()
    cast_to_device(batch, "cpu")  # auto: synchronous to the CPU
    assert all(not kwargs.get("non_blocking") for _, kwargs in tensor_to_calls)
    assert len(tensor_to_calls) == 6


def test_a_pinning_dataloader_pins_the_samples_tensors_too(monkeypatch):
    """torch's pin step calls ``pin_memory()`` on objects that have it: labels get pinned too.

    Pinning needs a GPU, so ``Tensor.pin_memory`` is replaced by a recorder returning a copy.
    """
    from torch.utils.data._utils.pin_memory import pin_memory as torch_pin

    pinned: list[torch.Tensor] = []

    def fake_pin(self, *args, **kwargs):
        pinned.append(self)
        return self.clone()

    monkeypatch.setattr(torch.Tensor, "pin_memory", fake_pin)
    seg, det = _seg_sample(), _det_sample()
    batch = dict(inputs=[torch.ones(3, 2, 2)], data_samples=[seg, det])
    out = torch_pin(batch)
    assert len(pinned) == 1 + 2 + 3  # the image, SegDataSample's two fields, DetDataSample's 3
    out_seg, out_det = out["data_samples"]
    assert isinstance(out_seg, SegDataSample) and isinstance(out_det, DetDataSample)
    assert torch.equal(out_seg.gt_sem_seg.data, seg.gt_sem_seg.data)
    assert out_seg.gt_sem_seg.data is not seg.gt_sem_seg.data  # the pinned copy
    assert out_seg.metainfo == seg.metainfo and out_seg.pred_sem_seg is None
    assert torch.equal(out_det.gt_instances.bboxes, det.gt_instances.bboxes)
    assert out_det.img_id == 7
