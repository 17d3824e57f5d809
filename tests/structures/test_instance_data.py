"""InstanceData: one length for every field, indexing, concatenation, conversions."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

from segwright.structures import BitmapMasks, InstanceData, PolygonMasks


def make() -> InstanceData:
    masks = BitmapMasks(np.arange(3)[:, None, None] * np.ones((3, 2, 2), np.uint8), 2, 2)
    return InstanceData(
        metainfo=dict(img_shape=(2, 2)),
        bboxes=torch.arange(12.0).view(3, 4),
        labels=torch.tensor([0, 1, 2]),
        names=["a", "b", "c"],
        areas=np.array([1.0, 2.0, 3.0]),
        masks=masks,
    )


def test_fields_and_metainfo_are_separate():
    inst = make()
    assert inst.keys() == ["bboxes", "labels", "names", "areas", "masks"]
    assert inst.metainfo_keys() == ["img_shape"]
    assert inst.metainfo == {"img_shape": (2, 2)}
    assert inst.img_shape == (2, 2) and "img_shape" in inst and "labels" in inst
    assert [k for k, _ in inst.items()] == inst.keys() and len(inst.values()) == 5
    assert inst.get("missing") is None and inst.get("missing", 3) == 3
    assert len(inst) == 3
    with pytest.raises(AttributeError, match="metainfo"):
        inst.img_shape = torch.zeros(3)  # a metainfo key cannot become a data field
    with pytest.raises(AttributeError, match="method|attribute"):
        inst.keys = [1, 2, 3]


def test_setting_a_field_of_another_length_raises():
    inst = make()
    with pytest.raises(ValueError, match="length 2.*3 instances"):
        inst.scores = torch.ones(2)
    with pytest.raises(TypeError, match="must have a length"):
        inst.scores = 3.0
    empty = InstanceData(bboxes=torch.zeros(0, 4))
    with pytest.raises(ValueError):  # MMEngine lets this through while the length is 0
        empty.labels = torch.zeros(5)
    single = InstanceData(bboxes=torch.zeros(3, 4))
    single.bboxes = torch.zeros(5, 4)  # the only field may be replaced by another length
    assert len(single) == 5


def test_pop_delete_and_contains():
    inst = make()
    assert torch.equal(inst.pop("labels"), torch.tensor([0, 1, 2]))
    assert "labels" not in inst and inst.pop("labels", None) is None
    with pytest.raises(KeyError):
        inst.pop("labels")
    del inst.names
    del inst["areas"]
    assert inst.keys() == ["bboxes", "masks"]
    with pytest.raises(AttributeError):
        del inst.names


@pytest.mark.parametrize(
    "index, expected",
    [
        (1, [1]),
        (-1, [2]),
        (slice(0, 2), [0, 1]),
        (torch.tensor([True, False, True]), [0, 2]),
        (torch.tensor([2, 0]), [2, 0]),
        (np.array([2, 2]), [2, 2]),
        ([1], [1]),
        (torch.tensor([], dtype=torch.long), []),
    ],
)
def test_indexing_indexes_every_field(index, expected):
    out = make()[index]
    assert isinstance(out, InstanceData) and len(out) == len(expected)
    assert out.metainfo == {"img_shape": (2, 2)}
    assert out.labels.tolist() == expected
    assert out.bboxes[:, 0].tolist() == [4.0 * i for i in expected]
    assert out.names == ["abc"[i] for i in expected]
    assert out.areas.tolist() == [1.0 + i for i in expected]
    assert isinstance(out.masks, BitmapMasks)
    assert out.masks.masks[:, 0, 0].tolist() == expected


def test_indexing_errors_and_str():
    inst = make()
    assert torch.equal(inst["labels"], inst.labels)
    with pytest.raises(IndexError):
        inst[3]
    with pytest.raises(IndexError, match="bool mask"):
        inst[torch.tensor([True, False])]
    with pytest.raises(TypeError):
        inst[torch.tensor([0.5])]


def test_polygon_masks_index_like_other_fields():
    polys = [[np.array([0.0, 0, 1, 0, 1, 1])], [np.array([0.0, 0, 2, 0, 2, 2])]]
    inst = InstanceData(labels=torch.tensor([5, 6]), masks=PolygonMasks(polys, 4, 4))
    out = inst[torch.tensor([False, True])]
    assert out.labels.tolist() == [6] and out.masks.masks[0][0].tolist() == [0, 0, 2, 0, 2, 2]


def test_cat():
    a, b = make(), make()[torch.tensor([2])]
    out = InstanceData.cat([a, b])
    assert len(out) == 4 and out.labels.tolist() == [0, 1, 2, 2]
    assert out.names == ["a", "b", "c", "c"] and out.areas.shape == (4,)
    assert len(out.masks) == 4 and out.metainfo == a.metainfo
    assert InstanceData.cat([a]) is a
    with pytest.raises(ValueError, match="same metainfo keys"):
        InstanceData.cat([a, InstanceData(labels=torch.tensor([1]))])
    with pytest.raises(ValueError):
        InstanceData.cat([])


def test_conversions_and_copies():
    inst = make()
    inst.scores = torch.ones(3, requires_grad=True)
    assert inst.to("cpu", torch.float64).bboxes.dtype == torch.float64
    assert inst.cpu().bboxes.device.type == "cpu"
    assert not inst.detach().scores.requires_grad
    as_np = inst.numpy()
    assert isinstance(as_np.labels, np.ndarray) and isinstance(as_np.masks, BitmapMasks)
    assert isinstance(as_np.to_tensor().labels, torch.Tensor)
    new = inst.new(labels=torch.tensor([7]))
    assert new.keys() == ["labels"] and new.metainfo == inst.metainfo
    clone = inst.clone()
    assert clone.keys() == inst.keys() and clone.labels is inst.labels  # MMEngine: shallow data
    d = inst.to_dict()
    assert d["img_shape"] == (2, 2) and torch.equal(d["labels"], inst.labels)
    for copied in (copy.deepcopy(inst), pickle.loads(pickle.dumps(inst.detach()))):
        assert copied.keys() == inst.keys() and copied.labels.tolist() == [0, 1, 2]
    assert "DATA FIELDS" in repr(inst) and "img_shape: (2, 2)" in repr(inst)
