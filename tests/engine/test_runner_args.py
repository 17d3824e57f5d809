"""The table of config keys the Runner reads (``engine/runner_args.py``) and ``from_cfg``."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.engine.runner_args import DEFAULT_HOOKS, RUNNER_KEYS, runner_kwargs
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError

_PARAMS = {
    name: param
    for name, param in inspect.signature(Runner.__init__).parameters.items()
    if name not in ("self", "cfg")
}


def test_the_table_names_every_runner_argument_in_order_with_its_default():
    assert [key.name for key in RUNNER_KEYS] == list(_PARAMS)
    for key in RUNNER_KEYS:
        default = _PARAMS[key.name].default
        if default is not inspect.Parameter.empty:
            assert key.default == default, key.name
        assert key.doc.strip(), key.name


def test_missing_keys_take_the_table_defaults():
    cfg = Config(dict(model=dict(type="ToySegModel")))
    kwargs = runner_kwargs(cfg, "configs/fcn/my_fcn.py")
    assert kwargs["model"] == dict(type="ToySegModel")
    assert kwargs["work_dir"] == Path("work_dirs") / "my_fcn"
    assert kwargs["cfg"] is cfg
    for key in RUNNER_KEYS:
        if key.name not in ("model", "work_dir"):
            assert kwargs[key.name] == key.default, key.name
    assert runner_kwargs(cfg)["work_dir"] == Path("work_dirs") / "run"


def test_given_keys_are_passed_as_written():
    cfg = Config(
        dict(
            model=dict(type="ToySegModel"),
            work_dir="here",
            resume=True,
            launcher="pytorch",
            log_level="DEBUG",
            device="cpu",
            channels_last=True,
            auto_scale_lr=dict(enable=True, base_batch_size=16),
            val_evaluator=dict(metrics=[dict(type="IoUMetric")]),
            not_a_runner_key=1,
        )
    )
    kwargs = runner_kwargs(cfg)
    assert kwargs["work_dir"] == "here" and kwargs["resume"] is True
    assert kwargs["launcher"] == "pytorch" and kwargs["log_level"] == "DEBUG"
    assert kwargs["device"] == "cpu" and kwargs["channels_last"] is True
    assert kwargs["auto_scale_lr"] == dict(enable=True, base_batch_size=16)
    assert kwargs["val_evaluator"] == dict(metrics=[dict(type="IoUMetric")])
    assert "not_a_runner_key" not in kwargs


def test_default_hook_priorities_apply_to_default_hooks():
    cfg = Config(
        dict(
            model=dict(type="ToySegModel"),
            default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=5)),
            default_hook_priorities=dict(checkpoint="LOW"),
        )
    )
    hooks = runner_kwargs(cfg)["default_hooks"]
    assert hooks["checkpoint"] == dict(type="CheckpointHook", interval=5, priority="LOW")
    assert set(DEFAULT_HOOKS) >= {"checkpoint", "logger"}


def test_a_config_without_model_is_refused():
    with pytest.raises(ConfigError, match="no 'model'"):
        runner_kwargs(Config(dict(work_dir="x")))


def test_from_cfg_reads_the_keys_into_the_runner(tmp_path):
    cfg = toy_config(tmp_path, experiment_name="exp", load_from=str(tmp_path / "w.pth"))
    cfg["randomness"] = dict(seed=7, deterministic=False)
    runner = Runner.from_cfg(Config(cfg))
    try:
        assert runner.experiment_name == "exp" and runner.seed == 7
        assert runner.load_from == str(tmp_path / "w.pth") and runner.resume_requested is False
        assert runner.work_dir == tmp_path.resolve()
        assert str(runner.device) == "cpu"
    finally:
        runner.close()
