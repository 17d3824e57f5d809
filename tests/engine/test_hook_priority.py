"""Hook priorities: names or ints, lower first, equal priorities keep registration order."""

from __future__ import annotations

import pytest

from segwright.config import Config
from segwright.engine.hooks import Hook
from segwright.engine.priority import Priority, get_priority
from segwright.engine.runner import Runner
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
    assert names[1:6] == ["IterTimerHook", "DistSamplerSeedHook", "A", "B", "LoggerHook"]
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
