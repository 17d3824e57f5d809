"""MMDetection's fine-tuning guide, end to end through the command line, on tiny COCO data.

The guide's config (``configs/mmdet/cityscapes/mask-rcnn_r50_fpn_1x_cityscapes_finetune.py``,
with its 2.x base name and its trailing comma) is shrunk with ``--cfg-options`` only: a
ResNet-18 at width 8, 16-channel FPN and heads, four 64x96 images written to ``tmp_path``, one
epoch. ``segwright train`` trains and validates it; ``segwright test`` evaluates the checkpoint
it wrote and prints COCO's bbox and segm mAP.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from segwright.cli.main import main
from segwright.testing.tiny_detector import write_tiny_coco

CONFIG = (
    Path(__file__).resolve().parents[2]
    / "segwright/configs/mmdet/cityscapes/mask-rcnn_r50_fpn_1x_cityscapes_finetune.py"
)

TINY_MODEL = [
    "model.backbone.init_cfg=None",  # torchvision://resnet50: nothing downloads here
    "model.backbone.depth=18",
    "model.backbone.base_channels=8",
    "model.backbone.stem_channels=8",
    "model.neck.in_channels=[8,16,32,64]",
    "model.neck.out_channels=16",
    "model.rpn_head.in_channels=16",
    "model.rpn_head.feat_channels=16",
    "model.roi_head.bbox_roi_extractor.out_channels=16",
    "model.roi_head.mask_roi_extractor.out_channels=16",
    "model.roi_head.bbox_head.in_channels=16",
    "model.roi_head.bbox_head.fc_out_channels=32",
    "model.roi_head.mask_head.in_channels=16",
    "model.roi_head.mask_head.conv_out_channels=16",
    "model.roi_head.mask_head.num_convs=1",
]


def tiny_data_options(root: Path) -> list[str]:
    """Every dataloader and evaluator pointed at the tiny COCO data under ``root``."""
    ann = str(root / "ann.json")
    evaluator = f"[{{'type': 'CocoMetric', 'ann_file': '{ann}', 'metric': ['bbox', 'segm']}}]"
    options = [
        "train_dataloader.dataset.times=1",
        "train_dataloader.batch_size=2",
        "train_dataloader.dataset.dataset.pipeline.2.scale=[(96,56),(96,64)]",
        f"val_evaluator={evaluator}",  # CocoMetric only: CityScapesMetric is not included
        f"test_evaluator={evaluator}",
        "train_cfg.max_epochs=1",
        "randomness={'seed': 0}",
    ]
    for loader, dataset in (
        ("train_dataloader", "train_dataloader.dataset.dataset"),
        ("val_dataloader", "val_dataloader.dataset"),
        ("test_dataloader", "test_dataloader.dataset"),
    ):
        options += [
            f"{loader}.num_workers=0",
            f"{loader}.persistent_workers=False",
            f"{dataset}.data_root={root}",
            f"{dataset}.ann_file=ann.json",
            f"{dataset}.data_prefix.img=images/",
        ]
        if loader != "train_dataloader":
            options.append(f"{dataset}.pipeline.1.scale=(96,64)")
    return options


@pytest.fixture(autouse=True)
def quiet_and_few_threads() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the guide's two traps; tests/config
        yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_coco")
    write_tiny_coco(root, num_images=4, size=(64, 96))
    return root


def _train(work: Path, options: list[str]) -> int:
    return main(
        ["train", str(CONFIG), "--work-dir", str(work), "--device", "cpu", "--cfg-options"]
        + options
    )


def test_the_guides_config_trains_and_tests_from_the_command_line(data_root, tmp_path, capsys):
    work = tmp_path / "work"
    options = ["load_from=None", *TINY_MODEL, *tiny_data_options(data_root)]
    assert _train(work, options) == 0
    checkpoint = work / "epoch_1.pth"
    assert checkpoint.is_file()
    log = sorted(work.glob("*/*.log"))[-1].read_text()
    assert "Epoch(train) [1][2/2]" in log and "loss_mask" in log
    assert "coco/bbox_mAP" in log and "coco/segm_mAP" in log  # validated after the epoch
    capsys.readouterr()

    code = main(
        ["test", str(CONFIG), str(checkpoint), "--work-dir", str(tmp_path / "test")]
        + ["--device", "cpu", "--cfg-options", *options]
    )
    assert code == 0
    out = capsys.readouterr().out
    for key in ("coco/bbox_mAP", "coco/bbox_mAP_50", "coco/segm_mAP", "coco/segm_mAP_75"):
        assert f"{key}:" in out, out


def test_classes_not_changed_in_a_head_stop_before_iteration_0(data_root, tmp_path, capsys):
    options = [
        "load_from=None",
        *TINY_MODEL,
        *tiny_data_options(data_root),
        "model.roi_head.mask_head.num_classes=80",
    ]
    assert _train(tmp_path / "work", options) != 0
    err = capsys.readouterr().err
    assert "model.roi_head.mask_head.num_classes=80" in err
    assert "has 8 classes" in err and "Traceback" not in err
    assert not list((tmp_path / "work").glob("*.pth"))


def test_an_unreachable_load_from_url_is_one_clear_line(data_root, tmp_path, capsys):
    url = "https://checkpoints.invalid/segwright-test/mask_rcnn_offline_check_0000.pth"
    options = [f"load_from={url}", *TINY_MODEL, *tiny_data_options(data_root)]
    assert _train(tmp_path / "work", options) != 0
    err = capsys.readouterr().err
    assert f"Cannot download checkpoint {url}" in err
    assert "local path" in err and "Traceback" not in err
