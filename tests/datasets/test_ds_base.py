"""BaseSegDataset: file lists, metainfo/label_map, serialisation, refetch, errors; wrappers."""

from __future__ import annotations

import numpy as np
import pytest

from segwright.datasets import BaseSegDataset, ConcatDataset, RepeatDataset
from segwright.datasets.cityscapes import CityscapesDataset
from segwright.registry import DATASETS
from segwright.utils.errors import ConfigError, DatasetError

LOAD = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations")]


def _ds(root, **kw):
    kw.setdefault("data_prefix", dict(img_path="img", seg_map_path="ann"))
    kw.setdefault("metainfo", dict(classes=("a", "b")))
    return BaseSegDataset(data_root=str(root), **kw)


def test_folder_scan_replaces_suffix_sorts_and_joins_data_root(tmp_path, make_pairs):
    make_pairs(tmp_path, "img/sub", "ann/sub", ["b", "a"], ".jpg", ".png")
    make_pairs(tmp_path, "img", "ann", ["c"], ".jpg", ".png")
    ds = _ds(tmp_path)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i["img_path"] for i in infos] == [
        str(tmp_path / "img" / "c.jpg"),
        str(tmp_path / "img" / "sub" / "a.jpg"),
        str(tmp_path / "img" / "sub" / "b.jpg"),
    ]
    assert infos[1]["seg_map_path"] == str(tmp_path / "ann" / "sub" / "a.png")
    assert infos[0]["reduce_zero_label"] is False and infos[0]["label_map"] is None
    assert infos[0]["seg_fields"] == [] and [i["sample_idx"] for i in infos] == [0, 1, 2]


def test_ann_file_lists_basenames(tmp_path, make_pairs):
    make_pairs(tmp_path, "img", "ann", ["x", "y", "z"], ".jpg", ".png")
    (tmp_path / "split.txt").write_text("z\n  x  \n\n")
    ds = _ds(tmp_path, ann_file="split.txt")
    assert [ds.get_data_info(i)["img_path"] for i in range(len(ds))] == [
        str(tmp_path / "img" / "z.jpg"),
        str(tmp_path / "img" / "x.jpg"),
    ]


def test_serialized_and_plain_lists_agree_and_indices_select(tmp_path, make_pairs):
    make_pairs(tmp_path, "img", "ann", ["a", "b", "c"], ".jpg", ".png")
    packed = _ds(tmp_path)
    plain = _ds(tmp_path, serialize_data=False)
    assert [packed.get_data_info(i) for i in range(3)] == [plain.get_data_info(i) for i in range(3)]
    assert len(_ds(tmp_path, indices=2)) == 2
    picked = _ds(tmp_path, indices=[2, 0])
    assert picked.get_data_info(0)["img_path"].endswith("c.jpg")
    # get_data_info returns fresh copies: editing one does not leak into the next call
    info = plain.get_data_info(0)
    info["seg_fields"].append("x")
    assert plain.get_data_info(0)["seg_fields"] == []


def test_lazy_init_defers_reading(tmp_path):
    ds = _ds(tmp_path / "missing", lazy_init=True)
    with pytest.raises(DatasetError, match="image folder"):
        ds.full_init()


def test_class_subset_builds_label_map_and_palette():
    ds = CityscapesDataset(
        data_root="unused", metainfo=dict(classes=("car", "road")), lazy_init=True
    )
    meta = ds.metainfo
    assert meta["classes"] == ("car", "road")
    assert meta["label_map"][0] == 1 and meta["label_map"][13] == 0
    assert all(meta["label_map"][i] == 255 for i in range(19) if i not in (0, 13))
    assert meta["palette"] == [[0, 0, 142], [128, 64, 128]]  # by new id: car, road
    assert meta["reduce_zero_label"] is False


def test_class_subset_remaps_loaded_labels(tmp_path, make_pairs):
    make_pairs(
        tmp_path,
        "img",
        "ann",
        ["a"],
        "_leftImg8bit.png",
        "_gtFine_labelTrainIds.png",
        values=(0, 13, 5, 255),
    )
    ds = CityscapesDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img_path="img", seg_map_path="ann"),
        metainfo=dict(classes=("car", "road")),
        pipeline=LOAD,
    )
    assert set(np.unique(ds[0]["gt_seg_map"]).tolist()) == {1, 0, 255}
    assert ds[0]["gt_seg_map"][0, :4].tolist() == [1, 0, 255, 255]


def test_unknown_subset_class_and_bad_palette_are_config_errors():
    with pytest.raises(ConfigError, match=r"'cars'.*Did you mean 'car'"):
        CityscapesDataset(metainfo=dict(classes=("cars",)), lazy_init=True)
    with pytest.raises(ConfigError, match="2 colours for 3 classes"):
        BaseSegDataset(
            metainfo=dict(classes=("a", "b", "c"), palette=[[1, 2, 3]] * 2), lazy_init=True
        )


def test_missing_palette_is_the_automatic_one_and_classes_file(tmp_path):
    from segwright.utils.palette import auto_palette

    (tmp_path / "classes.txt").write_text("sky\nground\n")
    ds = BaseSegDataset(metainfo=dict(classes=str(tmp_path / "classes.txt")), lazy_init=True)
    assert ds.metainfo["classes"] == ("sky", "ground")
    assert ds.metainfo["palette"] == auto_palette(2)  # not MMSeg's random, often-alike colours


def test_refetch_on_none_and_test_mode_error(tmp_path, make_pairs):
    make_pairs(tmp_path, "img", "ann", ["a", "b"], ".jpg", ".png")

    def skip_a(results):
        return None if results["img_path"].endswith("a.jpg") else results

    np.random.seed(0)
    ds = _ds(tmp_path, pipeline=[skip_a])
    assert ds[0]["img_path"].endswith("b.jpg")
    with pytest.raises(DatasetError, match="must not skip"):
        _ds(tmp_path, pipeline=[skip_a], test_mode=True)[0]
    with pytest.raises(DatasetError, match="returned None for 3 samples"):
        _ds(tmp_path, pipeline=[lambda r: None], max_refetch=2)[0]


def test_missing_folders_empty_dataset_and_missing_masks(tmp_path, make_pairs):
    with pytest.raises(DatasetError, match=r"image folder .*img.* does not exist"):
        _ds(tmp_path)
    make_pairs(tmp_path, "img", None, ["a"], ".png", ".png")
    with pytest.raises(DatasetError, match=r"no images ending with img_suffix='.jpg'.*1 '.png'"):
        _ds(tmp_path)
    with pytest.raises(DatasetError, match=r"label map folder .*ann.* does not exist"):
        _ds(tmp_path, img_suffix=".png", pipeline=LOAD)
    assert len(_ds(tmp_path, img_suffix=".png")) == 1  # no LoadAnnotations: masks not needed
    make_pairs(tmp_path, "img", "ann", ["b", "c", "d", "e"], ".png", "_mask.png")
    with pytest.raises(DatasetError) as err:
        _ds(tmp_path, img_suffix=".png", pipeline=LOAD)
    message = str(err.value)
    assert "5 of 5 images have no label map" in message
    assert "a.png ->" in message and "b.png ->" in message and "e.png" not in message
    assert "seg_map_suffix='_mask.png'" in message
    with pytest.raises(DatasetError, match="ann_file .*nope.txt.* does not exist"):
        _ds(tmp_path, img_suffix=".png", ann_file="nope.txt")


def test_test_mode_needs_classes():
    with pytest.raises(DatasetError, match="needs class names"):
        BaseSegDataset(test_mode=True, lazy_init=True)


def test_wrappers_repeat_and_concat(tmp_path, make_pairs):
    make_pairs(tmp_path, "img", "ann", ["a", "b"], ".jpg", ".png")
    cfg = dict(
        type="BaseSegDataset",
        data_root=str(tmp_path),
        data_prefix=dict(img_path="img", seg_map_path="ann"),
        metainfo=dict(classes=("a", "b")),
    )
    repeat = DATASETS.build(dict(type="RepeatDataset", dataset=cfg, times=3))
    assert len(repeat) == 6 and repeat[5]["img_path"].endswith("b.jpg")
    assert repeat.metainfo["classes"] == ("a", "b")
    concat = ConcatDataset([cfg, _ds(tmp_path, indices=1)])
    assert len(concat) == 3
    assert concat[2]["img_path"].endswith("a.jpg") and concat[-2]["img_path"].endswith("b.jpg")
    assert concat.get_data_info(2)["img_path"].endswith("a.jpg")
    with pytest.raises(IndexError):
        concat[3]
    other = _ds(tmp_path, metainfo=dict(classes=("x", "y")))
    with pytest.raises(DatasetError, match=r"datasets\[1\].*classes"):
        ConcatDataset([cfg, other])
    assert len(ConcatDataset([cfg, other], ignore_keys=["classes", "palette"])) == 4
    with pytest.raises(ConfigError, match="times must be a positive int"):
        RepeatDataset(cfg, times=0)
