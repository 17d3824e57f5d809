"""The pre-flight hook: input sizes a UNet accepts at validation, warnings in the run's log."""

from __future__ import annotations

import copy

import cv2
import pytest

import segwright
from segwright.config import Config
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

#: A 3-stage UNet (2 downsamplings: inputs must be multiples of 4) with an FCN head.
TINY_UNET = dict(
    type="EncoderDecoder",
    data_preprocessor=dict(type="SegDataPreProcessor", mean=[0, 0, 0], std=[255, 255, 255]),
    backbone=dict(
        type="UNet",
        base_channels=4,
        num_stages=3,
        strides=(1, 1, 1),
        enc_num_convs=(1, 1, 1),
        dec_num_convs=(1, 1),
        downsamples=(True, True),
        enc_dilations=(1, 1, 1),
        dec_dilations=(1, 1),
    ),  # fmt: skip
    decode_head=dict(
        type="FCNHead", in_channels=4, in_index=2, channels=4, num_convs=1, num_classes=2
    ),
    test_cfg=dict(mode="whole"),
)


def _unet_config(tmp_path, val_size, **preprocessor):
    cfg = toy_config(tmp_path, max_iters=2, val_interval=2)
    cfg["model"] = copy.deepcopy(TINY_UNET)
    cfg["model"]["data_preprocessor"] = dict(TINY_UNET["data_preprocessor"], **preprocessor)
    cfg["val_dataloader"]["dataset"]["size"] = val_size
    cfg["val_dataloader"]["batch_size"] = 1
    return cfg


def test_unet_val_size_not_divisible_is_caught_before_training(tmp_path):
    cfg = _unet_config(tmp_path, (18, 18), size_divisor=4)  # pads training batches only
    with pytest.raises(ConfigError) as info:
        segwright.train(Config(cfg))
    message = str(info.value)
    assert "UNet needs input height and width that are multiples of 4" in message
    assert "image 0 of val_dataloader.dataset (18x18 after its pipeline)" in message
    assert "model.data_preprocessor.test_cfg=dict(size_divisor=4)" in message
    assert not list(tmp_path.rglob("iter_*.pth"))  # failed before iteration 0


def test_unet_val_padded_by_test_cfg_size_divisor_trains_and_validates(tmp_path):
    cfg = _unet_config(tmp_path, (18, 18), test_cfg=dict(size_divisor=4))
    runner = segwright.train(Config(cfg))
    assert (tmp_path / "iter_2.pth").exists()
    assert "mIoU" in (runner.log_dir / f"{runner.timestamp}.log").read_text()


def test_slide_crop_and_preprocessor_padding_give_the_backbone_size():
    from types import SimpleNamespace

    from segwright.task_hooks.preflight import inference_input_size

    def model(test_pad=None, **test_cfg):
        return SimpleNamespace(
            data_preprocessor=SimpleNamespace(test_cfg=test_pad), test_cfg=test_cfg or None
        )

    assert inference_input_size(model(), (18, 30)) == (18, 30)
    assert inference_input_size(model(dict(size_divisor=4)), (18, 30)) == (20, 32)
    assert inference_input_size(model(dict(size=(24, 24))), (18, 30)) == (24, 30)
    slide = dict(mode="slide", crop_size=(16, 16), stride=(8, 8))
    assert inference_input_size(model(None, **slide), (18, 30)) == (16, 16)
    assert inference_input_size(model(None, **slide), (12, 30)) == (12, 16)  # image < crop


def test_preflight_logs_reduce_zero_label_warnings(tmp_path):
    import logging
    from types import SimpleNamespace

    import numpy as np

    from segwright.datasets import BaseSegDataset
    from segwright.task_hooks.preflight import SegPreflightHook

    mask = np.zeros((4, 8), np.uint8)
    mask[:, 6:] = 1  # 75 % zeros: 0 looks like a real class
    for folder, array in (("img", np.zeros((4, 8, 3), np.uint8)), ("ann", mask)):
        (tmp_path / folder).mkdir()
        assert cv2.imwrite(str(tmp_path / folder / "a.png"), array)
    dataset = BaseSegDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img_path="img", seg_map_path="ann"),
        img_suffix=".png",
        metainfo=dict(classes=("road",)),
        reduce_zero_label=True,
    )
    records = []
    logger = logging.getLogger("segwright.tests.preflight")
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    runner = SimpleNamespace(
        model=SimpleNamespace(),
        train_loop=SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset)),
        val_loop=None,
        logger=logger,
    )
    try:
        SegPreflightHook().before_train(runner)
    finally:
        logger.removeHandler(handler)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "Pre-flight: train_dataloader.dataset: BaseSegDataset(reduce_zero_label=True) turns "
        "label 0 into ignore_index=255: 75% of the pixels"
    )
