"""Fine-tuning a detector from a checkpoint of another dataset (MMDetection's fine-tuning guide).

An 80-class tiny Mask R-CNN checkpoint is loaded (``load_from``) into an 8-class model: the load
table names exactly the six class-dependent tensors with both shapes, the rest loads, training
starts. Around it: a ``Pretrained`` backbone init that ``load_from`` covers is skipped (offline),
a caffe-style checkpoint loaded into a pytorch-style model is flagged, and a checkpoint's class
names never replace the dataset's silently.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from segwright.apis import init_model
from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.registry import MODELS
from segwright.testing.tiny_detector import TINY_COCO_CLASSES, tiny_mask_rcnn_cfg, write_tiny_coco
from segwright.utils.errors import CheckpointError

HEAD_TENSORS = {
    "roi_head.bbox_head.fc_cls.weight": ((81, 32), (9, 32)),
    "roi_head.bbox_head.fc_cls.bias": ((81,), (9,)),
    "roi_head.bbox_head.fc_reg.weight": ((320, 32), (32, 32)),
    "roi_head.bbox_head.fc_reg.bias": ((320,), (32,)),
    "roi_head.mask_head.conv_logits.weight": ((80, 16, 1, 1), (8, 16, 1, 1)),
    "roi_head.mask_head.conv_logits.bias": ((80,), (8,)),
}


class Records(logging.Handler):
    """The ``segwright`` logger's records (it does not propagate, so caplog sees nothing)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(r.getMessage() for r in self.records)

    def clear(self) -> None:
        self.records.clear()


@pytest.fixture
def caplog():
    """Like pytest's caplog, for the ``segwright`` logger."""
    logger = logging.getLogger("segwright")
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_coco")
    write_tiny_coco(root, num_images=2, size=(64, 96))
    return root


def save_coco_checkpoint(path: Path, meta: dict | None = None, num_classes: int = 80) -> dict:
    """An MMDet-layout checkpoint of the tiny Mask R-CNN with ``num_classes``; its state dict."""
    torch.manual_seed(1)
    model = MODELS.build(tiny_mask_rcnn_cfg(num_classes=num_classes))
    model.init_weights()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.save(dict(state_dict=state, meta=dict(meta or {})), path)
    return state


def runner_cfg(root: Path, work: Path, load_from: str | None, **model_changes) -> Config:
    model = tiny_mask_rcnn_cfg(num_classes=len(TINY_COCO_CLASSES))
    for key, value in model_changes.items():
        model[key].update(value)
    pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="LoadAnnotations", with_bbox=True, with_mask=True),
        dict(type="PackDetInputs"),
    ]
    return Config(
        dict(
            default_scope="mmdet",
            model=model,
            train_dataloader=dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type="DefaultSampler", shuffle=False),
                dataset=dict(
                    type="CocoDataset", data_root=str(root), ann_file="ann.json",
                    metainfo=dict(classes=TINY_COCO_CLASSES), data_prefix=dict(img="images/"),
                    pipeline=pipeline,
                ),
            ),
            train_cfg=dict(type="IterBasedTrainLoop", max_iters=1),
            optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.001)),
            default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", interval=1)),
            load_from=load_from,
            randomness=dict(seed=0),
            work_dir=str(work),
            device="cpu",
        )
    )  # fmt: skip


def train(cfg: Config, caplog) -> tuple[Runner, str]:
    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
    finally:
        runner.close()
    return runner, caplog.text


COCO80 = tuple(f"coco_class_{i}" for i in range(80))


def load_table(log: str) -> dict[str, tuple[str, str]]:
    """``key -> (checkpoint shape, model shape)`` of the rows of the logged load table."""
    rows = {}
    for line in log.splitlines():
        cells = [cell.strip() for cell in line.split("  ") if cell.strip()]
        if line.endswith(("kept initial value", "ignored")) and len(cells) == 4:
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_an_80_class_checkpoint_fine_tunes_an_8_class_model(data_root, tmp_path, caplog):
    checkpoint = tmp_path / "coco80.pth"
    state = save_coco_checkpoint(checkpoint, meta=dict(dataset_meta=dict(classes=COCO80)))
    runner, log = train(runner_cfg(data_root, tmp_path / "work", str(checkpoint)), caplog)

    expected = {k: (str(c), str(m)) for k, (c, m) in HEAD_TENSORS.items()}
    assert load_table(log) == expected
    total = len([k for k in state if not k.endswith("num_batches_tracked")])
    assert f"{len(state) - 6} keys loaded, 6 with another shape, 0 missing, 0 unexpected" in log
    assert total > 100
    assert "Iter(train) [1/1]" in log  # training started
    model = runner._raw_model.state_dict()
    for key in ("backbone.conv1.weight", "backbone.layer1.0.conv1.weight"):  # frozen: as loaded
        torch.testing.assert_close(model[key], state[key], rtol=0, atol=0)
    # The checkpoint's 80 names are said, not used: the dataset's 8 stay.
    assert "stores class names that differ from the data's: it has 80 (coco_class_0" in log
    assert "train_dataloader.dataset has 8 (person, rider, car" in log
    assert "caffe-style" not in log


def test_a_pretrained_backbone_init_covered_by_load_from_is_skipped(data_root, tmp_path, caplog):
    checkpoint = tmp_path / "coco80.pth"
    save_coco_checkpoint(checkpoint)
    init_cfg = dict(init_cfg=dict(type="Pretrained", checkpoint="torchvision://resnet50"))
    cfg = runner_cfg(data_root, tmp_path / "work", str(checkpoint), backbone=init_cfg)
    runner, log = train(cfg, caplog)  # offline: fetching torchvision://resnet50 would fail

    skipped = [line for line in log.splitlines() if "Skipped model.backbone.init_cfg" in line]
    assert len(skipped) == 1
    assert "checkpoint='torchvision://resnet50'): coco80.pth holds all" in skipped[0]
    assert "Iter(train) [1/1]" in log
    assert runner._raw_model.backbone.init_cfg == init_cfg["init_cfg"]  # config left as given


def test_a_pretrained_init_not_covered_by_load_from_still_runs(data_root, tmp_path, caplog):
    checkpoint = tmp_path / "heads_only.pth"
    state = save_coco_checkpoint(checkpoint)
    heads = {k: v for k, v in state.items() if not k.startswith("backbone.")}
    torch.save(dict(state_dict=heads), checkpoint)
    init_cfg = dict(init_cfg=dict(type="Pretrained", checkpoint="torchvision://resnet50"))
    cfg = runner_cfg(data_root, tmp_path / "work", str(checkpoint), backbone=init_cfg)
    with pytest.raises(CheckpointError, match="torchvision://resnet50"):
        train(cfg, caplog)
    assert "Skipped" not in caplog.text


def _load_into_runner(data_root, tmp_path, caplog, checkpoint, **model_changes) -> str:
    runner = Runner.from_cfg(runner_cfg(data_root, tmp_path / "work", None, **model_changes))
    try:
        runner.load_checkpoint(checkpoint)
    finally:
        runner.close()
    return caplog.text


CAFFE_SETTINGS = dict(
    backbone=dict(style="caffe"),
    data_preprocessor=dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
)


def test_a_caffe_named_checkpoint_in_a_pytorch_style_model_warns(data_root, tmp_path, caplog):
    checkpoint = tmp_path / "mask_rcnn_r50_caffe_fpn_mstrain-poly_3x_coco_tiny.pth"
    save_coco_checkpoint(checkpoint, num_classes=8)
    log = _load_into_runner(data_root, tmp_path, caplog, checkpoint)
    warning = [r.getMessage() for r in caplog.records if "caffe-style" in r.getMessage()]
    assert len(warning) == 1 and caplog.records[-1].levelname == "WARNING"
    assert "its file name mask_rcnn_r50_caffe_fpn_mstrain-poly_3x_coco_tiny.pth says caffe" in log
    assert "model.backbone.style='pytorch'" in log
    assert "mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]" in log
    assert "set model.backbone.style='caffe' and model.data_preprocessor=dict(mean=" in log


def test_caffe_meta_is_detected_and_a_caffe_model_is_not_warned(data_root, tmp_path, caplog):
    checkpoint = tmp_path / "detector.pth"
    config_text = (
        "model = dict(backbone=dict(type='ResNet', depth=50, style='caffe'), data_preprocessor="
        "dict(type='DetDataPreprocessor', mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0]))"
    )
    save_coco_checkpoint(checkpoint, meta=dict(config=config_text), num_classes=8)
    log = _load_into_runner(data_root, tmp_path, caplog, checkpoint)
    assert "its stored config sets style='caffe'" in log
    assert "caffe's mean [103.53, 116.28, 123.675]" in log

    caplog.clear()
    log = _load_into_runner(data_root, tmp_path, caplog, checkpoint, **CAFFE_SETTINGS)
    assert "caffe-style" not in log

    caplog.clear()
    plain = tmp_path / "plain.pth"
    save_coco_checkpoint(plain, num_classes=8)
    assert "caffe-style" not in _load_into_runner(data_root, tmp_path, caplog, plain)


def test_checkpoint_class_names_never_replace_the_datasets_silently(data_root, tmp_path, caplog):
    renamed = tuple(reversed(TINY_COCO_CLASSES))
    checkpoint = tmp_path / "cityscapes8.pth"
    save_coco_checkpoint(checkpoint, meta=dict(dataset_meta=dict(classes=renamed)), num_classes=8)
    runner, log = train(runner_cfg(data_root, tmp_path / "work", str(checkpoint)), caplog)
    record = next(r for r in caplog.records if "stores class names" in r.getMessage())
    assert record.levelname == "WARNING"  # same count, other names: the heads loaded
    assert "it has 8 (bicycle, motorcycle, train" in record.getMessage()
    assert "train_dataloader.dataset has 8 (person, rider" in record.getMessage()
    assert "reorder metainfo.classes" in record.getMessage()
    dataset = runner.train_loop.dataloader.dataset
    assert tuple(dataset.metainfo["classes"]) == TINY_COCO_CLASSES


@pytest.mark.parametrize("layout", ["dataset_meta", "CLASSES"])
def test_init_model_says_when_checkpoint_classes_differ(tmp_path, caplog, layout):
    renamed = tuple(reversed(TINY_COCO_CLASSES))
    meta = dict(dataset_meta=dict(classes=renamed)) if layout == "dataset_meta" else {}
    if layout == "CLASSES":
        meta["CLASSES"] = renamed  # MMDetection 2.x
    checkpoint = tmp_path / "cityscapes8.pth"
    save_coco_checkpoint(checkpoint, meta=meta, num_classes=8)
    cfg = Config(
        dict(
            model=tiny_mask_rcnn_cfg(num_classes=8),
            test_dataloader=dict(
                dataset=dict(type="CocoDataset", metainfo=dict(classes=TINY_COCO_CLASSES))
            ),
        )
    )
    model = init_model(cfg, str(checkpoint))
    assert tuple(model.dataset_meta["classes"]) == TINY_COCO_CLASSES
    assert "the config's test dataset has 8 (person" in caplog.text
    assert "Using the config's" in caplog.text


def test_init_model_keeps_checkpoint_classes_that_agree(tmp_path, caplog):
    checkpoint = tmp_path / "mask_rcnn_r50_caffe_fpn_tiny.pth"
    meta = dict(dataset_meta=dict(classes=TINY_COCO_CLASSES, palette=[[1, 2, 3]] * 8))
    save_coco_checkpoint(checkpoint, meta=meta, num_classes=8)
    cfg = Config(dict(model=tiny_mask_rcnn_cfg(num_classes=8)))
    model = init_model(cfg, str(checkpoint))
    assert model.dataset_meta["palette"] == [[1, 2, 3]] * 8
    assert "stores class names" not in caplog.text
    assert "is caffe-style (its file name mask_rcnn_r50_caffe_fpn_tiny.pth says caffe)" in (
        caplog.text
    )
