"""The MMSeg-style fixture tree: a four-base config and the children the seed tasks rely on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from segwright.config import Config

TREE = Path(__file__).parent / "fixtures" / "mmseg_tree" / "configs"
PSP = TREE / "pspnet"
MAIN = PSP / "pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"


def load(name: str) -> Config:
    return Config.fromfile(PSP / name)


def test_tree_layout_matches_mmseg():
    for rel in [
        "_base_/models/pspnet_r50-d8.py",
        "_base_/datasets/cityscapes.py",
        "_base_/schedules/schedule_40k.py",
        "_base_/default_runtime.py",
        "pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py",
    ]:
        assert (TREE / rel).is_file(), rel


def test_four_bases_merge():
    cfg = Config.fromfile(MAIN)
    # one key from each base, plus the child's own
    assert cfg.model.type == "EncoderDecoder"
    assert cfg.train_dataloader.dataset.type == "CityscapesDataset"
    assert cfg.default_scope == "mmseg"
    assert cfg.train_cfg == {"type": "IterBasedTrainLoop", "max_iters": 40000, "val_interval": 4000}
    assert cfg.model.data_preprocessor == {
        "type": "SegDataPreProcessor",
        "mean": [123.675, 116.28, 103.53],
        "std": [58.395, 57.12, 57.375],
        "bgr_to_rgb": True,
        "pad_val": 0,
        "seg_pad_val": 255,
        "size": (512, 1024),
    }
    assert cfg.model.backbone.type == "ResNetV1c"
    assert cfg.model.backbone.dilations == (1, 1, 2, 4)
    assert cfg.model.decode_head.type == "PSPHead"
    assert cfg.model.auxiliary_head.type == "FCNHead"
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert cfg.param_scheduler == [
        {
            "type": "PolyLR",
            "eta_min": 1e-4,
            "power": 0.9,
            "begin": 0,
            "end": 40000,
            "by_epoch": False,
        }
    ]
    assert cfg.optim_wrapper.optimizer == {
        "type": "SGD",
        "lr": 0.01,
        "momentum": 0.9,
        "weight_decay": 0.0005,
    }
    assert cfg.default_hooks.checkpoint == {
        "type": "CheckpointHook",
        "by_epoch": False,
        "interval": 4000,
    }
    assert cfg.test_dataloader == cfg.val_dataloader
    assert [t.type for t in cfg.train_pipeline] == [
        "LoadImageFromFile",
        "LoadAnnotations",
        "RandomResize",
        "RandomCrop",
        "RandomFlip",
        "PhotoMetricDistortion",
        "PackSegInputs",
    ]
    # the list comprehension of the TTA pipeline ran
    resizes = cfg.tta_pipeline[1].transforms[0]
    assert [r.scale_factor for r in resizes] == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_key_order_follows_the_bases():
    keys = list(Config.fromfile(MAIN))
    assert keys.index("model") < keys.index("train_dataloader") < keys.index("log_level")
    assert keys.index("log_level") < keys.index("optim_wrapper")


def test_text_holds_every_file_bases_first():
    cfg = Config.fromfile(MAIN)
    text = cfg.text
    positions = [
        text.index("pspnet_r50-d8.py"),
        text.index("cityscapes.py"),
        text.index("default_runtime.py"),
        text.index("schedule_40k.py"),
        text.index("pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"),
    ]
    assert positions == sorted(positions)
    assert "type='ResNetV1c'" in text
    assert cfg.filename == str(MAIN.resolve())


def test_pretty_text_is_python():
    ast.parse(Config.fromfile(MAIN).pretty_text)


def test_chained_child_overrides_the_crop_and_test_mode():
    cfg = load("pspnet_r50-d8_4xb2-40k_cityscapes-769x769.py")
    assert cfg.crop_size == (769, 769)
    assert cfg.model.data_preprocessor.size == (769, 769)
    assert cfg.model.data_preprocessor.type == "SegDataPreProcessor"
    assert cfg.model.decode_head.align_corners is True
    assert cfg.model.test_cfg == {"mode": "slide", "crop_size": (769, 769), "stride": (513, 513)}
    # train_pipeline was built in the base with the base's crop_size; variables do not re-flow.
    assert cfg.train_pipeline[3].crop_size == (512, 1024)


def test_r101_child():
    cfg = load("pspnet_r101-d8_4xb2-40k_cityscapes-512x1024.py")
    assert cfg.model.backbone.depth == 101
    assert cfg.model.pretrained == "open-mmlab://resnet101_v1c"
    assert cfg.model.backbone.num_stages == 4


def test_adamw_child_drops_sgd_momentum():
    cfg = load("pspnet_r50-d8_adamw-40k_cityscapes-512x1024.py")
    assert cfg.optim_wrapper == {
        "type": "OptimWrapper",
        "optimizer": {"type": "AdamW", "lr": 6e-5, "betas": (0.9, 0.999), "weight_decay": 0.01},
        "paramwise_cfg": {"custom_keys": {"head": {"lr_mult": 10.0}}},
    }
    assert "momentum" not in cfg.optim_wrapper.optimizer
    assert "clip_grad" not in cfg.optim_wrapper
    assert "_delete_" not in cfg.pretty_text


def test_ohem_child_adds_sampler_and_class_weight():
    cfg = load("pspnet_r50-d8_ohem-40k_cityscapes-512x1024.py")
    head = cfg.model.decode_head
    assert head.sampler == {"type": "OHEMPixelSampler", "thresh": 0.7, "min_kept": 100000}
    assert head.loss_decode.type == "CrossEntropyLoss"
    assert head.loss_decode.loss_weight == 1.0
    assert len(head.loss_decode.class_weight) == 19
    assert head.loss_decode.class_weight[0] == pytest.approx(0.8373)
    assert "sampler" not in cfg.model.auxiliary_head


def test_grad_clip_child_does_not_leak_delete():
    cfg = load("pspnet_r50-d8_gradclip-40k_cityscapes-512x1024.py")
    assert cfg.optimizer_config == {"grad_clip": {"max_norm": 35, "norm_type": 2}}


def test_overrides_on_the_tree():
    cfg = Config.fromfile(
        MAIN,
        cfg_options={
            "model.decode_head.num_classes": 150,
            "train_dataloader.batch_size": 4,
            "train_pipeline.3.crop_size": (256, 256),
            "model.backbone.strides.1": 1,
        },
    )
    assert cfg.model.decode_head.num_classes == 150
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.train_pipeline[3] == {
        "type": "RandomCrop",
        "crop_size": (256, 256),
        "cat_max_ratio": 0.75,
    }
    assert cfg.model.backbone.strides == (1, 1, 1, 1)
