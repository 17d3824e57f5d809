"""``auto_scale_lr`` (MMEngine's semantics): lr x world_size * batch_size / base_batch_size."""

from __future__ import annotations

import pytest
import torch

from segwright.engine.optim.auto_scale_lr import scale_lr
from segwright.engine.runner import Runner
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError


def _optimizer(lr: float = 0.02) -> torch.optim.Optimizer:
    weights = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))]
    return torch.optim.SGD([dict(params=weights[:1]), dict(params=weights[1:], lr=lr * 10)], lr=lr)


def test_enabled_scales_every_group_by_the_real_batch():
    optimizer = _optimizer()
    factor = scale_lr(optimizer, dict(enable=True, base_batch_size=16), 2, 4)
    assert factor == 0.5
    assert [g["lr"] for g in optimizer.param_groups] == [0.01, pytest.approx(0.1)]


@pytest.mark.parametrize("setting", [None, dict(enable=False, base_batch_size=16), dict()])
def test_disabled_or_missing_changes_nothing(setting):
    optimizer = _optimizer()
    assert scale_lr(optimizer, setting, 2, 1) is None
    assert [g["lr"] for g in optimizer.param_groups] == [0.02, pytest.approx(0.2)]


@pytest.mark.parametrize(
    "setting", [dict(enable=True), dict(enable=True, base_batch_size=0), "yes"]
)
def test_bad_settings_say_what_is_expected(setting):
    with pytest.raises(ConfigError, match="auto_scale_lr"):
        scale_lr(_optimizer(), setting, 2, 1)


@pytest.mark.parametrize("enable, expected", [(True, 0.1 * 2 / 16), (False, 0.1)])
def test_the_runner_scales_before_the_schedulers_read_the_lr(tmp_path, enable, expected):
    cfg = toy_config(tmp_path, max_iters=1, val_interval=10)
    cfg["auto_scale_lr"] = dict(enable=enable, base_batch_size=16)
    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
        group = runner.optim_wrapper.optimizer.param_groups[0]
        assert group["initial_lr"] == pytest.approx(expected)
    finally:
        runner.close()
