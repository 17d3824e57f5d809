"""MMDetection's LoadAnnotations, Resize, RandomFlip and PackDetInputs (mmdet scope)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from coco_files import write_coco

from segwright.datasets import CocoDataset
from segwright.datasets.transforms import (
    LoadAnnotations,
    LoadImageFromFile,
    PackSegInputs,
    RandomFlip,
    RandomResize,
    Resize,
)
from segwright.datasets.transforms.det_formatting import PackDetInputs
from segwright.datasets.transforms.det_geometric import DetRandomFlip, DetResize
from segwright.datasets.transforms.det_loading import LoadDetAnnotations
from segwright.registry import DATASETS, TRANSFORMS, default_scope
from segwright.structures import BitmapMasks, DetDataSample, PolygonMasks
from segwright.utils.errors import DatasetError

THREE = dict(classes=("person", "car", "dog"))


@pytest.fixture
def sample_a(tmp_path):
    """a.jpg (40x30) loaded: a person, a car (triangle) and a crowd of persons."""
    write_coco(tmp_path)
    ds = CocoDataset(
        ann_file="ann.json",
        data_root=str(tmp_path),
        data_prefix=dict(img="images/"),
        metainfo=THREE,
    )
    return LoadImageFromFile()(ds.get_data_info(0))


def square_mask(h, w, x1, y1, x2, y2):
    m = np.zeros((h, w), np.uint8)
    m[y1:y2, x1:x2] = 1
    return m


def test_load_annotations_boxes_labels_flags_masks(sample_a):
    r = LoadDetAnnotations(with_mask=True)(sample_a)
    assert r["gt_bboxes"].dtype == torch.float32
    assert r["gt_bboxes"].tolist() == [[2, 3, 12, 11], [20.5, 5, 35.5, 25], [0, 20, 6, 26]]
    assert r["gt_bboxes_labels"].dtype == np.int64 and r["gt_bboxes_labels"].tolist() == [0, 1, 0]
    assert r["gt_ignore_flags"].dtype == bool and r["gt_ignore_flags"].tolist() == [0, 0, 1]
    masks = r["gt_masks"]
    assert isinstance(masks, BitmapMasks) and masks.masks.dtype == np.uint8
    assert masks.masks.shape == (3, 30, 40)
    np.testing.assert_array_equal(masks.masks[0], square_mask(30, 40, 2, 3, 12, 11))
    np.testing.assert_array_equal(masks.masks[2], square_mask(30, 40, 0, 20, 6, 26))


def test_load_annotations_box_type_none_and_polygons(sample_a):
    r = LoadDetAnnotations(box_type=None, with_mask=True, poly2mask=False)(sample_a)
    assert isinstance(r["gt_bboxes"], np.ndarray) and r["gt_bboxes"].dtype == np.float32
    assert isinstance(r["gt_masks"], PolygonMasks)
    np.testing.assert_array_equal(r["gt_masks"].masks[1][0], [20.5, 5, 35.5, 5, 35.5, 25])
    empty = LoadDetAnnotations(with_mask=True)(dict(instances=[], ori_shape=(30, 40)))
    assert empty["gt_bboxes"].shape == (0, 4) and empty["gt_masks"].masks.shape == (0, 30, 40)


def test_unusable_masks_become_ignored_instances():
    inst = lambda mask: dict(bbox=[0, 0, 4, 4], bbox_label=0, ignore_flag=0, mask=mask)  # noqa: E731
    results = dict(
        ori_shape=(8, 8),
        instances=[
            inst([[0, 0, 4, 0]]),  # too few points
            inst([[0, 0, 4, 0, 4, 4, 1], [0, 0, 4, 0, 4, 4]]),  # one odd, one good polygon
            inst({"size": [8, 8]}),  # an RLE without counts
            dict(bbox=[0, 0, 4, 4], bbox_label=0, ignore_flag=0),  # no mask at all
        ],
    )
    r = LoadDetAnnotations(with_mask=True)(results)
    assert r["gt_ignore_flags"].tolist() == [True, False, True, True]
    assert r["gt_masks"].masks[[0, 2, 3]].sum() == 0 and r["gt_masks"].masks[1].sum() > 0
    polys = LoadDetAnnotations(with_mask=True, poly2mask=False)(
        dict(ori_shape=(8, 8), instances=[inst({"size": [8, 8], "counts": "abc"})])
    )
    assert polys["gt_ignore_flags"].tolist() == [True]


def test_rle_masks_with_and_without_pycocotools(monkeypatch):
    mask_utils = pytest.importorskip("pycocotools.mask")
    mask = square_mask(6, 5, 1, 2, 4, 5)
    compressed = mask_utils.encode(np.asfortranarray(mask))
    compressed["counts"] = compressed["counts"].decode("ascii")
    flat = mask.T.reshape(-1)
    change = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    uncompressed = dict(size=[6, 5], counts=runs)
    inst = lambda m: dict(bbox=[1, 2, 4, 5], bbox_label=0, ignore_flag=0, mask=m)  # noqa: E731
    results = dict(ori_shape=(6, 5), instances=[inst(compressed), inst(uncompressed)])
    r = LoadDetAnnotations(with_mask=True)(results)
    np.testing.assert_array_equal(r["gt_masks"].masks, np.stack([mask, mask]))
    wrong = dict(ori_shape=(7, 5), instances=[inst(compressed)], img_path="x.jpg")
    with pytest.raises(DatasetError, match="x.jpg: an RLE mask of size"):
        LoadDetAnnotations(with_mask=True)(wrong)
    monkeypatch.setitem(sys.modules, "pycocotools", None)
    monkeypatch.setitem(sys.modules, "pycocotools.mask", None)
    with pytest.raises(DatasetError, match=r"pip install 'segwright\[det\]'"):
        LoadDetAnnotations(with_mask=True)(dict(ori_shape=(6, 5), instances=[inst(compressed)]))


def test_resize_keep_ratio_scales_and_rescales(sample_a):
    r = LoadDetAnnotations(with_mask=True)(sample_a)
    r = DetResize(scale=(1333, 800), keep_ratio=True)(r)
    # factor min(1333 / 40, 800 / 30) = 26.667: (40, 30) -> (int(1066.67 + .5), 800)
    assert r["img"].shape[:2] == (800, 1067) and r["img_shape"] == (800, 1067)
    assert r["scale"] == (1333, 800) and r["keep_ratio"] is True
    assert r["scale_factor"] == (1067 / 40, 800 / 30)
    factor = np.array([1067 / 40, 800 / 30] * 2, dtype=np.float32)
    boxes = np.array([[2, 3, 12, 11], [20.5, 5, 35.5, 25], [0, 20, 6, 26]], np.float32)
    np.testing.assert_array_equal(r["gt_bboxes"].numpy(), boxes * factor)
    assert (r["gt_masks"].height, r["gt_masks"].width) == (800, 1067)
    assert r["gt_masks"].masks[0].sum() == pytest.approx(80 * 1067 / 40 * 800 / 30, rel=0.05)
    np.testing.assert_allclose(
        r["homography_matrix"], np.diag([1067 / 40, 800 / 30, 1]).astype(np.float32)
    )


def test_resize_clips_boxes_and_keeps_their_type():
    def results(boxes):
        return dict(img=np.zeros((30, 40, 3), np.uint8), gt_bboxes=boxes)

    r = DetResize(scale=(80, 60))(results(torch.tensor([[30.0, 0.0, 50.0, 10.0]])))
    assert r["scale_factor"] == (2.0, 2.0) and r["img_shape"] == (60, 80)
    assert r["gt_bboxes"].tolist() == [[60, 0, 80, 20]]
    r = DetResize(scale=(80, 60), clip_object_border=False)(
        results(np.array([[30, 0, 50, 10]], np.float32))
    )
    assert isinstance(r["gt_bboxes"], np.ndarray) and r["gt_bboxes"].dtype == np.float32
    assert r["gt_bboxes"].tolist() == [[60, 0, 100, 20]]
    masks = BitmapMasks(square_mask(30, 40, 0, 0, 20, 10)[None], 30, 40)
    r = DetResize(scale_factor=0.5)(dict(img=np.zeros((30, 40, 3), np.uint8), gt_masks=masks))
    assert r["img_shape"] == (15, 20) and r["gt_masks"].masks[0].sum() == 50


def test_random_flip_boxes_masks_and_seg(sample_a):
    r = LoadDetAnnotations(with_mask=True)(sample_a)
    masks = r["gt_masks"].masks.copy()
    r["gt_seg_map"] = np.arange(30 * 40, dtype=np.int32).reshape(30, 40)
    img = r["img"].copy()
    r = DetRandomFlip(prob=1.0)(r)
    assert r["flip"] is True and r["flip_direction"] == "horizontal"
    # x1' = w - x2, x2' = w - x1 with w = 40
    assert r["gt_bboxes"].tolist() == [[28, 3, 38, 11], [4.5, 5, 19.5, 25], [34, 20, 40, 26]]
    np.testing.assert_array_equal(r["gt_masks"].masks, masks[:, :, ::-1])
    np.testing.assert_array_equal(r["img"], img[:, ::-1])
    assert r["gt_seg_map"][0, 0] == 39
    np.testing.assert_allclose(r["homography_matrix"], [[-1, 0, 40], [0, 1, 0], [0, 0, 1]])
    r = DetRandomFlip(prob=1.0, direction="vertical")(r)
    assert r["gt_bboxes"].tolist()[0] == [28, 19, 38, 27]  # y1' = h - y2 with h = 30
    unflipped = DetRandomFlip(prob=0.0)(dict(img=img, gt_bboxes=torch.ones(1, 4)))
    assert unflipped["flip"] is False and unflipped["flip_direction"] is None
    assert unflipped["gt_bboxes"].tolist() == [[1, 1, 1, 1]]


def test_pack_det_inputs_splits_ignored_instances(sample_a):
    r = LoadDetAnnotations(with_mask=True)(sample_a)
    packed = PackDetInputs()(r)
    assert packed["inputs"].shape == (3, 30, 40) and packed["inputs"].dtype == torch.uint8
    sample = packed["data_samples"]
    assert isinstance(sample, DetDataSample)
    gt, ignored = sample.gt_instances, sample.ignored_instances
    assert gt.bboxes.tolist() == [[2, 3, 12, 11], [20.5, 5, 35.5, 25]]
    assert gt.bboxes.dtype == torch.float32 and gt.labels.dtype == torch.int64
    assert gt.labels.tolist() == [0, 1] and len(gt.masks) == 2
    assert ignored.bboxes.tolist() == [[0, 20, 6, 26]] and ignored.labels.tolist() == [0]
    assert isinstance(ignored.masks, BitmapMasks) and len(ignored.masks) == 1
    # Only the meta keys present are kept.
    assert set(sample.metainfo) == {"img_id", "img_path", "ori_shape", "img_shape"}
    assert sample.img_id == 11


def test_pack_det_inputs_without_flags_and_with_seg():
    results = dict(
        img=np.zeros((4, 5), np.uint8),
        gt_bboxes=np.zeros((2, 4), np.float32),
        gt_bboxes_labels=np.array([3, 1]),
        gt_seg_map=np.ones((4, 5), np.uint8),
        scale_factor=(1.0, 1.0),
    )
    packed = PackDetInputs(meta_keys=("scale_factor",))(results)
    sample = packed["data_samples"]
    assert packed["inputs"].shape == (1, 4, 5)
    assert sample.gt_instances.labels.tolist() == [3, 1] and len(sample.ignored_instances) == 0
    assert sample.gt_sem_seg.data.shape == (1, 4, 5)
    assert sample.metainfo == {"scale_factor": (1.0, 1.0)}


def test_scoped_transform_names():
    assert TRANSFORMS.get("Resize") is Resize
    assert TRANSFORMS.get("LoadAnnotations") is LoadAnnotations
    assert TRANSFORMS.get("RandomFlip") is RandomFlip
    assert TRANSFORMS.get("mmdet.Resize") is DetResize
    assert TRANSFORMS.get("PackDetInputs") is PackDetInputs
    with default_scope("mmdet"):
        assert TRANSFORMS.get("Resize") is DetResize
        assert TRANSFORMS.get("LoadAnnotations") is LoadDetAnnotations
        assert TRANSFORMS.get("RandomFlip") is DetRandomFlip
        assert TRANSFORMS.get("mmseg.Resize") is Resize
        assert TRANSFORMS.get("PackSegInputs") is PackSegInputs
        # RandomResize is shared (MMCV's) and resizes with the scope's Resize.
        random_resize = TRANSFORMS.build(
            dict(type="RandomResize", scale=[(2048, 800), (2048, 1024)], keep_ratio=True)
        )
    assert isinstance(random_resize, RandomResize) and isinstance(random_resize.resize, DetResize)
    np.random.seed(0)
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    r = random_resize(dict(img=np.zeros((100, 200, 3), np.uint8), gt_bboxes=boxes))
    w_scale, h_scale = r["scale_factor"]
    assert r["gt_bboxes"][0].tolist() == pytest.approx([0, 0, 10 * w_scale, 10 * h_scale])


def test_mmdet_coco_instance_pipeline_end_to_end(tmp_path):
    write_coco(tmp_path)
    with default_scope("mmdet"):
        dataset = DATASETS.build(
            dict(
                type="CocoDataset",
                data_root=str(tmp_path),
                ann_file="ann.json",
                metainfo=THREE,
                data_prefix=dict(img="images/"),
                filter_cfg=dict(filter_empty_gt=True, min_size=8),
                pipeline=[
                    dict(type="LoadImageFromFile", backend_args=None),
                    dict(type="LoadAnnotations", with_bbox=True, with_mask=True),
                    dict(type="Resize", scale=(1333, 800), keep_ratio=True),
                    dict(type="RandomFlip", prob=0.5),
                    dict(type="PackDetInputs"),
                ],
            )
        )
    np.random.seed(1)
    out = dataset[1]
    sample = out["data_samples"]
    # b.jpg is 20x50: factor min(1333 / 50, 800 / 20) -> (int(533.2 + .5), int(1333 + .5))
    assert out["inputs"].shape == (3, 1333, 533)
    assert sample.img_shape == (1333, 533) and sample.ori_shape == (50, 20)
    assert sample.scale_factor == (533 / 20, 1333 / 50)
    factor = np.array([533 / 20, 1333 / 50] * 2, dtype=np.float32)
    box = (np.array([4, 10, 14, 30], np.float32) * factor).tolist()
    if sample.flip:
        box = [533 - box[2], box[1], 533 - box[0], box[3]]
    assert sample.gt_instances.bboxes.tolist() == [pytest.approx(box)]
    assert sample.gt_instances.masks.masks.shape == (1, 1333, 533)
