"""An error raised by a transform while a sample loads names the step's config key
(``train_dataloader.dataset.pipeline[2] (RandomCrop)``) and the sample, in the main process
and in DataLoader workers, and keeps its segwright class."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from ds_files import tiny_image, tiny_label, write_png

from segwright.datasets.transforms import Compose
from segwright.engine.data import build_dataloader
from segwright.registry import build_path
from segwright.utils.errors import ConfigError, DatasetError

LOAD = dict(type="LoadImageFromFile")
PACK = dict(type="PackSegInputs")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def loader(root, pipeline, key: str, workers: int):
    dataset = dict(
        type="BaseSegDataset",
        data_root=str(root),
        data_prefix=dict(img_path="img", seg_map_path="ann"),
        img_suffix=".png",
        metainfo=dict(classes=("a", "b")),
        pipeline=pipeline,
        test_mode=key != "train_dataloader",
    )
    cfg = dict(
        batch_size=1,
        num_workers=workers,
        dataset=dataset,
        sampler=dict(type="DefaultSampler", shuffle=False),
    )
    return build_dataloader(cfg, seed=0, key=key)


def write_pair(root, stem: str, label_size=(8, 12)) -> str:
    img = write_png(root / "img" / f"{stem}.png", tiny_image(0))
    write_png(root / "ann" / f"{stem}.png", tiny_label((0, 1), label_size))
    return img


def first_batch(root, pipeline, key, workers):
    return next(iter(loader(root, pipeline, key, workers)))


@pytest.mark.parametrize("workers", [0, 1])
@pytest.mark.parametrize("key", ["train_dataloader", "val_dataloader"])
def test_a_bad_random_crop_names_its_config_key_and_sample(tmp_path, key, workers):
    img = write_pair(tmp_path, "a")
    crop = dict(type="RandomCrop", crop_size=4, cat_max_ratio=0.75)  # needs LoadAnnotations first
    pipeline = [LOAD, dict(type="RandomFlip", prob=0.0), crop, PACK]
    with pytest.raises(ConfigError) as info:
        first_batch(tmp_path, pipeline, key, workers)
    message = str(info.value)
    assert "put LoadAnnotations before RandomCrop" in message
    assert (
        f"while loading sample 0 ({img}) in config key {key}.dataset.pipeline[2] (RandomCrop)"
        in message
    )


@pytest.mark.parametrize("workers", [0, 1])
@pytest.mark.parametrize("key", ["train_dataloader", "val_dataloader"])
def test_an_image_and_mask_size_mismatch_names_load_annotations(tmp_path, key, workers):
    write_pair(tmp_path, "a", label_size=(6, 12))
    pipeline = [LOAD, dict(type="LoadAnnotations"), PACK]
    with pytest.raises(DatasetError) as info:
        first_batch(tmp_path, pipeline, key, workers)
    message = str(info.value)
    assert f"in config key {key}.dataset.pipeline[1] (LoadAnnotations)" in message
    assert "while loading sample 0" in message


def test_a_missing_image_names_load_image_from_file_once_per_path(tmp_path):
    img = write_pair(tmp_path, "a")
    data = loader(tmp_path, [LOAD, PACK], "train_dataloader", 0)
    os.remove(img)  # gone after the file list was made
    with pytest.raises((DatasetError, FileNotFoundError)) as info:
        next(iter(data))
    message = str(info.value) + "".join(getattr(info.value, "__notes__", []))
    assert "train_dataloader.dataset.pipeline[0] (LoadImageFromFile)" in message
    assert message.count(img) == 1  # the loader names the file already: not repeated


def test_an_error_of_another_class_keeps_it_and_gets_a_note():
    def broken(results):
        raise KeyError("img")

    with build_path("test_dataloader.dataset"):
        pipeline = Compose([dict(type="RandomFlip", prob=0.0), broken])
    with pytest.raises(KeyError) as info:
        pipeline(dict(sample_idx=4, img=np.zeros((2, 2, 3), np.uint8)))
    assert info.value.__notes__ == [
        "While loading sample 4 in config key test_dataloader.dataset.pipeline[1] (broken)."
    ]


def test_a_tta_branch_step_is_named_by_its_place_in_transforms(tmp_path):
    img = write_pair(tmp_path, "a")
    tta = dict(
        type="TestTimeAug",
        transforms=[
            [dict(type="RandomFlip", prob=0.0), dict(type="RandomFlip", prob=1.0)],
            [dict(type="RandomCrop", crop_size=4, cat_max_ratio=0.5)],
            [PACK],
        ],
    )
    with pytest.raises(ConfigError) as info:
        first_batch(tmp_path, [LOAD, tta], "test_dataloader", 0)
    message = str(info.value)
    assert (
        f"sample 0 ({img}) in config key "
        "test_dataloader.dataset.pipeline[1].transforms[1][0] (RandomCrop)" in message
    )
    assert message.count("while loading") == 1
