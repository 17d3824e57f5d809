"""Hook priorities: names or ints, lower first, equal priorities keep registration order."""

from __future__ import annotations

import pytest

from segwright.config import Config
from segwright.engine.hooks import Hook
from segwright.engine.priority import Priority, get_priority
from segwright.engine.runner import DEFAULT_HOOKS, Runner
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError


def test_priority_values_match_mmengine():
    assert [p.value for p in Priority] == [0, 10, 30, 40, 50, 60, 70, 90, 100]
    assert (
        get_priority("very_low") == 90
        and get_priority(Priority.HIGH) == 30
        and get_priority(5) == 5
    )
    for bad in (101, -1, "MEDIUM", 1.5, True):
        with pytest.raises(ConfigError):
            get_priority(bad)


def test_default_hook_order_and_stable_insertion(tmp_path):
    runner = Runner.from_cfg(Config(toy_config(tmp_path)))
    names = [type(h).__name__ for h in runner.hooks]
    assert names == [
        "RuntimeInfoHook",
        "SegPreflightHook",  # default_hooks.preflight, added by segwright.task_hooks
        "IterTimerHook",
        "DistSamplerSeedHook",
        "LoggerHook",
        "ParamSchedulerHook",
        "CheckpointHook",
    ]

    class A(Hook):
        pass

    class B(Hook):
        pass

    runner.register_hook(A(), priority="NORMAL")
    runner.register_hook(B(), priority=50)
    names = [type(h).__name__ for h in runner.hooks]
    # Equal priority: defaults first, then A, then B (registration order), before BELOW_NORMAL.
    assert names[2:7] == ["IterTimerHook", "DistSamplerSeedHook", "A", "B", "LoggerHook"]
    runner.close()


def test_default_hooks_none_removes_a_default(tmp_path):
    cfg = toy_config(tmp_path)
    cfg["default_hooks"] = dict(checkpoint=None, sampler_seed=None)
    runner = Runner.from_cfg(Config(cfg))
    names = [type(h).__name__ for h in runner.hooks]
    assert "CheckpointHook" not in names and "DistSamplerSeedHook" not in names
    runner.close()


def test_unknown_hook_type_names_the_config_key(tmp_path):
    cfg = toy_config(tmp_path, custom_hooks=[dict(type="EMAHok")])
    with pytest.raises(ConfigError, match=r"custom_hooks\[0\]"):
        Runner.from_cfg(Config(cfg))


def test_call_hook_skips_inherited_no_ops_and_sees_late_hooks(tmp_path):
    from segwright.engine.hooks.hook import implements

    class Counts(Hook):
        def __init__(self):
            self.calls = []

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            self.calls.append(runner.iter)

    class Plain(Hook):
        pass

    first, late = Counts(), Counts()
    assert implements(first, "after_train_iter") and not implements(first, "before_train_iter")
    assert not implements(Plain(), "after_train_iter") and not implements(object(), "before_run")
    cfg = toy_config(tmp_path)
    cfg["default_hooks"] = {name: None for name in DEFAULT_HOOKS}  # called outside a run here
    runner = Runner.from_cfg(Config(cfg))
    runner.register_hook(first)
    runner.call_hook("after_train_iter", batch_idx=0, data_batch=None, outputs=None)
    runner.register_hook(late)  # registering after a call drops the cached dispatch list
    runner.call_hook("after_train_iter", batch_idx=1, data_batch=None, outputs=None)
    assert first.calls == [0, 0] and late.calls == [0]
    runner.close()


def test_model_back_in_train_mode_before_before_train_iter(tmp_path):
    """MMEngine's order: model.train() first, so a hook may freeze a part for the iteration."""
    seen = []

    class FreezeBackbone(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen.append(runner.model.training)  # validation left it in eval mode; back now
            runner.model.backbone.eval()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            seen.append(runner.model.backbone.training)

    cfg = toy_config(tmp_path, max_iters=4, val_interval=2)
    runner = Runner.from_cfg(Config(cfg))
    runner.register_hook(FreezeBackbone())
    runner.train()
    assert seen == [True, False] * 4
    runner.close()
