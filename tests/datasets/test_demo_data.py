"""The built-in demo data: deterministic scenes, atomic cached writing, and a hard colour task."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from segwright.datasets import demo
from segwright.datasets.demo import (
    DEMO_CLASSES,
    DEMO_PALETTE,
    color_threshold_baseline_miou,
    demo_data_root,
    generate_demo_scene,
    mean_iou,
    render_demo_scene,
    write_demo_dataset,
)
from segwright.registry import DATASETS
from segwright.utils.errors import DatasetError

SMALL = dict(num_train=5, num_val=2, size=32, seed=3)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


@pytest.fixture(scope="module")
def scenes() -> list[demo.DemoScene]:
    return [render_demo_scene(np.random.default_rng(i)) for i in range(60)]


# -- scenes ------------------------------------------------------------------------------------


def test_scene_is_a_function_of_the_generator_state():
    image, mask = generate_demo_scene(np.random.default_rng(7))
    again_image, again_mask = generate_demo_scene(np.random.default_rng(7))
    other_image, _ = generate_demo_scene(np.random.default_rng(8))
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert mask.shape == (64, 64) and mask.dtype == np.uint8
    assert np.array_equal(image, again_image) and np.array_equal(mask, again_mask)
    assert not np.array_equal(image, other_image)
    big_image, big_mask = generate_demo_scene(np.random.default_rng(7), size=96)
    assert big_image.shape == (96, 96, 3) and big_mask.shape == (96, 96)


def test_every_class_is_common_and_objects_cover_a_fair_share(scenes):
    masks = np.stack([s.mask for s in scenes])
    assert set(np.unique(masks)) == set(range(len(DEMO_CLASSES)))
    for class_id in range(1, len(DEMO_CLASSES)):
        share_of_images = (masks == class_id).any(axis=(1, 2)).mean()
        assert share_of_images >= 0.5, (DEMO_CLASSES[class_id], share_of_images)
        assert (masks == class_id).mean() >= 0.03
    assert 0.15 <= (masks > 0).mean() <= 0.5


def test_objects_occlude_and_the_mask_shows_what_is_visible(scenes):
    occluded = 0
    for scene in scenes:
        covered = np.zeros_like(scene.mask, dtype=bool)
        for obj in scene.objects:
            assert np.all(scene.mask[obj.visible] == obj.class_id)
            covered |= obj.footprint
        assert np.all(scene.mask[~covered] == 0)
        # The top object is fully visible; an earlier one loses what later ones cover.
        top = scene.objects[-1]
        assert np.array_equal(top.visible, top.footprint)
        occluded += any(
            obj.visible.any() and (obj.footprint & ~obj.visible).any() for obj in scene.objects
        )
    assert occluded / len(scenes) >= 0.3


def test_objects_share_their_colours_with_the_background(scenes):
    # Mean colour per class, over all scenes: far closer together than the pigments are.
    images = np.stack([s.image for s in scenes]).reshape(-1, 3).astype(np.float64)
    masks = np.stack([s.mask for s in scenes]).ravel()
    means = np.stack([images[masks == c].mean(0) for c in range(len(DEMO_CLASSES))])
    spread = np.abs(means - means[0]).max()
    assert spread < 40


# -- writing and caching -----------------------------------------------------------------------


def test_layout_and_meta(tmp_path):
    root = write_demo_dataset(tmp_path / "demo", **SMALL)
    assert root == tmp_path / "demo"
    for kind in ("img_dir", "ann_dir"):
        for split, count in (("train", 5), ("val", 2)):
            names = sorted(os.listdir(root / kind / split))
            assert names == [f"demo_{i:05d}.png" for i in range(count)]
    image = cv2.imread(str(root / "img_dir/val/demo_00001.png"), cv2.IMREAD_UNCHANGED)
    mask = cv2.imread(str(root / "ann_dir/val/demo_00001.png"), cv2.IMREAD_UNCHANGED)
    assert image.shape == (32, 32, 3) and mask.shape == (32, 32) and mask.dtype == np.uint8
    assert mask.max() < len(DEMO_CLASSES)
    meta = json.loads((root / "meta.json").read_text())
    assert meta == dict(
        generator="segwright.datasets.demo",
        version=demo.GENERATOR_VERSION,
        seed=3,
        size=32,
        splits=dict(train=5, val=2),
        classes=list(DEMO_CLASSES),
        palette=DEMO_PALETTE,
    )
    assert sorted(os.listdir(tmp_path)) == ["demo"]  # no temporary folder left behind


def test_same_seed_gives_the_same_bytes(tmp_path):
    first = _files(write_demo_dataset(tmp_path / "a", **SMALL))
    second = _files(write_demo_dataset(tmp_path / "b", **SMALL))
    assert first == second
    other = _files(write_demo_dataset(tmp_path / "c", **{**SMALL, "seed": 4}))
    assert other["img_dir/train/demo_00000.png"] != first["img_dir/train/demo_00000.png"]


def test_val_split_does_not_depend_on_train_size(tmp_path):
    small = _files(write_demo_dataset(tmp_path / "a", **SMALL))
    large = _files(write_demo_dataset(tmp_path / "b", **{**SMALL, "num_train": 7}))
    assert small["img_dir/val/demo_00001.png"] == large["img_dir/val/demo_00001.png"]


def test_a_complete_dataset_is_reused_and_an_outdated_one_replaced(tmp_path):
    root = write_demo_dataset(tmp_path / "demo", **SMALL)
    before = _mtimes(root)
    assert write_demo_dataset(root, **SMALL) == root
    assert _mtimes(root) == before
    write_demo_dataset(root, **{**SMALL, "num_val": 3})
    assert json.loads((root / "meta.json").read_text())["splits"] == dict(train=5, val=3)
    assert len(os.listdir(root / "img_dir/val")) == 3
    assert sorted(os.listdir(tmp_path)) == ["demo"]


def test_a_dataset_missing_files_is_rewritten(tmp_path):
    root = write_demo_dataset(tmp_path / "demo", **SMALL)
    (root / "ann_dir/train/demo_00002.png").unlink()
    write_demo_dataset(root, **SMALL)
    assert (root / "ann_dir/train/demo_00002.png").is_file()


def test_an_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    real_imwrite = cv2.imwrite

    def failing_imwrite(path, array):
        calls.append(path)
        if len(calls) > 4:
            raise KeyboardInterrupt
        return real_imwrite(path, array)

    monkeypatch.setattr(demo.cv2, "imwrite", failing_imwrite)
    with pytest.raises(KeyboardInterrupt):
        write_demo_dataset(tmp_path / "demo", **SMALL)
    assert os.listdir(tmp_path) == []
    assert all(".tmp-" in p for p in calls)  # nothing was ever written at the target path


def test_a_half_written_temp_folder_is_not_taken_as_a_dataset(tmp_path):
    # What a killed writer leaves: a temp folder with some files and even a meta.json.
    good = write_demo_dataset(tmp_path / "ref", **SMALL)
    stale = tmp_path / ".demo.tmp-999-deadbeef"
    (stale / "img_dir/train").mkdir(parents=True)
    (stale / "img_dir/train/demo_00000.png").write_bytes(
        (good / "img_dir/train/demo_00000.png").read_bytes()
    )
    (stale / "meta.json").write_text((good / "meta.json").read_text())
    root = write_demo_dataset(tmp_path / "demo", **SMALL)
    assert _files(root) == _files(good)
    # A target holding only part of the layout and no meta.json is regenerated too.
    (root / "meta.json").unlink()
    write_demo_dataset(root, **SMALL)
    assert _files(root) == _files(good)


def test_a_folder_with_other_files_is_never_overwritten(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="will not overwrite"):
        write_demo_dataset(tmp_path / "mine", **SMALL)
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]
    assert sorted(os.listdir(tmp_path)) == ["mine"]


def test_bad_arguments_raise():
    with pytest.raises(DatasetError, match="size must be >= 16"):
        write_demo_dataset("/nonexistent/demo", size=8)


def test_default_root_follows_the_cache_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("SEGWRIGHT_CACHE", str(tmp_path))
    assert demo_data_root() == tmp_path / f"demo_v{demo.GENERATOR_VERSION}"
    monkeypatch.delenv("SEGWRIGHT_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert demo_data_root() == tmp_path / "home/.cache/segwright/demo_v1"


# -- the registered dataset --------------------------------------------------------------------


def test_dataset_generates_its_data_and_loads_it(tmp_path):
    root = tmp_path / "data/demo"
    pipeline = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations")]
    train = DATASETS.build(
        dict(type="DemoSceneDataset", data_root=str(root), pipeline=pipeline, **SMALL)
    )
    val = DATASETS.build(
        dict(
            type="DemoSceneDataset",
            data_root=str(root),
            data_prefix=dict(img_path="img_dir/val", seg_map_path="ann_dir/val"),
            pipeline=pipeline,
            test_mode=True,
            **SMALL,
        )
    )
    assert (len(train), len(val)) == (5, 2)
    assert train.metainfo["classes"] == DEMO_CLASSES
    assert train.metainfo["palette"] == DEMO_PALETTE
    sample = val[1]
    expected = cv2.imread(str(root / "ann_dir/val/demo_00001.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(sample["gt_seg_map"], expected)
    assert sample["img"].shape == (32, 32, 3)


def test_dataset_defaults_to_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGWRIGHT_CACHE", str(tmp_path))
    dataset = DATASETS.build(dict(type="DemoSceneDataset", **SMALL))
    assert len(dataset) == 5
    assert dataset.data_root == str(tmp_path / "demo_v1")


# -- the colour baseline -----------------------------------------------------------------------


def test_mean_iou_on_a_known_case():
    gt = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0])
    # class 0: 1 / 3, class 1: 2 / 3, class 2: 0 / 1
    assert mean_iou(pred, gt, 4) == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert mean_iou(gt, gt, 3) == 1.0


def test_colour_alone_does_not_solve_the_task(tmp_path):
    # A tiny convnet reaches about 0.4-0.5 val mIoU after a minute or two of CPU training
    # (measured once, outside the tests); the best per-pixel colour table stays near the
    # all-background score.
    root = write_demo_dataset(tmp_path / "demo", num_train=80, num_val=30, size=64, seed=0)
    masks = np.stack(
        [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in (root / "ann_dir/val").iterdir()]
    )
    all_background = mean_iou(np.zeros_like(masks), masks, len(DEMO_CLASSES))
    baseline = color_threshold_baseline_miou(root)
    assert all_background - 0.01 <= baseline < 0.25
