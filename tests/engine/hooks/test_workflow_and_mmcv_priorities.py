"""MMSeg 0.x runs as MMCV ran them: the ('val', m) workflow phase and the hooks' priorities.

MMCV 1.x's ``EpochBasedRunner.val`` calls ``before_val_epoch``, then ``before_val_iter`` /
``after_val_iter`` around each batch, then ``after_val_epoch``; ``IterBasedRunner.val`` calls
only ``before_val_iter`` / ``after_val_iter``. MMCV registered CheckpointHook at NORMAL, the
timer at LOW and the logger hooks at VERY_LOW, custom hooks at NORMAL unless told otherwise.
"""

from __future__ import annotations

import json

import pytest
import torch

from segwright.config import Config
from segwright.engine.hooks import Hook
from segwright.engine.runner import Runner
from segwright.registry import HOOKS


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def legacy_cfg(work_dir, runner, **over):
    cfg = dict(
        model=dict(type="ToySegModel", channels=4, num_classes=2),
        data=dict(
            samples_per_gpu=2,
            workers_per_gpu=0,
            train=dict(type="ToySegDataset", num_samples=8, size=(16, 16)),
            val=dict(type="ToySegDataset", num_samples=4, size=(16, 16), seed=1),
        ),
        optimizer=dict(type="SGD", lr=0.01, momentum=0.9),
        optimizer_config=dict(),
        lr_config=None,
        runner=runner,
        evaluation=dict(interval=100),
        checkpoint_config=None,
        log_config=dict(interval=1, hooks=[dict(type="TextLoggerHook")]),
        seed=0,
        work_dir=str(work_dir),
        device="cpu",
    )
    cfg.update(over)
    return cfg


class ValStages(Hook):
    """Records every val stage: (stage, iter, epoch, batch_idx, payload)."""

    def __init__(self):
        self.events = []

    def _record(self, runner, stage, batch_idx=None, payload=None):
        self.events.append((stage, runner.iter, runner.epoch, batch_idx, payload))

    def before_val_epoch(self, runner):
        self._record(runner, "before_val_epoch")

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        self._record(runner, "before_val_iter", batch_idx)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._record(runner, "after_val_iter", batch_idx, outputs)

    def after_val_epoch(self, runner, metrics=None):
        self._record(runner, "after_val_epoch", payload=metrics)


def run(cfg, hook):
    runner = Runner.from_cfg(Config(cfg))
    runner.register_hook(hook, priority="LOW")
    runner.train()
    runner.close()
    log = (runner.log_dir / f"{runner.timestamp}.log").read_text()
    scalars = (runner.log_dir / "vis_data" / "scalars.json").read_text().splitlines()
    return runner, log, [json.loads(line) for line in scalars]


def test_iteration_workflow_calls_the_val_iteration_stages_and_logs_every_phase(tmp_path):
    cfg = legacy_cfg(
        tmp_path,
        dict(type="IterBasedRunner", max_iters=5),
        workflow=[("train", 2), ("val", 1)],
    )
    hook = ValStages()
    runner, log, records = run(cfg, hook)
    # Phases after iterations 2, 4 and 5 (the last, shorter train phase is followed by one).
    # The validation loop proper runs after iteration 5 (runner.iter == 5): left out here.
    phase = [e for e in hook.events if e[1] < 5]
    stages = [(stage, it, batch_idx) for stage, it, _, batch_idx, _ in phase]
    assert stages == [
        (stage, it, 0) for it in (1, 3, 4) for stage in ("before_val_iter", "after_val_iter")
    ]
    outputs = [e[4] for e in phase if e[0] == "after_val_iter"]
    assert all({"loss_val", "decode.loss_ce_val"} <= set(o) for o in outputs)
    # Each phase is logged once, the last one too; no train line repeats the values.
    for it in (2, 4, 5):
        assert f"Iter(val-loss) [{it}/5]" in log
    train_lines = [line for line in log.splitlines() if "Iter(train)" in line]
    assert len(train_lines) == 5 and not any("_val" in line for line in train_lines)
    assert [r["step"] for r in records if "loss_val" in r] == [2, 4, 5]
    phase_records = [r for r in records if "loss_val" in r]
    assert [r["loss_val"] for r in phase_records] == [round(o["loss_val"], 6) for o in outputs]
    # Built-ins that serve the validation loop do not see the phase.
    assert not any("_val" in key for key in runner.log_store.scalars)


def test_epoch_workflow_calls_the_val_epoch_stages_in_mmcv_order(tmp_path):
    cfg = legacy_cfg(
        tmp_path,
        dict(type="EpochBasedRunner", max_epochs=2),
        workflow=[("train", 1), ("val", 1)],
    )
    hook = ValStages()
    _, log, records = run(cfg, hook)
    phase = [e for e in hook.events if e[2] < 2]  # the validation loop runs at epoch 2
    per_epoch = [
        ("before_val_epoch", None),
        ("before_val_iter", 0),
        ("after_val_iter", 0),
        ("before_val_iter", 1),
        ("after_val_iter", 1),
        ("after_val_epoch", None),
    ]
    assert [(e[0], e[2], e[3]) for e in phase] == [
        (stage, epoch, idx) for epoch in (0, 1) for stage, idx in per_epoch
    ]
    # after_val_epoch gets the epoch's means (two batches of two images each).
    for start in (0, 6):
        first, second, metrics = phase[start + 2][4], phase[start + 4][4], phase[start + 5][4]
        assert set(metrics) == set(first)
        for key, value in metrics.items():
            assert value == pytest.approx((first[key] + second[key]) / 2, rel=1e-6)
    assert log.count("Epoch(val-loss)") == 2
    assert not any("_val" in line for line in log.splitlines() if "Epoch(train)" in line)
    assert len([r for r in records if "loss_val" in r]) == 2


@HOOKS.register_module(force=True)
class CheckpointLogProbe(Hook):
    """After each iteration: was its checkpoint saved yet, was its log line written yet?"""

    def __init__(self):
        self.seen = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        n = runner.iter + 1
        saved = (runner.work_dir / f"iter_{n}.pth").is_file()
        log = (runner.log_dir / f"{runner.timestamp}.log").read_text()
        self.seen.append((n, saved, f"Iter(train) [{n}/" in log))


@HOOKS.register_module(force=True)
class PlainProbe(Hook):
    pass


def test_0x_hooks_keep_mmcv_priorities(tmp_path):
    cfg = legacy_cfg(
        tmp_path,
        dict(type="IterBasedRunner", max_iters=2),
        checkpoint_config=dict(interval=1, by_epoch=False),
        lr_config=dict(policy="poly", power=0.9, min_lr=1e-4, by_epoch=False),
        custom_hooks=[dict(type="CheckpointLogProbe", priority="LOW"), dict(type="PlainProbe")],
    )
    runner = Runner.from_cfg(Config(cfg))
    assert [(type(h).__name__, h.priority) for h in runner.hooks] == [
        ("RuntimeInfoHook", 10),
        ("ParamSchedulerHook", 10),  # MMCV's LrUpdaterHook: VERY_HIGH
        ("SegPreflightHook", 10),  # segwright's pre-flight checks (default_hooks.preflight)
        ("DistSamplerSeedHook", 50),
        ("CheckpointHook", 50),  # NORMAL
        ("PlainProbe", 50),  # custom hooks: NORMAL unless they say otherwise
        ("IterTimerHook", 70),  # LOW
        ("CheckpointLogProbe", 70),
        ("LoggerHook", 90),  # VERY_LOW
    ]
    runner.train()
    runner.close()
    probe = next(h for h in runner.hooks if isinstance(h, CheckpointLogProbe))
    # A LOW hook runs after the checkpoint is saved and before the iteration is logged.
    assert probe.seen == [(1, True, False), (2, True, False)]


def test_1x_configs_keep_mmengine_priorities(tmp_path):
    from segwright.testing import toy_config

    cfg = toy_config(tmp_path, custom_hooks=[dict(type="CheckpointLogProbe", priority="LOW")])
    runner = Runner.from_cfg(Config(cfg))
    names = [type(h).__name__ for h in runner.hooks]
    assert names.index("LoggerHook") < names.index("CheckpointLogProbe")
    assert names.index("CheckpointLogProbe") < names.index("CheckpointHook")
    runner.close()


def test_default_hook_priorities_key():
    from segwright.engine.priority import with_priorities
    from segwright.engine.runner import DEFAULT_HOOKS
    from segwright.utils.errors import ConfigError

    cfg = dict(
        default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", priority=5)),
        default_hook_priorities=dict(checkpoint="NORMAL", logger="VERY_LOW", timer="LOW"),
    )
    assert with_priorities(cfg, DEFAULT_HOOKS) == dict(
        checkpoint=None,  # removed stays removed
        logger=dict(type="LoggerHook", priority=5),  # the hook's own priority wins
        timer=dict(type="IterTimerHook", priority="LOW"),
    )
    assert with_priorities(dict(default_hooks=None), DEFAULT_HOOKS) is None
    with pytest.raises(ConfigError, match="default_hook_priorities must be a dict"):
        with_priorities(dict(default_hook_priorities=["LOW"]), DEFAULT_HOOKS)
