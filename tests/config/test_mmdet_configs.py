"""MMDetection 3.3's config tree (``configs/mmdet/``): every config loads, prints and trains.

Each runnable config is read (also through ``segwright print-config``), its model is scaled
down (ResNet-18 at width 8, a 16-channel FPN and heads) and it trains one iteration on a tiny
COCO-format data set written to ``tmp_path`` (polygon masks), through the config's own dataset
class: ``CocoDataset`` or MMDetection's instance ``CityscapesDataset`` (under its
``RepeatDataset``).
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from segwright.cli.main import main
from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.registry import METRICS, MODELS, default_scope
from segwright.testing.tiny_detector import write_tiny_coco

MMDET_CONFIGS = Path(__file__).resolve().parents[2] / "segwright" / "configs" / "mmdet"
CHANNELS = 16
IMAGE_SIZE = (64, 96)  # height, width of the tiny images
GUIDE = "cityscapes/mask-rcnn_r50_fpn_1x_cityscapes_finetune.py"


def mmdet_configs() -> list[Path]:
    """Runnable configs: every ``.py`` of the tree outside its ``_base_``."""
    return [
        path
        for path in sorted(MMDET_CONFIGS.rglob("*.py"))
        if path.relative_to(MMDET_CONFIGS).parts[0] != "_base_"
    ]


CONFIGS = mmdet_configs()


def _id(path: Path) -> str:
    return str(path.relative_to(MMDET_CONFIGS))


def _read(path: Path) -> Config:
    """The config; the guide's two expected warnings are checked in their own test."""
    with warnings.catch_warnings():
        if _id(path) == GUIDE:
            warnings.simplefilter("ignore", UserWarning)
        return Config.fromfile(path)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# -- scaling down ------------------------------------------------------------------------------


def scale_down_detector(model: dict[str, Any]) -> dict[str, Any]:
    """A small two-stage detector with the same types and wiring as ``model``."""
    model = copy.deepcopy(model)
    model["backbone"].update(depth=18, base_channels=8, stem_channels=8, init_cfg=None)
    model["neck"].update(in_channels=[8, 16, 32, 64], out_channels=CHANNELS)
    model["rpn_head"].update(in_channels=CHANNELS, feat_channels=CHANNELS)
    roi_head = model["roi_head"]
    for key in ("bbox_roi_extractor", "mask_roi_extractor"):
        if key in roi_head:
            roi_head[key]["out_channels"] = CHANNELS
    roi_head["bbox_head"].update(in_channels=CHANNELS, fc_out_channels=32)
    if "mask_head" in roi_head:
        roi_head["mask_head"].update(in_channels=CHANNELS, conv_out_channels=CHANNELS, num_convs=1)
    return model


def redirect_detection_dataset(dataset: dict[str, Any], root: Path) -> dict[str, Any]:
    """Point ``dataset`` (inside a ``RepeatDataset`` too) at the tiny COCO data under ``root``."""
    dataset = copy.deepcopy(dataset)
    if dataset["type"] == "RepeatDataset":
        dataset["times"] = 1
        dataset["dataset"] = redirect_detection_dataset(dataset["dataset"], root)
        return dataset
    dataset.update(data_root=str(root), ann_file="ann.json", data_prefix=dict(img="images/"))
    height, width = IMAGE_SIZE
    for transform in dataset["pipeline"]:
        if transform["type"] == "Resize":
            transform["scale"] = (width, height)
        elif transform["type"] == "RandomResize":
            transform["scale"] = [(width, height - 8), (width, height)]
    return dataset


def one_iteration_config(cfg: Config, tmp_path: Path) -> Config:
    """``cfg`` shrunk to one training iteration on two tiny images, without validation."""
    values = cfg.to_dict()
    classes = values["model"]["roi_head"]["bbox_head"]["num_classes"]
    root = tmp_path / "data"
    if classes == 8:
        write_tiny_coco(root, num_images=2, size=IMAGE_SIZE)  # Cityscapes' names
    else:
        write_tiny_coco(root, ("person", "bicycle", "car"), num_images=2, size=IMAGE_SIZE)
    values["model"] = scale_down_detector(values["model"])
    loader = values["train_dataloader"]
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader["dataset"] = redirect_detection_dataset(loader["dataset"], root)
    values["train_cfg"].update(max_epochs=1, val_interval=100)
    for key in ("val_dataloader", "val_cfg", "val_evaluator", "test_dataloader", "test_cfg"):
        values.pop(key, None)
    values.pop("test_evaluator", None)
    values.update(work_dir=str(tmp_path / "work"), load_from=None, device="cpu")
    values["randomness"] = dict(seed=0)
    return Config(values, filename=cfg.filename)


# -- the tests ---------------------------------------------------------------------------------


def test_the_tree_has_mmdetections_names():
    names = {_id(p) for p in CONFIGS}
    assert {
        "mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py",
        "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
        "cityscapes/mask-rcnn_r50_fpn_1x_cityscapes.py",
        "cityscapes/faster-rcnn_r50_fpn_1x_cityscapes.py",
        GUIDE,
    } <= names
    bases = {str(p.relative_to(MMDET_CONFIGS)) for p in MMDET_CONFIGS.glob("_base_/**/*.py")}
    assert {
        "_base_/models/mask-rcnn_r50_fpn.py",
        "_base_/models/faster-rcnn_r50_fpn.py",
        "_base_/datasets/coco_instance.py",
        "_base_/datasets/coco_detection.py",
        "_base_/datasets/cityscapes_instance.py",
        "_base_/datasets/cityscapes_detection.py",
        "_base_/schedules/schedule_1x.py",
        "_base_/schedules/schedule_2x.py",
        "_base_/default_runtime.py",
    } <= bases


def test_values_are_mmdetection_33s():
    cfg = Config.fromfile(MMDET_CONFIGS / "mask_rcnn" / "mask-rcnn_r50_fpn_1x_coco.py")
    assert cfg.default_scope == "mmdet"
    assert cfg.visualizer.type == "DetLocalVisualizer"
    assert cfg.default_hooks.visualization == {"type": "DetVisualizationHook"}
    assert cfg.default_hooks.sampler_seed == {"type": "DistSamplerSeedHook"}
    assert cfg.log_processor == {"type": "LogProcessor", "window_size": 50, "by_epoch": True}
    assert cfg.auto_scale_lr == {"enable": False, "base_batch_size": 16}
    assert cfg.train_cfg == {"type": "EpochBasedTrainLoop", "max_epochs": 12, "val_interval": 1}
    assert cfg.param_scheduler[1].milestones == [8, 11]
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.model.roi_head.bbox_head.num_classes == 80
    assert cfg.model.train_cfg.rcnn.sampler.num == 512
    assert cfg.train_dataloader.dataset.filter_cfg == {"filter_empty_gt": True, "min_size": 32}
    assert cfg.val_evaluator.metric == ["bbox", "segm"]
    assert cfg.val_evaluator.backend_args is None
    two_x = Config.fromfile(MMDET_CONFIGS / "_base_" / "schedules" / "schedule_2x.py")
    assert two_x.param_scheduler[1].milestones == [16, 22] and two_x.train_cfg.max_epochs == 24
    faster = Config.fromfile(MMDET_CONFIGS / "faster_rcnn" / "faster-rcnn_r50_fpn_1x_coco.py")
    assert faster.model.type == "FasterRCNN" and "mask_head" not in faster.model.roi_head
    assert faster.model.train_cfg.rcnn.assigner.match_low_quality is False
    assert faster.val_evaluator.metric == "bbox"


def test_the_guides_config_reads_with_its_two_traps_handled():
    with pytest.warns(UserWarning) as caught:
        cfg = Config.fromfile(MMDET_CONFIGS / GUIDE)
    messages = " ".join(str(w.message) for w in caught)
    assert "mask-rcnn_r50_fpn.py" in messages  # the 2.x base name, resolved
    assert "trailing comma" in messages or "ends with a comma" in messages
    assert isinstance(cfg.default_hooks, dict)
    assert cfg.default_hooks.logger == {"type": "LoggerHook", "interval": 100}
    assert cfg.default_hooks.visualization.type == "DetVisualizationHook"  # merged with base
    assert cfg.model.roi_head.bbox_head.num_classes == 8
    assert cfg.model.roi_head.mask_head.num_classes == 8
    assert cfg.model.roi_head.bbox_head.loss_bbox.type == "SmoothL1Loss"
    assert cfg.train_cfg.max_epochs == 8 and cfg.train_dataloader.dataset.type == "RepeatDataset"
    assert cfg.load_from.startswith("https://")


@pytest.mark.parametrize("path", CONFIGS, ids=_id)
def test_prints_and_dumps(path: Path, tmp_path: Path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the guide's, checked above
        assert main(["print-config", str(path)]) == 0
    assert "default_scope = 'mmdet'" in capsys.readouterr().out
    cfg = _read(path)
    out = tmp_path / "dumped.py"
    cfg.dump(out, format="py")
    assert Config.fromfile(out).to_dict() == cfg.to_dict()


@pytest.mark.parametrize("path", CONFIGS, ids=_id)
def test_builds_and_trains_one_iteration(path: Path, tmp_path: Path):
    small = one_iteration_config(_read(path), tmp_path)
    with default_scope("mmdet"):
        MODELS.build(small.model)  # builds on its own, too
    runner = Runner.from_cfg(small)
    try:
        runner.train()
    finally:
        runner.close()
    assert runner.iter == 1
    assert os.path.isfile(tmp_path / "work" / "epoch_1.pth")


def test_cityscapes_config_builds_both_metrics(tmp_path: Path, monkeypatch):
    cfg = _read(MMDET_CONFIGS / "cityscapes" / "mask-rcnn_r50_fpn_1x_cityscapes.py")
    assert [e["type"] for e in cfg.val_evaluator] == ["CocoMetric", "CityScapesMetric"]
    monkeypatch.chdir(tmp_path)  # CityScapesMetric's outfile_prefix is ./work_dirs/...
    assert type(METRICS.build(dict(cfg.val_evaluator[1]))).__name__ == "CityScapesMetric"


def test_mmdet_scope_resolves_to_the_shipped_tree(tmp_path: Path):
    child = tmp_path / "child.py"
    child.write_text(
        "_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'\n"
        "model = dict(roi_head=dict(bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)))\n"
    )
    cfg = Config.fromfile(child)
    assert cfg.default_scope == "mmdet" and cfg.model.type == "MaskRCNN"
    assert cfg.model.roi_head.mask_head.num_classes == 3
    assert cfg.model.roi_head.mask_head.num_convs == 4  # the rest from the base
