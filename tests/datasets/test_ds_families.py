"""Every dataset family on a tiny fake tree in its real folder layout."""

from __future__ import annotations

import numpy as np
import pytest
from ds_files import tiny_label, write_png
from PIL import Image

from segwright.registry import DATASETS
from segwright.utils.errors import ConfigError

LOAD = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations")]

# type, img dir, seg dir, stem, img suffix, seg suffix, raw values, classes, labels after loading
FAMILIES = [
    (
        "CityscapesDataset",
        "leftImg8bit/train",
        "gtFine/train",
        "aachen/aachen_000000_000019",
        "_leftImg8bit.png",
        "_gtFine_labelTrainIds.png",
        (0, 18, 255),
        19,
        (0, 18, 255),
    ),
    (
        "ADE20KDataset",
        "images/training",
        "annotations/training",
        "ADE_train_00000001",
        ".jpg",
        ".png",
        (0, 1, 150),
        150,
        (255, 0, 149),
    ),
    (
        "COCOStuffDataset",
        "images/train2017",
        "annotations/train2017",
        "000000000009",
        ".jpg",
        "_labelTrainIds.png",
        (0, 170, 255),
        171,
        (0, 170, 255),
    ),
    (
        "DRIVEDataset",
        "images/training",
        "annotations/training",
        "21",
        ".png",
        "_manual1.png",
        (0, 1),
        2,
        (0, 1),
    ),
    (
        "STAREDataset",
        "images/training",
        "annotations/training",
        "im0001",
        ".png",
        ".ah.png",
        (0, 1),
        2,
        (0, 1),
    ),
    (
        "ChaseDB1Dataset",
        "images/training",
        "annotations/training",
        "Image_01L",
        ".png",
        "_1stHO.png",
        (0, 1),
        2,
        (0, 1),
    ),
    (
        "HRFDataset",
        "images/training",
        "annotations/training",
        "01_dr",
        ".png",
        ".png",
        (0, 1),
        2,
        (0, 1),
    ),
    (
        "LoveDADataset",
        "img_dir/train",
        "ann_dir/train",
        "0",
        ".png",
        ".png",
        (0, 1, 7),
        7,
        (255, 0, 6),
    ),
    (
        "PotsdamDataset",
        "img_dir/train",
        "ann_dir/train",
        "2_10_0_0_512_512",
        ".png",
        ".png",
        (0, 1, 6),
        6,
        (255, 0, 5),
    ),
    (
        "ISPRSDataset",
        "img_dir/train",
        "ann_dir/train",
        "area1_0_0_512_512",
        ".png",
        ".png",
        (0, 1, 6),
        6,
        (255, 0, 5),
    ),
]


@pytest.mark.parametrize(
    "kind, img_dir, seg_dir, stem, img_suffix, seg_suffix, raw, num_classes, labels", FAMILIES
)
def test_family_reads_its_layout(
    tmp_path,
    make_pairs,
    kind,
    img_dir,
    seg_dir,
    stem,
    img_suffix,
    seg_suffix,
    raw,
    num_classes,
    labels,
):
    make_pairs(tmp_path, img_dir, seg_dir, [stem], img_suffix, seg_suffix, values=raw)
    ds = DATASETS.build(
        dict(
            type=kind,
            data_root=str(tmp_path),
            data_prefix=dict(img_path=img_dir, seg_map_path=seg_dir),
            pipeline=LOAD,
        )
    )
    meta = ds.metainfo
    assert len(ds) == 1
    assert len(meta["classes"]) == len(meta["palette"]) == num_classes
    assert meta["reduce_zero_label"] == (labels[0] == 255 and raw[0] == 0)
    sample = ds[0]
    assert sample["img_path"] == str(tmp_path / img_dir / f"{stem}{img_suffix}")
    assert sample["seg_map_path"] == str(tmp_path / seg_dir / f"{stem}{seg_suffix}")
    assert sample["gt_seg_map"][0, : len(labels)].tolist() == list(labels)


def test_reference_class_names():
    ade = DATASETS.get("ADE20KDataset").METAINFO["classes"]
    assert ade[:8] == ("wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed ")
    assert ade[-2:] == ("clock", "flag")
    city = DATASETS.get("CityscapesDataset").METAINFO
    assert city["classes"][0] == "road" and city["palette"][0] == [128, 64, 128]
    assert city["classes"][-1] == "bicycle" and city["palette"][-1] == [119, 11, 32]
    voc = DATASETS.get("PascalVOCDataset").METAINFO["classes"]
    assert voc[0] == "background" and voc[-1] == "tvmonitor" and len(voc) == 21
    coco = DATASETS.get("COCOStuffDataset").METAINFO["classes"]
    assert coco[0] == "person" and coco[-1] == "wood"


def _voc_tree(root, year, seg_dir, split_dir, stems, values=(0, 15, 255)):
    base = root / "VOCdevkit" / year
    for i, stem in enumerate(stems):
        write_png(base / "JPEGImages" / f"{stem}.png", np.full((8, 12, 3), i, np.uint8))
        (base / "JPEGImages" / f"{stem}.png").rename(base / "JPEGImages" / f"{stem}.jpg")
        label = Image.fromarray(tiny_label(values), mode="P")  # palette PNG, as VOC ships
        label.putpalette([v for rgb in [(0, 0, 0), (128, 0, 0)] * 128 for v in rgb])
        (base / seg_dir).mkdir(parents=True, exist_ok=True)
        label.save(base / seg_dir / f"{stem}.png")
    (base / split_dir).mkdir(parents=True, exist_ok=True)
    return base


def test_voc_split_palette_masks_and_aug_concat(tmp_path):
    base = _voc_tree(
        tmp_path,
        "VOC2012",
        "SegmentationClass",
        "ImageSets/Segmentation",
        ["2007_000032", "2007_000039"],
    )
    _voc_tree(
        tmp_path, "VOC2012", "SegmentationClassAug", "ImageSets/Segmentation", ["2008_000001"]
    )
    (base / "ImageSets/Segmentation/train.txt").write_text("2007_000032\n2007_000039\n")
    (base / "ImageSets/Segmentation/aug.txt").write_text("2008_000001\n")
    common = dict(type="PascalVOCDataset", data_root=str(base), pipeline=LOAD)
    voc = dict(
        common,
        data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClass"),
        ann_file="ImageSets/Segmentation/train.txt",
    )
    aug = dict(
        common,
        data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClassAug"),
        ann_file="ImageSets/Segmentation/aug.txt",
    )
    ds = DATASETS.build(voc)
    assert len(ds) == 2 and ds[0]["gt_seg_map"][0, :3].tolist() == [0, 15, 255]
    both = DATASETS.build(dict(type="ConcatDataset", datasets=[voc, aug]))
    assert len(both) == 3 and both[2]["seg_map_path"].endswith(
        "SegmentationClassAug/2008_000001.png"
    )
    with pytest.raises(ConfigError, match="PascalVOCDataset needs ann_file"):
        DATASETS.build(dict(voc, ann_file=""))


@pytest.mark.parametrize(
    "kind, num_classes, labels",
    [
        ("PascalContextDataset", 60, [0, 1, 59]),
        ("PascalContextDataset59", 59, [255, 0, 58]),
    ],
)
def test_pascal_context(tmp_path, kind, num_classes, labels):
    base = _voc_tree(
        tmp_path,
        "VOC2010",
        "SegmentationClassContext",
        "ImageSets/SegmentationContext",
        ["2008_000008"],
        values=(0, 1, 59),
    )
    (base / "ImageSets/SegmentationContext/train.txt").write_text("2008_000008\n")
    ds = DATASETS.build(
        dict(
            type=kind,
            data_root=str(base),
            data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClassContext"),
            ann_file="ImageSets/SegmentationContext/train.txt",
            pipeline=LOAD,
        )
    )
    assert len(ds.metainfo["classes"]) == num_classes
    assert ds[0]["gt_seg_map"][0, :3].tolist() == labels


def test_folder_dataset_reads_classes_file_and_detects_suffix(tmp_path, make_pairs):
    make_pairs(tmp_path, "images", "masks", ["cat_1", "cat_2"], ".jpg", ".png", values=(0, 2))
    (tmp_path / "classes.txt").write_text("background\ncat\ndog\n")
    ds = DATASETS.build(dict(type="FolderSegDataset", data_root=str(tmp_path), pipeline=LOAD))
    assert ds.metainfo["classes"] == ("background", "cat", "dog")
    assert len(ds.metainfo["palette"]) == 3 and ds.img_suffix == ".jpg"
    assert ds[1]["gt_seg_map"][0, :2].tolist() == [0, 2]
    explicit = DATASETS.build(
        dict(
            type="FolderSegDataset",
            data_root=str(tmp_path),
            classes=["bg", "cat", "dog"],
            palette=[[0, 0, 0], [1, 1, 1], [2, 2, 2]],
        )
    )
    assert explicit.metainfo["palette"] == [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
    (tmp_path / "classes.txt").unlink()
    with pytest.raises(ConfigError, match="needs class names"):
        DATASETS.build(dict(type="FolderSegDataset", data_root=str(tmp_path)))


def test_folder_dataset_classes_path_is_relative_to_data_root(tmp_path, make_pairs, monkeypatch):
    root = tmp_path / "data"
    make_pairs(root, "images", "masks", ["a"], ".png", ".png", values=(0, 1))
    (root / "names.txt").write_text("sky\nroad\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "names.txt").write_text("wrong\nfile\n")
    (elsewhere / "cwd_only.txt").write_text("bg\nfg\n")
    monkeypatch.chdir(elsewhere)
    cfg = dict(type="FolderSegDataset", data_root=str(root))
    # As MMSeg joins relative paths with data_root: data_root first, whatever the working folder.
    assert DATASETS.build(dict(cfg, classes="names.txt")).metainfo["classes"] == ("sky", "road")
    # The working folder is still the fallback, and absolute paths are kept as they are.
    assert DATASETS.build(dict(cfg, classes="cwd_only.txt")).metainfo["classes"] == ("bg", "fg")
    absolute = str(elsewhere / "names.txt")
    assert DATASETS.build(dict(cfg, classes=absolute)).metainfo["classes"] == ("wrong", "file")
    with pytest.raises(ConfigError) as info:
        DATASETS.build(dict(cfg, classes="missing.txt"))
    message = str(info.value)
    assert f"tried {str(root / 'missing.txt')!r} (relative to data_root)" in message
    assert f"and {str(elsewhere / 'missing.txt')!r} (relative to the working folder)" in message
    with pytest.raises(ConfigError, match="classes file .*nope.txt.* does not exist"):
        DATASETS.build(dict(cfg, classes=str(tmp_path / "nope.txt")))


def test_folder_dataset_hints_name_its_classes_argument(tmp_path, make_pairs):
    from segwright.datasets import check_dataset_labels
    from segwright.datasets.class_weights import _leaf_classes
    from segwright.utils.errors import DatasetError

    make_pairs(tmp_path, "images", "masks", ["a"], ".png", ".png", values=(0, 1, 3))
    ds = DATASETS.build(
        dict(type="FolderSegDataset", data_root=str(tmp_path), classes=("bg", "fg"), pipeline=LOAD)
    )
    # FolderSegDataset refuses metainfo=, so its hints must not suggest it.
    with pytest.raises(DatasetError) as info:
        ds[0]
    assert "list every class in the dataset's classes=(...)" in str(info.value)
    assert "metainfo" not in str(info.value)
    with pytest.raises(DatasetError, match=r"classes=\(\.\.\.\)"):
        check_dataset_labels(ds)
    ds._metainfo["classes"] = ()
    with pytest.raises(DatasetError, match=r"Set classes=\(\.\.\.\) on the dataset"):
        _leaf_classes(ds)
