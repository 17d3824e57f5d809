"""0.x configs run like their native equivalents: same LR/momentum per iteration, same parameter
groups, same hooks in the same order, same first loss; ``migrate-config`` output trains to the
same weights; the ``('val', m)`` workflow phase logs ``*_val`` losses.

Native forms use MMEngine schedulers where they reproduce the MMCV formula (step; poly and
cosine with a linear warmup and a zero minimum), and the MMCV-policy schedulers where MMEngine
has no equivalent (cyclic lr and momentum).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from segwright.cli.main import main
from segwright.config import Config
from segwright.config.dump import to_python
from segwright.engine.hooks import Hook
from segwright.engine.optim.constructor import build_optim_wrapper
from segwright.engine.runner import Runner
from segwright.registry import OPTIM_WRAPPER_CONSTRUCTORS
from segwright.utils.errors import ConfigError

MAX_ITERS = 6
UPDATERS = ("LrUpdaterHook", "MomentumUpdaterHook")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is faster and immune to a busy machine's thread contention."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def legacy_toy(work_dir, max_iters=MAX_ITERS, **over):
    cfg = dict(
        model=dict(type="ToySegModel", channels=4, num_classes=2),
        data=dict(
            samples_per_gpu=2,
            workers_per_gpu=0,
            train=dict(type="ToySegDataset", num_samples=8, size=(16, 16), random_flip=True),
        ),
        optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=5e-4),
        optimizer_config=dict(),
        lr_config=dict(policy="poly", power=1.0, min_lr=0.0, by_epoch=False),
        runner=dict(type="IterBasedRunner", max_iters=max_iters),
        checkpoint_config=None,
        log_config=dict(interval=1, hooks=[dict(type="TextLoggerHook", by_epoch=False)]),
        seed=0,
        work_dir=str(work_dir),
        device="cpu",
    )
    cfg.update(copy.deepcopy(over))
    return cfg


def native_toy(work_dir, max_iters=MAX_ITERS, **over):
    cfg = dict(
        model=dict(type="ToySegModel", channels=4, num_classes=2),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type="InfiniteSampler", shuffle=True),
            dataset=dict(type="ToySegDataset", num_samples=8, size=(16, 16), random_flip=True),
        ),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=max_iters),
        optim_wrapper=dict(
            type="OptimWrapper", optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=5e-4)
        ),
        param_scheduler=[
            dict(type="PolyLR", eta_min=0.0, power=1.0, begin=0, end=max_iters + 1, by_epoch=False)
        ],
        default_hooks=dict(
            checkpoint=None, logger=dict(type="LoggerHook", interval=1, log_metric_by_epoch=False)
        ),
        randomness=dict(seed=0),
        work_dir=str(work_dir),
        device="cpu",
    )
    cfg.update(copy.deepcopy(over))
    return cfg


POLY = dict(lr_config=dict(policy="poly", power=1.0, min_lr=0.0, by_epoch=False))
CYCLIC_LR = dict(policy="cyclic", target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4)
CYCLIC_MOMENTUM = dict(
    policy="cyclic", target_ratio=(0.85 / 0.95, 1), cyclic_times=1, step_ratio_up=0.4
)
SGD = dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=5e-4)
ADAM = dict(type="Adam", lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4)
HEAD_X10 = dict(custom_keys=dict(head=dict(lr_mult=10.0)))

#: name -> (0.x keys, native keys, native uses MMEngine schedulers)
RECIPES = {
    "poly_linear_warmup": (
        dict(
            lr_config=dict(
                policy="poly",
                warmup="linear",
                warmup_iters=3,
                warmup_ratio=0.1,
                power=1.0,
                min_lr=0.0,
                by_epoch=False,
            )
        ),
        # MMCV's warmup factor 1-(1-i/W)(1-r) is LinearLR over W+1 steps, chained with the poly.
        dict(
            param_scheduler=[
                dict(type="LinearLR", start_factor=0.1, begin=0, end=4, by_epoch=False),
                dict(type="PolyLR", eta_min=0.0, power=1.0, begin=0, end=7, by_epoch=False),
            ]
        ),
        True,
    ),
    "step": (
        dict(lr_config=dict(policy="step", step=[2, 4], gamma=0.5)),
        dict(
            param_scheduler=[dict(type="MultiStepLR", milestones=[2, 4], gamma=0.5, by_epoch=False)]
        ),
        True,
    ),
    "cosine_linear_warmup": (
        dict(
            lr_config=dict(
                policy="CosineAnnealing",
                min_lr=0.0,
                warmup="linear",
                warmup_iters=2,
                warmup_ratio=0.2,
                by_epoch=False,
            )
        ),
        dict(
            param_scheduler=[
                dict(type="LinearLR", start_factor=0.2, begin=0, end=3, by_epoch=False),
                dict(
                    type="CosineAnnealingLR", T_max=6, eta_min=0.0, begin=0, end=6, by_epoch=False
                ),
            ]
        ),
        True,
    ),
    "cyclic_lr_and_momentum": (
        dict(lr_config=CYCLIC_LR, momentum_config=CYCLIC_MOMENTUM),
        # No MMEngine scheduler is MMCV's cyclic policy: the native form uses the MMCV ones.
        dict(
            param_scheduler=[
                dict(
                    type="MMCVCyclicLR",
                    by_epoch=False,
                    target_ratio=(10, 1e-4),
                    cyclic_times=1,
                    step_ratio_up=0.4,
                ),
                dict(
                    type="MMCVCyclicMomentum",
                    by_epoch=False,
                    target_ratio=(0.85 / 0.95, 1),
                    cyclic_times=1,
                    step_ratio_up=0.4,
                ),
            ],
        ),
        False,
    ),
    "grad_clip": (
        dict(POLY, optimizer_config=dict(grad_clip=dict(max_norm=0.05, norm_type=2))),
        dict(
            optim_wrapper=dict(
                type="OptimWrapper", optimizer=SGD, clip_grad=dict(max_norm=0.05, norm_type=2)
            )
        ),
        True,
    ),
    "head_lr_mult_10": (
        dict(POLY, optimizer=dict(SGD, paramwise_cfg=HEAD_X10)),
        dict(optim_wrapper=dict(type="OptimWrapper", optimizer=SGD, paramwise_cfg=HEAD_X10)),
        True,
    ),
    "adam": (
        dict(POLY, optimizer=ADAM),
        dict(optim_wrapper=dict(type="OptimWrapper", optimizer=ADAM)),
        True,
    ),
    "gradient_accumulation": (
        dict(
            POLY,
            optimizer_config=dict(type="GradientCumulativeOptimizerHook", cumulative_iters=4),
        ),
        dict(optim_wrapper=dict(type="OptimWrapper", optimizer=SGD, accumulative_counts=4)),
        True,
    ),
    "fp16_to_amp": (
        dict(POLY, optimizer_config=dict(type="Fp16OptimizerHook", loss_scale=512.0)),
        dict(optim_wrapper=dict(type="AmpOptimWrapper", optimizer=SGD, loss_scale=512.0)),
        True,
    ),
}


class Recorder(Hook):
    """LR/momentum in force at every iteration, the groups, the first loss."""

    priority = "LOWEST"

    def __init__(self) -> None:
        self.lrs: list[list[float]] = []
        self.momenta: list[list[float]] = []
        self.groups: list[tuple] = []
        self.first_loss: float | None = None

    def before_train(self, runner):
        names = {id(p): n for n, p in runner.model.named_parameters()}
        for group in runner.optim_wrapper.optimizer.param_groups:
            self.groups.append(
                (
                    tuple(names[id(p)] for p in group["params"]),
                    group.get("initial_lr", group["lr"]),
                    group.get("weight_decay"),
                    group.get("momentum"),
                    group.get("betas"),
                )
            )

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append([g["lr"] for g in runner.optim_wrapper.optimizer.param_groups])
        self.momenta.append(runner.optim_wrapper.get_momentum()["momentum"])

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.first_loss is None:
            self.first_loss = float(outputs["loss"])


def train(cfg):
    runner = Runner.from_cfg(cfg if isinstance(cfg, Config) else Config(cfg))
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.train()
    runner.close()
    hooks = [type(h).__name__ for h in runner.hooks if h is not recorder]
    weights = {k: v.clone() for k, v in runner.model.state_dict().items()}
    return recorder, hooks, weights


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipe_runs_like_its_native_form(tmp_path, name):
    legacy_keys, native_keys, uses_schedulers = RECIPES[name]
    old, old_hooks, old_weights = train(legacy_toy(tmp_path / "old", **legacy_keys))
    new_cfg = native_toy(tmp_path / "new", **native_keys)
    new_cfg = {k: v for k, v in new_cfg.items() if v is not None}
    new, new_hooks, new_weights = train(new_cfg)

    assert len(old.lrs) == MAX_ITERS
    assert new.groups == old.groups
    assert new.first_loss == old.first_loss
    assert np.allclose(new.momenta, old.momenta, rtol=1e-12, atol=0)
    if uses_schedulers:
        assert np.allclose(new.lrs, old.lrs, rtol=1e-9, atol=0)
        # Same hooks; the 0.x run orders them by MMCV's priorities (issue 16).
        assert sorted(h for h in old_hooks if not h.endswith(UPDATERS)) == sorted(new_hooks)
        for key, value in old_weights.items():
            torch.testing.assert_close(new_weights[key], value, rtol=1e-6, atol=1e-7)
    else:
        assert new.lrs == old.lrs
        assert sorted(new_hooks) == sorted(old_hooks)  # order: MMCV's priorities for 0.x
        for key, value in old_weights.items():
            assert torch.equal(new_weights[key], value), key


def test_recipe_schedules_have_mmcv_values(tmp_path):
    """The recorded 0.x values are MMCV's formulas (warmup multiplies the decayed lr)."""
    old, _, _ = train(legacy_toy(tmp_path, **RECIPES["poly_linear_warmup"][0]))
    expected = []
    for i in range(MAX_ITERS):
        regular = 0.1 * (1 - i / MAX_ITERS)
        expected.append(regular * (1 - (1 - i / 3) * 0.9) if i < 3 else regular)
    assert [lr[0] for lr in old.lrs] == pytest.approx(expected, rel=1e-12)
    old, _, _ = train(legacy_toy(tmp_path / "c", **RECIPES["cyclic_lr_and_momentum"][0]))
    assert old.lrs[0][0] == pytest.approx(0.1) and old.momenta[0][0] == pytest.approx(0.9)
    assert max(lr[0] for lr in old.lrs) > 0.1 and min(m[0] for m in old.momenta) < 0.9
    head, _, _ = train(legacy_toy(tmp_path / "h", **RECIPES["head_lr_mult_10"][0]))
    lrs = {names[0]: lr for names, lr, *_ in head.groups}
    assert lrs["decode_head.weight"] == pytest.approx(1.0) and lrs["backbone.0.weight"] == 0.1


# -- migrate-config --------------------------------------------------------------------------------


def migrate(tmp_path, cfg, name="old"):
    old = tmp_path / f"{name}.py"
    old.write_text(to_python(cfg))
    new = tmp_path / f"{name}_new.py"
    assert main(["migrate-config", str(old), "-o", str(new)]) == 0
    return old, new


@pytest.mark.parametrize("name", list(RECIPES))
def test_migrated_config_trains_identically(tmp_path, name):
    cfg = legacy_toy(tmp_path / "run_old", max_iters=3, **RECIPES[name][0])
    old, new = migrate(tmp_path, cfg)
    migrated = Config.fromfile(new)
    assert "optim_wrapper" in migrated and "optimizer" not in migrated
    migrated.work_dir = str(tmp_path / "run_new")
    _, old_hooks, old_weights = train(Config.fromfile(old))
    _, new_hooks, new_weights = train(migrated)
    assert new_hooks == old_hooks
    for key, value in old_weights.items():
        assert torch.equal(new_weights[key], value), key


# -- a real 0.x config: files on disk, EncoderDecoder, MMSeg pipelines ----------------------------

NORM = dict(type="SyncBN", requires_grad=True)
IMG_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)


def head(in_channels, in_index, weight):
    return dict(
        type="FCNHead",
        in_channels=in_channels,
        in_index=in_index,
        channels=4,
        num_convs=1,
        concat_input=False,
        num_classes=3,
        norm_cfg=NORM,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=weight),
    )


def real_legacy(data_root, work_dir, max_iters=2):
    crop = (24, 24)
    train_pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="LoadAnnotations"),
        dict(type="Resize", img_scale=(48, 32), ratio_range=(0.5, 2.0)),
        dict(type="RandomCrop", crop_size=crop, cat_max_ratio=0.75),
        dict(type="RandomFlip", prob=0.5),
        dict(type="PhotoMetricDistortion"),
        dict(type="Normalize", **IMG_NORM),
        dict(type="Pad", size=crop, pad_val=0, seg_pad_val=255),
        dict(type="DefaultFormatBundle"),
        dict(type="Collect", keys=["img", "gt_semantic_seg"]),
    ]
    test_pipeline = [
        dict(type="LoadImageFromFile"),
        dict(
            type="MultiScaleFlipAug",
            img_scale=(48, 32),
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
    common = dict(
        type="CustomDataset",
        data_root=str(data_root),
        img_dir="img",
        ann_dir="ann",
        img_suffix=".png",
        seg_map_suffix=".png",
        classes=("a", "b", "c"),
        palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]],
    )
    return dict(
        norm_cfg=NORM,
        model=dict(
            type="EncoderDecoder",
            pretrained=None,
            backbone=dict(
                type="ResNetV1c",
                depth=18,
                stem_channels=8,
                base_channels=4,
                strides=(1, 2, 1, 1),
                dilations=(1, 1, 2, 4),
                contract_dilation=True,
                norm_cfg=NORM,
            ),
            decode_head=head(32, 3, 1.0),
            auxiliary_head=head(16, 2, 0.4),
        ),
        train_cfg=dict(),
        test_cfg=dict(mode="whole"),
        img_norm_cfg=IMG_NORM,
        data=dict(
            samples_per_gpu=2,
            workers_per_gpu=0,
            train=dict(common, pipeline=train_pipeline),
            val=dict(common, pipeline=test_pipeline),
            test=dict(common, pipeline=test_pipeline),
        ),
        optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0005),
        optimizer_config=dict(),
        lr_config=dict(policy="poly", power=0.9, min_lr=1e-4, by_epoch=False),
        runner=dict(type="IterBasedRunner", max_iters=max_iters),
        checkpoint_config=dict(by_epoch=False, interval=max_iters),
        evaluation=dict(interval=max_iters, metric="mIoU", pre_eval=True),
        log_config=dict(interval=1, hooks=[dict(type="TextLoggerHook", by_epoch=False)]),
        dist_params=dict(backend="nccl"),
        log_level="INFO",
        load_from=None,
        resume_from=None,
        workflow=[("train", 1)],
        cudnn_benchmark=False,
        seed=0,
        work_dir=str(work_dir),
        device="cpu",
    )


@pytest.fixture
def disk_data(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    for folder in ("img", "ann"):
        (tmp_path / "data" / folder).mkdir(parents=True)
    for index in range(4):
        image = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
        labels = rng.integers(0, 3, (30, 40), dtype=np.uint8)
        cv2.imwrite(str(tmp_path / "data" / "img" / f"{index}.png"), image)
        cv2.imwrite(str(tmp_path / "data" / "ann" / f"{index}.png"), labels)
    return tmp_path / "data"


@pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")
def test_real_legacy_config_trains_validates_and_migrates(tmp_path, disk_data, capsys):
    cfg = real_legacy(disk_data, tmp_path / "old", max_iters=2)
    old, new = migrate(tmp_path, cfg)
    runner = Runner.from_cfg(Config.fromfile(old))
    assert "MMSeg 0.x config translated" in capsys.readouterr().out
    runner.train()
    metrics = runner.test()
    runner.close()
    assert set(metrics) == {"aAcc", "mIoU", "mAcc"} and 0 <= metrics["mIoU"] <= 100
    assert (tmp_path / "old" / "iter_2.pth").is_file()
    log = (runner.log_dir / f"{runner.timestamp}.log").read_text()
    assert "Iter(val) [2]" in log and "aux.loss_ce" in log
    migrated = Config.fromfile(new)
    assert migrated.model.data_preprocessor["size"] == (24, 24)
    migrated.work_dir = str(tmp_path / "new")
    again = Runner.from_cfg(migrated)
    again.train()
    again.close()
    for key, value in runner.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[key], value), key


# -- the ('val', m) workflow phase -----------------------------------------------------------------


def with_val_workflow(work_dir, workflow, **over):
    cfg = legacy_toy(work_dir, **over)
    cfg["data"]["val"] = dict(type="ToySegDataset", num_samples=4, size=(16, 16), seed=1)
    cfg["evaluation"] = dict(interval=100)
    if workflow:
        cfg["workflow"] = workflow
    return cfg


def test_train_val_workflow_logs_val_losses_without_changing_training(tmp_path):
    runner = Runner.from_cfg(Config(with_val_workflow(tmp_path / "wf", [("train", 2), ("val", 1)])))
    runner.train()
    runner.close()
    log = (runner.log_dir / f"{runner.timestamp}.log").read_text()
    assert "loss_val:" in log and "decode.loss_ce_val:" in log and "decode.acc_seg_val:" in log
    records = [
        json.loads(line)
        for line in (runner.log_dir / "vis_data" / "scalars.json").read_text().splitlines()
    ]
    # Phases after iterations 2, 4 and 6, each logged once (issue 16: no stale repeats).
    assert [r["step"] for r in records if "loss_val" in r] == [2, 4, 6]
    assert runner.hooks[-1].__class__.__name__ == "WorkflowValLossHook"
    _, _, plain = train(with_val_workflow(tmp_path / "plain", None))
    for key, value in plain.items():
        assert torch.equal(runner.model.state_dict()[key], value), key


def test_epoch_workflow_runs_validation_epochs(tmp_path):
    cfg = with_val_workflow(
        tmp_path,
        [("train", 1), ("val", 1)],
        runner=dict(type="EpochBasedRunner", max_epochs=2),
        lr_config=None,
    )
    runner = Runner.from_cfg(Config(cfg))
    calls = []
    hook = next(h for h in runner.hooks if type(h).__name__ == "WorkflowValLossHook")
    original = hook._run_phase
    hook._run_phase = lambda r, count, per_epoch: (
        calls.append(r.epoch) or original(r, count, per_epoch)
    )
    runner.train()
    runner.close()
    assert calls == [0, 1]
    log = (runner.log_dir / f"{runner.timestamp}.log").read_text()
    assert log.count("Epoch(val-loss)") == 2 and "decode.loss_ce_val" in log


def test_workflow_hook_arguments():
    from segwright.engine.hooks import WorkflowValLossHook

    with pytest.raises(ConfigError, match="exactly one of iters"):
        WorkflowValLossHook(dataloader={}, iters=1, epochs=1)
    with pytest.raises(ConfigError, match="exactly one of iters"):
        WorkflowValLossHook(dataloader={})
    with pytest.raises(ConfigError, match="interval must be a positive int"):
        WorkflowValLossHook(dataloader={}, interval=0, iters=1)


# -- MMCV-style optimizer constructors --------------------------------------------------------------


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class LegacyTestDoubleLrConstructor:
    """An MMSeg 0.x custom constructor: returns a torch optimizer with twice the lr."""

    def __init__(self, optimizer_cfg, paramwise_cfg=None):
        self.optimizer_cfg = dict(optimizer_cfg)
        self.paramwise_cfg = paramwise_cfg

    def __call__(self, model):
        return torch.optim.SGD(model.parameters(), lr=self.optimizer_cfg["lr"] * 2)


def test_mmcv_style_constructor_is_wrapped(tmp_path):
    model = torch.nn.Linear(2, 2)
    wrapper = build_optim_wrapper(
        model,
        dict(
            type="OptimWrapper",
            optimizer=dict(type="SGD", lr=0.1),
            constructor="LegacyTestDoubleLrConstructor",
            clip_grad=dict(max_norm=1.0),
        ),
    )
    assert wrapper.optimizer.param_groups[0]["lr"] == 0.2
    assert wrapper.clip_grad_kwargs == dict(max_norm=1.0)
    cfg = legacy_toy(
        tmp_path, optimizer=dict(type="SGD", lr=0.1, constructor="LegacyTestDoubleLrConstructor")
    )
    old, _, _ = train(cfg)
    assert old.groups[0][1] == pytest.approx(0.2)


def test_runner_refuses_optimizer_config_none(tmp_path):
    with pytest.raises(ConfigError, match="never calls backward"):
        Runner.from_cfg(Config(legacy_toy(tmp_path, optimizer_config=None)))


def test_print_config_shows_the_file_as_written(tmp_path):
    path = tmp_path / "old.py"
    path.write_text(to_python(legacy_toy(tmp_path)))
    cfg = Config.fromfile(path)
    assert "lr_config" in cfg and "optim_wrapper" not in cfg
    assert Path(cfg.filename) == path.resolve()
