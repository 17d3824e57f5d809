"""MMSeg 0.x data: dataloaders, datasets, pipelines and the data preprocessor."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from segwright.config.legacy import translate_legacy_config
from segwright.config.legacy.datasets import translate_data
from segwright.config.legacy.pipelines import translate_pipeline
from segwright.config.legacy.preprocessor import Normalisation
from segwright.registry import TRANSFORMS
from segwright.utils.errors import ConfigError

IMG_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
CROP = (512, 1024)
TRAIN_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="Resize", img_scale=(2048, 1024), ratio_range=(0.5, 2.0)),
    dict(type="RandomCrop", crop_size=CROP, cat_max_ratio=0.75),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PhotoMetricDistortion"),
    dict(type="Normalize", **IMG_NORM),
    dict(type="Pad", size=CROP, pad_val=0, seg_pad_val=255),
    dict(type="DefaultFormatBundle"),
    dict(type="Collect", keys=["img", "gt_semantic_seg"]),
]
TEST_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(
        type="MultiScaleFlipAug",
        img_scale=(2048, 1024),
        flip=False,
        transforms=[
            dict(type="Resize", keep_ratio=True),
            dict(type="RandomFlip"),
            dict(type="Normalize", **IMG_NORM),
            dict(type="ImageToTensor", keys=["img"]),
            dict(type="Collect", keys=["img"]),
        ],
    ),
]


def cityscapes(split, pipeline):
    return dict(
        type="CityscapesDataset",
        data_root="data/cityscapes/",
        img_dir=f"leftImg8bit/{split}",
        ann_dir=f"gtFine/{split}",
        pipeline=pipeline,
    )


def pipeline(steps, role="train", with_gt=True):
    norm, notes = Normalisation(), []
    result = translate_pipeline(steps, key="p", role=role, norm=norm, notes=notes, with_gt=with_gt)
    return result, norm, notes


# -- a whole 0.x Cityscapes data section ------------------------------------------------------------


def test_cityscapes_data_section_translates_exactly():
    data = dict(
        samples_per_gpu=2,
        workers_per_gpu=2,
        train=cityscapes("train", TRAIN_PIPELINE),
        val=cityscapes("val", TEST_PIPELINE),
        test=cityscapes("val", TEST_PIPELINE),
    )
    notes: list[str] = []
    result = translate_data(data, iter_based=True, workflow_val=False, notes=notes)
    dataset = dict(
        type="CityscapesDataset",
        data_root="data/cityscapes/",
        data_prefix=dict(img_path="leftImg8bit/train", seg_map_path="gtFine/train"),
    )
    assert result.train_dataloader == dict(
        batch_size=2,
        num_workers=2,
        persistent_workers=True,
        sampler=dict(type="InfiniteSampler", shuffle=True),
        dataset=dict(
            dataset,
            pipeline=[
                dict(type="LoadImageFromFile"),
                dict(type="LoadAnnotations"),
                dict(
                    type="RandomResize", scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True
                ),
                dict(type="RandomCrop", crop_size=CROP, cat_max_ratio=0.75),
                dict(type="RandomFlip", prob=0.5, direction="horizontal"),
                dict(type="PhotoMetricDistortion"),
                dict(type="PackSegInputs"),
            ],
        ),
    )
    test_pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="Resize", scale=(2048, 1024), keep_ratio=True),
        dict(type="LoadAnnotations"),
        dict(type="PackSegInputs"),
    ]
    val_dataset = dict(
        type="CityscapesDataset",
        data_root="data/cityscapes/",
        data_prefix=dict(img_path="leftImg8bit/val", seg_map_path="gtFine/val"),
        pipeline=test_pipeline,
    )
    for loader in (result.val_dataloader, result.test_dataloader):
        assert loader == dict(
            batch_size=1,
            num_workers=2,
            persistent_workers=True,
            sampler=dict(type="DefaultSampler", shuffle=False),
            dataset=val_dataset,
        )
    assert result.data_preprocessor == dict(
        type="SegDataPreProcessor",
        mean=IMG_NORM["mean"],
        std=IMG_NORM["std"],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=CROP,
    )
    assert result.tta_pipeline is None and notes == []


def test_data_preprocessor_lands_on_the_model_with_a_note():
    cfg = dict(
        model=dict(type="EncoderDecoder"),
        data=dict(samples_per_gpu=1, workers_per_gpu=0, train=cityscapes("train", TRAIN_PIPELINE)),
        optimizer=dict(type="SGD", lr=0.01),
        optimizer_config=dict(),
        runner=dict(type="IterBasedRunner", max_iters=10),
        img_norm_cfg=IMG_NORM,
        train_pipeline=TRAIN_PIPELINE,
    )
    out, notes = translate_legacy_config(cfg)
    assert out["model"]["data_preprocessor"]["type"] == "SegDataPreProcessor"
    assert any("model.data_preprocessor" in n for n in notes)
    assert "img_norm_cfg" not in out
    # A helper variable holding a 0.x pipeline is written in its 1.x form.
    assert out["train_pipeline"] == out["train_dataloader"]["dataset"]["pipeline"]
    cfg["model"]["data_preprocessor"] = dict(type="SegDataPreProcessor")
    with pytest.raises(ConfigError, match="sets a data_preprocessor too"):
        translate_legacy_config(cfg)


# -- loaders ---------------------------------------------------------------------------------------


def loaders(iter_based=True, **data):
    base = dict(samples_per_gpu=4, workers_per_gpu=0, train=dict(type="ToySegDataset"))
    base.update(data)
    notes: list[str] = []
    return translate_data(base, iter_based=iter_based, workflow_val=False, notes=notes), notes


def test_loader_settings_and_overrides():
    result, notes = loaders(
        shuffle=False,
        pin_memory=False,
        seed=1,
        val=dict(type="ToySegDataset"),
        val_dataloader=dict(samples_per_gpu=2, shuffle=True),
        train_dataloader=dict(workers_per_gpu=3, persistent_workers=False),
    )
    assert result.train_dataloader == dict(
        batch_size=4,
        num_workers=3,
        pin_memory=False,
        sampler=dict(type="InfiniteSampler", shuffle=False),
        dataset=dict(type="ToySegDataset"),
    )
    assert result.val_dataloader == dict(
        batch_size=2,
        num_workers=0,
        pin_memory=False,
        sampler=dict(type="DefaultSampler", shuffle=True),
        dataset=dict(type="ToySegDataset"),
    )
    assert any("data.seed dropped" in n for n in notes)
    assert not any("drop_last" in n for n in notes)
    _, notes = loaders(drop_last=False)
    assert any("drop_last dropped" in n for n in notes)
    epoch, _ = loaders(iter_based=False, drop_last=False)
    assert epoch.train_dataloader["sampler"] == dict(type="DefaultSampler", shuffle=True)
    assert epoch.train_dataloader["drop_last"] is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (dict(samples_per_gpu=...), "data.samples_per_gpu' is missing"),
        (dict(workers_per_gpu=...), "data.workers_per_gpu' is missing"),
        (dict(batch=1), r"\['batch'\] that are neither"),
        (dict(train_dataloader=dict(batch=1)), r"unknown key\(s\) \['batch'\]"),
        (dict(train_dataloader=[1]), "must be a dict"),
    ],
)
def test_loader_errors(data, message):
    base = dict(samples_per_gpu=4, workers_per_gpu=0, train=dict(type="ToySegDataset"))
    for key, value in data.items():
        if value is ...:
            base.pop(key)
        else:
            base[key] = value
    with pytest.raises(ConfigError, match=message):
        translate_data(base, iter_based=True, workflow_val=False, notes=[])
    with pytest.raises(ConfigError, match="'data' must be a dict"):
        translate_data([], iter_based=True, workflow_val=False, notes=[])


def test_workflow_loader_uses_val_data_with_the_train_pipeline():
    data = dict(
        samples_per_gpu=2,
        workers_per_gpu=0,
        train=dict(type="RepeatDataset", times=3, dataset=cityscapes("train", TRAIN_PIPELINE)),
        val=cityscapes("val", TEST_PIPELINE),
    )
    result = translate_data(data, iter_based=True, workflow_val=True, notes=[])
    loader = result.workflow_dataloader
    assert loader["batch_size"] == 2 and loader["sampler"]["type"] == "InfiniteSampler"
    assert loader["dataset"]["data_prefix"]["img_path"] == "leftImg8bit/val"
    assert (
        loader["dataset"]["pipeline"] == result.train_dataloader["dataset"]["dataset"]["pipeline"]
    )


# -- datasets --------------------------------------------------------------------------------------


def dataset(cfg, role="train"):
    data = dict(samples_per_gpu=1, workers_per_gpu=0)
    data["train" if role == "train" else "test"] = cfg
    notes: list[str] = []
    result = translate_data(data, iter_based=True, workflow_val=False, notes=notes)
    loader = result.train_dataloader if role == "train" else result.test_dataloader
    return loader["dataset"], notes


def test_custom_dataset_fields():
    out, notes = dataset(
        dict(
            type="CustomDataset",
            data_root="d",
            img_dir="img",
            ann_dir="ann",
            split="splits/train.txt",
            img_suffix=".png",
            seg_map_suffix="_L.png",
            classes=("sky", "road"),
            palette=[[0, 0, 255], [128, 128, 128]],
            reduce_zero_label=True,
            ignore_index=254,
            gt_seg_map_loader_cfg=dict(imdecode_backend="cv2"),
            file_client_args=dict(backend="disk"),
        )
    )
    assert out == dict(
        type="BaseSegDataset",
        data_root="d",
        data_prefix=dict(img_path="img", seg_map_path="ann"),
        ann_file="splits/train.txt",
        img_suffix=".png",
        seg_map_suffix="_L.png",
        metainfo=dict(classes=("sky", "road"), palette=[[0, 0, 255], [128, 128, 128]]),
        reduce_zero_label=True,
        ignore_index=254,
        backend_args=dict(backend="disk"),
    )
    assert any("gt_seg_map_loader_cfg dropped" in n for n in notes)


def test_dataset_lists_and_wrappers():
    a = dict(type="CustomDataset", img_dir="a", ann_dir="la")
    b = dict(type="CustomDataset", img_dir="b", ann_dir="lb")
    out, _ = dataset([a, b])
    assert out == dict(
        type="ConcatDataset",
        datasets=[
            dict(type="BaseSegDataset", data_prefix=dict(img_path="a", seg_map_path="la")),
            dict(type="BaseSegDataset", data_prefix=dict(img_path="b", seg_map_path="lb")),
        ],
    )
    out, _ = dataset(dict(type="RepeatDataset", times=40, dataset=a))
    assert out == dict(
        type="RepeatDataset",
        times=40,
        dataset=dict(type="BaseSegDataset", data_prefix=dict(img_path="a", seg_map_path="la")),
    )
    out, notes = dataset(dict(type="ConcatDataset", datasets=[a, b], separate_eval=False))
    assert [d["data_prefix"]["img_path"] for d in out["datasets"]] == ["a", "b"]
    assert any("separate_eval dropped" in n for n in notes)
    out, _ = dataset(
        dict(type="CustomDataset", img_dir=["a", "b"], ann_dir=["la", "lb"], split=["s1", "s2"])
    )
    assert out == dict(
        type="ConcatDataset",
        datasets=[
            dict(
                type="BaseSegDataset",
                data_prefix=dict(img_path="a", seg_map_path="la"),
                ann_file="s1",
            ),
            dict(
                type="BaseSegDataset",
                data_prefix=dict(img_path="b", seg_map_path="lb"),
                ann_file="s2",
            ),
        ],
    )
    with pytest.raises(ConfigError, match="ann_dir' has 1 entries but img_dir has 2"):
        dataset(dict(type="CustomDataset", img_dir=["a", "b"], ann_dir=["la"]))
    with pytest.raises(ConfigError, match="MultiImageMixDataset"):
        dataset(dict(type="MultiImageMixDataset", dataset=a, pipeline=[]))
    with pytest.raises(ConfigError, match=r"\['pipeline'\]"):
        dataset(dict(type="RepeatDataset", times=2, dataset=a, pipeline=[]))


def test_test_set_without_annotations_loads_none():
    cfg = dict(type="CityscapesDataset", img_dir="leftImg8bit/test", pipeline=TEST_PIPELINE)
    out, _ = dataset(cfg, role="test")
    assert out["data_prefix"] == dict(img_path="leftImg8bit/test")
    assert [s["type"] for s in out["pipeline"]] == ["LoadImageFromFile", "Resize", "PackSegInputs"]
    cfg["pipeline"] = [cfg["pipeline"][0], dict(type="LoadAnnotations"), cfg["pipeline"][1]]
    out, notes = dataset(cfg, role="test")
    assert [s["type"] for s in out["pipeline"]] == ["LoadImageFromFile", "Resize", "PackSegInputs"]
    assert any("LoadAnnotations dropped" in n for n in notes)


# -- pipelines -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            dict(type="Resize", img_scale=(2048, 512), keep_ratio=True),
            dict(type="Resize", scale=(2048, 512), keep_ratio=True),
        ),
        (
            dict(type="Resize", img_scale=[512, 256]),
            dict(type="Resize", scale=(512, 256), keep_ratio=True),
        ),
        (
            dict(type="Resize", img_scale=(512, 256), keep_ratio=False),
            dict(type="Resize", scale=(512, 256), keep_ratio=False),
        ),
        (
            dict(type="Resize", img_scale=[(512, 1024), (2048, 768)], multiscale_mode="range"),
            dict(type="RandomResize", scale=[(1024, 512), (2048, 768)], keep_ratio=True),
        ),
        (
            dict(
                type="Resize",
                img_scale=[(512, 256), (1024, 512), (768, 384)],
                multiscale_mode="value",
            ),
            dict(
                type="RandomChoiceResize",
                scales=[(512, 256), (1024, 512), (768, 384)],
                keep_ratio=True,
            ),
        ),
        (
            dict(type="RandomFlip", flip_ratio=0.5),
            dict(type="RandomFlip", prob=0.5, direction="horizontal"),
        ),
        (
            dict(type="RandomFlip", prob=0.3, direction="vertical"),
            dict(type="RandomFlip", prob=0.3, direction="vertical"),
        ),
        (
            dict(
                type="LoadAnnotations",
                reduce_zero_label=True,
                file_client_args=dict(backend="disk"),
            ),
            dict(type="LoadAnnotations", reduce_zero_label=True, backend_args=dict(backend="disk")),
        ),
        (
            dict(type="RandomRotate", prob=0.5, degree=20),
            dict(type="RandomRotate", prob=0.5, degree=20),
        ),
    ],
)
def test_train_steps(step, expected):
    result, _, _ = pipeline([step, dict(type="Collect", keys=["img"])])
    assert result.pipeline == [expected, dict(type="PackSegInputs")]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (  # a fixed scale with min_size translates (test_legacy_tree_030); a drawn one cannot
            dict(type="Resize", img_scale=(512, 256), ratio_range=(0.5, 2.0), min_size=200),
            "min_size",
        ),
        (dict(type="Resize", ratio_range=(0.5, 2.0)), "ratio_range and no img_scale"),
        (
            dict(type="Resize", img_scale=[(1, 2), (3, 4)], ratio_range=(0.5, 2.0)),
            "exactly one img_scale",
        ),
        (dict(type="Resize", img_scale=[(1, 2), (3, 4), (5, 6)]), "exactly two img_scale"),
        (
            dict(type="Resize", img_scale=[(1, 2), (3, 4)], multiscale_mode="x"),
            "'range' or 'value'",
        ),
        (dict(type="Resize", keep_ratio=True), "only inside"),
        (dict(type="Resize", img_scale="big"), "img_scale' must be"),
        (dict(type="Resize", img_scale=(1, 2), override=True), r"\['override'\]"),
        (dict(type="RandomFlip"), "needs prob"),
        (dict(type="RandomFlip", prob=0.5, flip_ratio=0.5), "both prob"),
        (dict(type="MultiScaleFlipAug", img_scale=(1, 2), transforms=[]), "val/test pipelines"),
        (dict(type="Normalize", mean=[0.0]), "needs mean and std"),
        (dict(type="Pad", size=(2, 2), size_divisor=32), "exactly one of size"),
        (dict(kind="Resize"), "must be a dict with a 'type'"),
    ],
)
def test_step_errors(step, message):
    with pytest.raises(ConfigError, match=message):
        pipeline([step, dict(type="Collect", keys=["img"])])


def test_steps_after_normalize_or_pad_are_refused():
    steps = [
        dict(type="Normalize", **IMG_NORM),
        dict(type="RandomCrop", crop_size=(4, 4)),
        dict(type="Collect", keys=["img"]),
    ]
    with pytest.raises(ConfigError, match="RandomCrop comes after Normalize"):
        pipeline(steps)


def test_normalize_and_pad_must_agree_across_pipelines():
    norm = Normalisation()
    translate_pipeline(TRAIN_PIPELINE, key="a", role="train", norm=norm, notes=[])
    other = copy.deepcopy(TRAIN_PIPELINE)
    other[6]["to_rgb"] = False
    with pytest.raises(ConfigError, match="differs from 'a\\[6\\]'"):
        translate_pipeline(other, key="b", role="train", norm=norm, notes=[])
    other = copy.deepcopy(TRAIN_PIPELINE)
    other[7]["size"] = (256, 256)
    with pytest.raises(ConfigError, match="all train pipelines must pad alike"):
        translate_pipeline(other, key="b", role="train", norm=norm, notes=[])
    test = copy.deepcopy(TEST_PIPELINE)
    test[1]["transforms"].insert(3, dict(type="Pad", size_divisor=32, pad_val=1))
    with pytest.raises(ConfigError, match="different pad_val"):
        translate_pipeline(test, key="t", role="test", norm=norm, notes=[])


def test_test_pad_becomes_the_preprocessor_test_cfg():
    test = copy.deepcopy(TEST_PIPELINE)
    test[1]["transforms"].insert(3, dict(type="Pad", size_divisor=32))
    _, norm, _ = pipeline(test, role="test")
    assert norm.to_dict() == dict(
        type="SegDataPreProcessor",
        mean=IMG_NORM["mean"],
        std=IMG_NORM["std"],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        test_cfg=dict(size_divisor=32),
    )


def test_pipelines_without_normalize_still_batch_through_the_preprocessor():
    _, norm, notes = pipeline(
        [dict(type="LoadImageFromFile"), dict(type="ImageToTensor", keys=["img"])]
    )
    assert norm.to_dict() == dict(type="SegDataPreProcessor", pad_val=0, seg_pad_val=255)
    result, norm, notes = pipeline(
        [dict(type="LoadImageFromFile"), dict(type="Normalize", **IMG_NORM)]
    )
    assert result.pipeline[-1] == dict(type="PackSegInputs")
    assert any("ends without Collect" in n for n in notes)


def test_collect_meta_keys_are_noted():
    _, _, notes = pipeline([dict(type="Collect", keys=["img"], meta_keys=("filename",))])
    assert any("meta_keys dropped" in n for n in notes)


def test_native_pipelines_pass_through():
    steps = [
        dict(type="LoadImageFromFile"),
        dict(type="Resize", scale=(4, 4)),
        dict(type="PackSegInputs"),
    ]
    result, norm, notes = pipeline(steps)
    assert result.pipeline == steps and norm.to_dict() is None and notes == []


def test_test_pipeline_moves_load_annotations_last():
    steps = [
        dict(type="LoadImageFromFile"),
        dict(type="LoadAnnotations", reduce_zero_label=True),
        dict(type="Resize", img_scale=(64, 32), keep_ratio=True),
        dict(type="Normalize", **IMG_NORM),
        dict(type="ImageToTensor", keys=["img"]),
        dict(type="Collect", keys=["img"]),
    ]
    result, _, _ = pipeline(steps, role="test")
    assert result.pipeline == [
        dict(type="LoadImageFromFile"),
        dict(type="Resize", scale=(64, 32), keep_ratio=True),
        dict(type="LoadAnnotations", reduce_zero_label=True),
        dict(type="PackSegInputs"),
    ]


def test_multi_scale_flip_aug_keeps_a_tta_pipeline():
    msfa = copy.deepcopy(TEST_PIPELINE)
    msfa[1].update(img_ratios=[0.5, 1.0, 1.5], flip=True)
    msfa[1]["transforms"].insert(1, dict(type="ResizeToMultiple", size_divisor=32))
    result, _, notes = pipeline(msfa, role="test")
    assert result.pipeline == [
        dict(type="LoadImageFromFile"),
        dict(type="Resize", scale=(2048, 1024), keep_ratio=True),
        dict(type="ResizeToMultiple", size_divisor=32),
        dict(type="LoadAnnotations"),
        dict(type="PackSegInputs"),
    ]
    assert result.tta_pipeline == [
        dict(type="LoadImageFromFile"),
        dict(
            type="TestTimeAug",
            transforms=[
                [
                    dict(type="Resize", scale=(1024, 512), keep_ratio=True),
                    dict(type="Resize", scale=(2048, 1024), keep_ratio=True),
                    dict(type="Resize", scale=(3072, 1536), keep_ratio=True),
                ],
                [dict(type="ResizeToMultiple", size_divisor=32)],
                [
                    dict(type="RandomFlip", prob=0.0, direction="horizontal"),
                    dict(type="RandomFlip", prob=1.0, direction="horizontal"),
                ],
                [dict(type="LoadAnnotations")],
                [dict(type="PackSegInputs")],
            ],
        ),
    ]
    assert any("6 views" in n and "tta_pipeline" in n for n in notes)
    TRANSFORMS.build(result.tta_pipeline[1])  # a valid TestTimeAug


def test_multi_scale_flip_aug_variants():
    ratios_only = copy.deepcopy(TEST_PIPELINE)
    ratios_only[1].update(img_scale=None, img_ratios=[0.75, 1.25])
    result, _, notes = pipeline(ratios_only, role="test")
    assert result.pipeline[1] == dict(type="Resize", scale_factor=1.0, keep_ratio=True)
    assert [s["scale_factor"] for s in result.tta_pipeline[1]["transforms"][0]] == [0.75, 1.25]
    assert any("can differ by one pixel" in n for n in notes)
    one_ratio = copy.deepcopy(TEST_PIPELINE)
    one_ratio[1].update(img_ratios=0.5)
    result, _, _ = pipeline(one_ratio, role="test")
    assert result.pipeline[1] == dict(type="Resize", scale=(1024, 512), keep_ratio=True)
    assert result.tta_pipeline is None
    two_dirs = copy.deepcopy(TEST_PIPELINE)
    two_dirs[1].update(flip=True, flip_direction=["horizontal", "vertical"])
    result, _, notes = pipeline(two_dirs, role="test")
    assert result.tta_pipeline[1]["transforms"][1] == [
        dict(type="RandomFlip", prob=0.0, direction="horizontal"),
        dict(type="RandomFlip", prob=1.0, direction="horizontal"),
        dict(type="RandomFlip", prob=1.0, direction="vertical"),
    ]
    assert any("once per flip direction" in n for n in notes)
    bad = copy.deepcopy(TEST_PIPELINE)
    bad[1].pop("img_scale")
    with pytest.raises(ConfigError, match="needs img_scale or img_ratios"):
        pipeline(bad, role="test")
    inner_ann = copy.deepcopy(TEST_PIPELINE)
    inner_ann[1]["transforms"].insert(0, dict(type="LoadAnnotations"))
    with pytest.raises(ConfigError, match="before it"):
        pipeline(inner_ann, role="test")


# -- the resizes draw what MMSeg 0.30 drew ---------------------------------------------------------


def mmseg_range_scale(img_scales):
    """MMSeg 0.30 ``Resize.random_sample``: long edge, then short edge, between the bounds."""
    longs = [max(s) for s in img_scales]
    shorts = [min(s) for s in img_scales]
    long_edge = np.random.randint(min(longs), max(longs) + 1)
    short_edge = np.random.randint(min(shorts), max(shorts) + 1)
    return long_edge, short_edge


def mmseg_ratio_scale(img_scale, ratio_range):
    """MMSeg 0.30 ``Resize.random_sample_ratio``."""
    low, high = ratio_range
    ratio = np.random.random_sample() * (high - low) + low
    return int(img_scale[0] * ratio), int(img_scale[1] * ratio)


@pytest.mark.parametrize(
    ("step", "reference"),
    [
        (
            dict(type="Resize", img_scale=[(96, 48), (40, 80)], keep_ratio=False),
            lambda: mmseg_range_scale([(96, 48), (40, 80)]),
        ),
        (
            dict(type="Resize", img_scale=(64, 32), ratio_range=(0.5, 2.0), keep_ratio=False),
            lambda: mmseg_ratio_scale((64, 32), (0.5, 2.0)),
        ),
        (
            dict(
                type="Resize",
                img_scale=[(30, 20), (60, 40), (90, 60)],
                multiscale_mode="value",
                keep_ratio=False,
            ),
            lambda: [(30, 20), (60, 40), (90, 60)][np.random.randint(3)],
        ),
    ],
)
def test_random_resizes_match_mmseg_draw_for_draw(step, reference):
    result, _, _ = pipeline([step, dict(type="Collect", keys=["img"])])
    transform = TRANSFORMS.build(result.pipeline[0])
    for seed in range(5):
        np.random.seed(seed)
        expected = tuple(reference())
        np.random.seed(seed)
        out = transform(dict(img=np.zeros((10, 20, 3), np.uint8), seg_fields=[]))
        # keep_ratio=False: the image is resized to the drawn (w, h) exactly.
        assert out["img"].shape[:2] == (expected[1], expected[0])
