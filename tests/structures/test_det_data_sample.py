"""DetDataSample: typed fields, metainfo as attributes, dict form for metrics."""

from __future__ import annotations

import pytest
import torch

from segwright.structures import DetDataSample, InstanceData, PixelData


def test_typed_fields_set_get_delete():
    sample = DetDataSample(metainfo=dict(img_id=3, img_shape=(4, 6), scale_factor=(2.0, 2.0)))
    assert sample.img_id == 3 and sample.metainfo_keys() == ["img_id", "img_shape", "scale_factor"]
    for name in ("gt_instances", "pred_instances", "ignored_instances", "proposals"):
        assert name not in sample and not hasattr(sample, name)
        inst = InstanceData(bboxes=torch.zeros(2, 4))
        setattr(sample, name, inst)
        assert getattr(sample, name) is inst and name in sample
        with pytest.raises(TypeError, match=f"DetDataSample.{name} must be InstanceData"):
            setattr(sample, name, {"bboxes": torch.zeros(2, 4)})
        delattr(sample, name)
        assert name not in sample
        with pytest.raises(AttributeError):
            delattr(sample, name)
    sample.gt_sem_seg = PixelData(torch.zeros(1, 4, 6))
    with pytest.raises(TypeError):
        sample.pred_sem_seg = torch.zeros(1, 4, 6)
    assert sample.keys() == ["gt_sem_seg"]


def test_constructor_and_set_data_validate_too():
    with pytest.raises(TypeError):
        DetDataSample(gt_instances=torch.zeros(3))
    sample = DetDataSample(gt_instances=InstanceData(labels=torch.tensor([1])))
    with pytest.raises(TypeError):
        sample.set_data({"pred_instances": 1})
    with pytest.raises(AttributeError):
        sample.set_metainfo({"gt_instances": 1})


def test_to_dict_and_moves():
    sample = DetDataSample(metainfo=dict(img_id=7, ori_shape=(4, 6)))
    sample.pred_instances = InstanceData(
        bboxes=torch.ones(1, 4), scores=torch.tensor([0.5]), labels=torch.tensor([2])
    )
    sample.gt_sem_seg = PixelData(torch.zeros(1, 4, 6))
    d = sample.to_dict()
    assert d["img_id"] == 7 and d["ori_shape"] == (4, 6)
    assert d["pred_instances"]["labels"].tolist() == [2]
    assert set(d["gt_sem_seg"]) == {"data"}
    moved = sample.to(torch.float64)
    assert isinstance(moved, DetDataSample)
    assert moved.pred_instances.bboxes.dtype == torch.float64 and moved.img_id == 7
    assert moved.gt_sem_seg.data.dtype == torch.float64
    assert sample.cpu().numpy().pred_instances.labels.tolist() == [2]
