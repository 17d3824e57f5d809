"""CocoDataset and the instance CityscapesDataset: parsing, classes, filters and bad input."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from coco_files import ANNOTATIONS, IMAGES, write_coco

from segwright.datasets import BaseSegDataset, CocoDataset
from segwright.datasets.cityscapes import CityscapesDataset as SemanticCityscapes
from segwright.datasets.cityscapes_instance import CityscapesInstanceDataset
from segwright.datasets.coco import COCO_CLASSES, COCO_PALETTE
from segwright.registry import DATASETS, default_scope
from segwright.utils.errors import ConfigError, DatasetError

THREE = dict(classes=("person", "car", "dog"))


@pytest.fixture
def coco_root(tmp_path):
    write_coco(tmp_path)
    return tmp_path


def make(root, cls=CocoDataset, **kwargs):
    kwargs.setdefault("data_prefix", dict(img="images/"))
    return cls(ann_file="ann.json", data_root=str(root), **kwargs)


def test_samples_follow_mmdetection_parse_rules(coco_root):
    ds = make(coco_root, metainfo=THREE)
    assert len(ds) == 3
    a = ds.get_data_info(0)
    assert a == dict(
        img_path=str(coco_root / "images" / "a.jpg"),
        img_id=11,
        seg_map_path=None,
        height=30,
        width=40,
        instances=[
            dict(ignore_flag=0, bbox=[2, 3, 12, 11], bbox_label=0, mask=ANNOTATIONS[0]["segmentation"]),
            dict(ignore_flag=0, bbox=[20.5, 5, 35.5, 25], bbox_label=1, mask=ANNOTATIONS[1]["segmentation"]),
            dict(ignore_flag=1, bbox=[0, 20, 6, 26], bbox_label=0, mask=ANNOTATIONS[2]["segmentation"]),
        ],
        sample_idx=0,
    )  # fmt: skip
    # b.jpg: tiny (4), outside (5), negative (6) and ignore (8) are skipped; the dog stays.
    b = ds.get_data_info(1)
    assert [(i["bbox"], i["bbox_label"]) for i in b["instances"]] == [([4, 10, 14, 30], 2)]
    assert ds.get_data_info(2)["instances"] == []
    assert ds.get_cat_ids(0) == [0, 1, 0]
    assert ds.cat_ids == [1, 3, 18] and ds.cat2label == {1: 0, 3: 1, 18: 2}
    assert ds.cat_img_map[1] == [11, 11, 12]


def test_default_metainfo_is_mmdetection_coco(coco_root):
    ds = make(coco_root)
    assert ds.metainfo["classes"] == COCO_CLASSES and len(COCO_CLASSES) == 80
    assert ds.metainfo["palette"] == COCO_PALETTE
    # Labels are positions in metainfo['classes'] (car is class 2, dog 16).
    assert ds.get_cat_ids(0) == [0, 2, 0]
    assert ds.get_cat_ids(1) == [16]


def test_classes_select_and_renumber_in_the_given_order(coco_root):
    ds = make(coco_root, metainfo=dict(classes=("dog", "person")))
    assert ds.get_cat_ids(0) == [1, 1]  # the car is dropped
    assert ds.get_cat_ids(1) == [0]
    assert ds.metainfo["palette"] == [COCO_PALETTE[16], COCO_PALETTE[0]]
    custom = make(coco_root, metainfo=dict(classes=("dog",), palette=[(1, 2, 3)]))
    assert custom.metainfo["palette"] == [(1, 2, 3)]


def test_classes_missing_from_the_json_warn_or_fail(coco_root, caplog):
    with caplog.at_level(logging.WARNING):
        ds = make(coco_root, metainfo=dict(classes=("dog", "zebra")))
    assert "1 of the 2 classes are not categories" in caplog.text and "zebra" in caplog.text
    assert ds.get_cat_ids(1) == [0]
    with pytest.raises(DatasetError, match="none of the classes"):
        make(coco_root, metainfo=dict(classes=("Person",)))


def test_data_prefix_img_and_seg(coco_root):
    ds = make(coco_root, metainfo=THREE, data_prefix=dict(img="images/", seg="stuff/"))
    assert ds.get_data_info(0)["seg_map_path"] == str(coco_root / "stuff" / "a.png")
    # MMEngine's img_path key works too.
    ds = make(coco_root, metainfo=THREE, data_prefix=dict(img_path="images/"))
    assert ds.get_data_info(1)["img_path"] == str(coco_root / "images" / "b.jpg")


def test_filter_empty_gt_and_min_size(coco_root):
    ids = lambda ds: [ds.get_data_info(i)["img_id"] for i in range(len(ds))]  # noqa: E731
    assert ids(make(coco_root, metainfo=THREE, filter_cfg=dict(filter_empty_gt=True))) == [11, 12]
    assert ids(make(coco_root, metainfo=THREE, filter_cfg=dict(min_size=25))) == [11, 13]
    assert ids(make(coco_root, metainfo=THREE, filter_cfg=dict(filter_empty_gt=False))) == [
        11,
        12,
        13,
    ]
    cfg = dict(filter_empty_gt=True, min_size=25)
    assert ids(make(coco_root, metainfo=THREE, filter_cfg=cfg, test_mode=True)) == [11, 12, 13]
    # MMDetection's test: any annotation of a selected class in the json, even a skipped one.
    only_car = make(
        coco_root, metainfo=dict(classes=("car",)), filter_cfg=dict(filter_empty_gt=True)
    )
    assert ids(only_car) == [11, 12]
    assert only_car.get_data_info(1)["instances"] == []


def test_cityscapes_filter_also_drops_images_without_usable_instances(coco_root):
    person = dict(classes=("person",))
    cfg = dict(filter_empty_gt=True)
    coco = make(coco_root, metainfo=person, filter_cfg=cfg)
    city = make(coco_root, CityscapesInstanceDataset, metainfo=person, filter_cfg=cfg)
    # b.jpg's only person is 'ignore': COCO keeps the image, Cityscapes drops it.
    assert len(coco) == 2 and len(city) == 1
    assert CityscapesInstanceDataset.METAINFO["classes"] == (
        "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
    )  # fmt: skip


def test_scoped_registration(coco_root):
    assert DATASETS.get("CocoDataset") is CocoDataset
    assert DATASETS.get("CityscapesDataset") is SemanticCityscapes
    assert issubclass(SemanticCityscapes, BaseSegDataset)
    assert DATASETS.get("mmdet.CityscapesDataset") is CityscapesInstanceDataset
    with default_scope("mmdet"):
        assert DATASETS.get("CityscapesDataset") is CityscapesInstanceDataset
        ds = DATASETS.build(
            dict(
                type="CocoDataset",
                data_root=str(coco_root),
                ann_file="ann.json",
                data_prefix=dict(img="images/"),
                filter_cfg=dict(filter_empty_gt=True, min_size=20),
                backend_args=None,
            )
        )
    assert isinstance(ds, CocoDataset)


def test_skips_are_reported_once_per_kind(coco_root, caplog):
    with caplog.at_level(logging.WARNING, logger="segwright.datasets.coco"):
        make(coco_root, metainfo=THREE)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert lines[0].endswith(
        "ann.json: skipped 1 annotation with boxes of zero or negative width or height (ids 6), "
        "as MMDetection does."
    )
    assert "skipped 1 annotation with boxes entirely outside the image (ids 5)" in lines[1]
    assert "skipped 1 annotation with boxes under 1 pixel wide or high" in lines[2]
    assert "(ids 4)" in lines[2]


def test_indices_serialisation_and_lazy_init(coco_root):
    plain = make(coco_root, metainfo=THREE, serialize_data=False)
    packed = make(coco_root, metainfo=THREE)
    assert [plain.get_data_info(i) for i in range(3)] == [packed.get_data_info(i) for i in range(3)]
    picked = make(coco_root, metainfo=THREE, indices=[2, 0])
    assert [picked.get_data_info(i)["img_id"] for i in range(2)] == [13, 11]
    assert len(make(coco_root, metainfo=THREE, indices=1)) == 1
    lazy = make(coco_root, metainfo=THREE, lazy_init=True)
    assert not lazy._fully_initialized
    assert len(lazy) == 3 and lazy._fully_initialized


def test_pipeline_and_refetch(coco_root):
    calls = []

    def skip_first(results):
        calls.append(results["img_id"])
        return None if len(calls) == 1 else results

    ds = make(coco_root, metainfo=THREE, pipeline=[skip_first])
    np.random.seed(0)
    out = ds[0]
    assert len(calls) == 2 and out["img_id"] == calls[1]
    with pytest.raises(DatasetError, match="test pipeline returned None"):
        make(coco_root, metainfo=THREE, pipeline=[lambda r: None], test_mode=True)[0]


def test_bad_polygons_are_logged(tmp_path, caplog):
    anns = [
        dict(id=1, image_id=11, category_id=1, bbox=[2, 3, 10, 8], area=80, iscrowd=0,
             segmentation=[[2, 3, 12, 3]]),
    ]  # fmt: skip
    write_coco(tmp_path, annotations=anns)
    with caplog.at_level(logging.WARNING, logger="segwright.datasets.coco"):
        ds = make(tmp_path, metainfo=THREE)
    assert "1 annotation has polygons of fewer than 3 points" in caplog.text
    assert ds.get_data_info(0)["instances"][0]["mask"] == [[2, 3, 12, 3]]


def _write(tmp_path, **data):
    base = dict(images=IMAGES, annotations=[], categories=[dict(id=1, name="person")])
    base.update(data)
    write_coco(tmp_path, annotations=[])
    (tmp_path / "ann.json").write_text(json.dumps(base))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (dict(annotations=[dict(id=7, image_id=11, category_id=1)]),
         r"ann\.json: annotation id 7 \(image 11, a\.jpg\): bbox is None"),
        (dict(annotations=[dict(id=7, image_id=11, category_id=1, bbox=[0, 0, 2])]),
         r"annotation id 7 \(image 11, a\.jpg\): bbox is \[0, 0, 2\]"),
        (dict(annotations=[dict(image_id=11, category_id=1, bbox=[0, 0, 2, 2])]),
         r"annotations\[0\] has no id"),
        (dict(annotations=[dict(id=3, image_id=11, category_id=1, bbox=[0, 0, 2, 2])] * 2),
         r"annotation ids in .*ann\.json are not unique: \[3\]"),
        (dict(images=[dict(id=1, file_name="a.jpg", width=4)]), r"images\[0\] \(id 1, file_name 'a.jpg'\) has no height"),
        (dict(images=IMAGES + IMAGES[:1]), r"image id 11 appears twice"),
        (dict(categories=[dict(id=1)]), r"categories\[0\] needs an 'id' and a 'name'"),
        (dict(annotations={}), r"'annotations' must be a list"),
    ],
)  # fmt: skip
def test_bad_annotations_name_the_file_and_annotation(tmp_path, data, message):
    _write(tmp_path, **data)
    with pytest.raises(DatasetError, match=message):
        make(tmp_path, metainfo=dict(classes=("person",)))


def test_bad_files(tmp_path):
    with pytest.raises(DatasetError, match=r"ann_file .*missing\.json' does not exist"):
        CocoDataset(ann_file="missing.json", data_root=str(tmp_path))
    write_coco(tmp_path)
    (tmp_path / "ann.json").write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(DatasetError, match=r"ann\.json is not valid JSON: .* at line 2, column"):
        make(tmp_path)
    (tmp_path / "ann.json").write_text("[1, 2]")
    with pytest.raises(DatasetError, match="holds a JSON list"):
        make(tmp_path)
    write_coco(tmp_path)
    with pytest.raises(DatasetError, match=r"data_prefix=dict\(img='<image folder>/'\)"):
        make(tmp_path, data_prefix=dict(img="train2017/"))


def test_unsupported_arguments_are_config_errors(coco_root):
    with pytest.raises(ConfigError, match="use backend_args"):
        make(coco_root, file_client_args=dict(backend="disk"))
    with pytest.raises(ConfigError, match="proposal_file"):
        make(coco_root, proposal_file="props.pkl")
    with pytest.raises(ConfigError, match="local files only"):
        make(coco_root, backend_args=dict(backend="petrel"))
    with pytest.raises(ConfigError, match="data_prefix.img must be"):
        make(coco_root, data_prefix=dict(img=3))


def test_return_classes(coco_root):
    info = make(coco_root, metainfo=THREE, return_classes=True).get_data_info(0)
    assert info["text"] == THREE["classes"] and info["custom_entities"] is True
