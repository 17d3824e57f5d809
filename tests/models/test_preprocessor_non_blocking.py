"""The preprocessors honour ``non_blocking``: it reaches each tensor's ``.to``; no number changes.

Default (None): asynchronous exactly when the model is on CUDA (``copies_non_blocking``), so on
the CPU the copies stay synchronous; an explicit True/False always wins.
"""

from __future__ import annotations

import pytest
import torch

from segwright.engine.model import BaseDataPreprocessor
from segwright.models.det_preprocessor import DetDataPreprocessor
from segwright.models.preprocessor import SegDataPreProcessor
from segwright.structures import DetDataSample, InstanceData, PixelData, SegDataSample


@pytest.fixture
def non_blocking_flags(monkeypatch):
    flags: list[bool | None] = []
    original = torch.Tensor.to

    def recording(self, *args, **kwargs):
        flags.append(kwargs.get("non_blocking"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", recording)
    return flags


def _seg_batch():
    images = [torch.arange(48, dtype=torch.uint8).view(3, 4, 4) + i for i in range(2)]
    labels = [torch.full((1, 4, 4), i, dtype=torch.long) for i in range(2)]
    return dict(inputs=images, data_samples=[SegDataSample(PixelData(t)) for t in labels])


def _labels(sample) -> torch.Tensor:
    if isinstance(sample, SegDataSample):
        return sample.gt_sem_seg.data
    return sample.gt_instances.bboxes


def _det_batch():
    gt = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 2.0, 2.0]]), labels=torch.tensor([0]))
    sample = DetDataSample(gt_instances=gt, metainfo=dict(img_shape=(4, 4)))
    return dict(inputs=[torch.arange(48, dtype=torch.uint8).view(3, 4, 4)], data_samples=[sample])


@pytest.mark.parametrize(
    "make, batch",
    [
        (
            lambda nb: SegDataPreProcessor(mean=[1.0] * 3, std=[2.0] * 3, non_blocking=nb),
            _seg_batch,
        ),
        (
            lambda nb: DetDataPreprocessor(mean=[1.0] * 3, std=[2.0] * 3, non_blocking=nb),
            _det_batch,
        ),
        (lambda nb: BaseDataPreprocessor(non_blocking=nb), _seg_batch),
    ],
    ids=["seg", "det", "base"],
)
def test_non_blocking_reaches_every_copy_and_changes_no_number(non_blocking_flags, make, batch):
    results = {}
    for flag in (None, False, True):
        non_blocking_flags.clear()
        out = make(flag)(batch(), True)
        copies = [f for f in non_blocking_flags if f is not None]
        assert copies, "no tensor was moved"
        # None on the CPU: synchronous, like an explicit False
        assert set(copies) == {bool(flag)}, (flag, non_blocking_flags)
        results[flag] = out
    for flag in (False, True):
        assert torch.equal(results[flag]["inputs"], results[None]["inputs"])
        for a, b in zip(results[flag]["data_samples"], results[None]["data_samples"], strict=True):
            assert torch.equal(_labels(a), _labels(b))


def test_the_default_is_automatic_and_an_explicit_value_is_kept():
    assert SegDataPreProcessor().non_blocking is None
    assert DetDataPreprocessor().non_blocking is None
    assert BaseDataPreprocessor().non_blocking is None
    assert SegDataPreProcessor(non_blocking=False).non_blocking is False
    assert DetDataPreprocessor(non_blocking=True).non_blocking is True
