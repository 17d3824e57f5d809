"""PackSegInputs, and a Cityscapes-style dataset feeding the engine's collate and DataLoader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segwright.datasets.transforms import PackSegInputs
from segwright.engine.data import build_dataloader, pseudo_collate
from segwright.registry import DATASETS
from segwright.structures import SegDataSample


def test_pack_produces_chw_inputs_long_labels_and_present_meta_keys():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    results = dict(
        img=img[:, ::-1],  # not contiguous, as after a flip view
        gt_seg_map=np.array([[0, 1, 2], [255, 1, 0]], np.uint8),
        img_path="a.png",
        seg_map_path="a_seg.png",
        ori_shape=(4, 6),
        img_shape=(2, 3),
        scale_factor=(0.5, 0.5),
        flip=True,
        flip_direction="horizontal",
        reduce_zero_label=False,
        sample_idx=7,
    )
    packed = PackSegInputs()(results)
    assert set(packed) == {"inputs", "data_samples"}
    inputs = packed["inputs"]
    assert inputs.shape == (3, 2, 3) and inputs.dtype == torch.uint8 and inputs.is_contiguous()
    assert torch.equal(inputs, torch.from_numpy(img[:, ::-1].copy()).permute(2, 0, 1))
    sample = packed["data_samples"]
    assert isinstance(sample, SegDataSample)
    assert sample.gt_sem_seg.data.dtype == torch.int64 and sample.gt_sem_seg.data.shape == (1, 2, 3)
    assert set(sample.metainfo) == {
        "img_path",
        "seg_map_path",
        "ori_shape",
        "img_shape",
        "scale_factor",
        "flip",
        "flip_direction",
        "reduce_zero_label",
    }  # pad_shape is absent until something pads
    assert sample.img_shape == (2, 3)


def test_pack_grayscale_edge_map_and_custom_meta_keys():
    packed = PackSegInputs(meta_keys=("img_path", "sample_idx"))(
        dict(
            img=np.zeros((2, 3), np.uint8),
            gt_edge_map=np.ones((2, 3), np.uint8),
            img_path="g.png",
            sample_idx=1,
        )
    )
    assert packed["inputs"].shape == (1, 2, 3)
    assert packed["data_samples"].gt_edge_map.data.shape == (1, 2, 3)
    assert packed["data_samples"].gt_sem_seg is None
    assert packed["data_samples"].metainfo == {"img_path": "g.png", "sample_idx": 1}


CITYSCAPES_TRAIN = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="RandomResize", scale=(128, 64), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type="RandomCrop", crop_size=(32, 64), cat_max_ratio=0.75),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PhotoMetricDistortion"),
    dict(type="PackSegInputs"),
]


@pytest.fixture
def cityscapes_cfg(tmp_path, make_pairs):
    stems = [f"aachen/aachen_00000{i}_000019" for i in range(3)]
    make_pairs(
        tmp_path,
        "leftImg8bit/train",
        "gtFine/train",
        stems,
        "_leftImg8bit.png",
        "_gtFine_labelTrainIds.png",
        values=(0, 1, 2, 13, 255),
        size=(64, 128),
    )
    return dict(
        type="CityscapesDataset",
        data_root=str(tmp_path),
        data_prefix=dict(img_path="leftImg8bit/train", seg_map_path="gtFine/train"),
        pipeline=CITYSCAPES_TRAIN,
    )


def test_cityscapes_pipeline_sample_is_accepted_by_pseudo_collate(cityscapes_cfg):
    np.random.seed(0)
    ds = DATASETS.build(cityscapes_cfg)
    batch = pseudo_collate([ds[0], ds[1]])
    assert len(batch["inputs"]) == 2 and len(batch["data_samples"]) == 2
    for inputs, sample in zip(batch["inputs"], batch["data_samples"]):
        assert inputs.dtype == torch.uint8 and inputs.shape[0] == 3
        assert inputs.shape[1] <= 32 and inputs.shape[2] <= 64
        assert sample.gt_sem_seg.data.shape == (1, *inputs.shape[1:])
        assert set(sample.gt_sem_seg.data.unique().tolist()) <= {0, 1, 2, 13, 255}
        assert sample.ori_shape == (64, 128) and sample.reduce_zero_label is False
        assert {"img_path", "seg_map_path", "scale_factor", "flip"} <= set(sample.metainfo)


def test_cityscapes_dataset_through_build_dataloader(cityscapes_cfg):
    loader = build_dataloader(
        dict(
            batch_size=2,
            num_workers=0,
            dataset=cityscapes_cfg,
            sampler=dict(type="DefaultSampler", shuffle=False),
        ),
        seed=0,
    )
    batch = next(iter(loader))
    assert len(batch["inputs"]) == 2
    assert isinstance(batch["data_samples"][0], SegDataSample)
