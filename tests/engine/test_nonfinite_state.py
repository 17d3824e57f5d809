"""Non-finite weights and buffers stop the run where they start and are never saved as good."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import torch

from segwright.cli.main import main
from segwright.config import Config
from segwright.engine.finite import NonFiniteStateError, find_nonfinite, finite_flag
from segwright.engine.hooks.hook import Hook
from segwright.engine.loops import TrainingError
from segwright.engine.runner import Runner
from segwright.testing import TOY_CONFIG_PATH
from segwright.testing.toy_config import toy_config
from segwright.utils.errors import ConfigError


def _cfg(work_dir, lr=0.1, max_iters=8, log_interval=1, ckpt_interval=2, channels=4, **train):
    cfg = toy_config(work_dir, max_iters=max_iters, val_interval=100, param_scheduler=[])
    cfg["model"]["channels"] = channels
    cfg["optim_wrapper"]["optimizer"]["lr"] = lr
    cfg["default_hooks"]["logger"]["interval"] = log_interval
    cfg["default_hooks"]["checkpoint"]["interval"] = ckpt_interval
    cfg["train_cfg"].update(train)
    return cfg


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _runner(cfg) -> tuple[Runner, _Capture]:
    runner = Runner.from_cfg(Config(cfg))
    capture = _Capture()
    runner.logger.addHandler(capture)
    return runner, capture


def _nonfinite_in(path: Path) -> list[str]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    found = []

    def walk(prefix, value):
        if isinstance(value, torch.Tensor):
            if value.is_floating_point() and not torch.isfinite(value).all():
                found.append(prefix)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}", item)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(f"{prefix}.{index}", item)

    walk("", ckpt)
    return found


def _assert_every_checkpoint_finite(work_dir: Path) -> list[Path]:
    saved = sorted(Path(work_dir).glob("*.pth"))
    for path in saved:
        assert _nonfinite_in(path) == [], path
    return saved


def test_finite_flag_and_offender_names():
    good = [("a", torch.ones(3)), ("b", torch.zeros(2, dtype=torch.bfloat16))]
    assert bool(finite_flag(t for _, t in good))
    assert find_nonfinite(good) == []
    bad = [*good, ("c", torch.tensor([1.0, float("nan"), float("inf")])), ("n", torch.ones(1))]
    assert find_nonfinite(bad) == ["c (1 NaN and 1 Inf of 3 values)"]
    # A finite tensor whose norm overflows trips the flag, but nothing is named: it is finite.
    assert find_nonfinite([("big", torch.full((4,), 3e38))]) == []
    assert finite_flag([]) is None


@pytest.mark.parametrize("lr", [1e4, 1e8])
def test_huge_lr_stops_and_no_checkpoint_holds_nonfinite_values(tmp_path, lr):
    runner, capture = _runner(_cfg(tmp_path, lr=lr, log_interval=3, ckpt_interval=2))
    with pytest.raises(NonFiniteStateError) as info:
        runner.train()
    runner.close()
    message = str(info.value)
    assert "backbone.1.running_var" in message  # the first offending tensor
    assert re.search(r"iteration \d+ \(lr [0-9.e+]+\)", message)
    saved = _assert_every_checkpoint_finite(tmp_path)
    named = re.search(r"The last good checkpoint \(all values finite\) is (\S+)\.", message)
    if named:
        assert Path(named.group(1)) in saved
    else:
        assert "No checkpoint of this run was saved with finite values yet." in message
    last = tmp_path / "last_checkpoint"
    if last.exists():
        assert _nonfinite_in(Path(last.read_text())) == []
    # The finite-but-exploding loss before it was reported with the lr and the iteration.
    assert any("The loss is exploding" in m and "with lr" in m for m in capture.messages)


def test_large_lr_with_finite_state_warns_and_saves_only_finite_checkpoints(tmp_path):
    runner, capture = _runner(_cfg(tmp_path, lr=1e2, channels=16, max_iters=10, log_interval=5))
    try:
        runner.train()
    except NonFiniteStateError:
        pass
    runner.close()
    _assert_every_checkpoint_finite(tmp_path)
    warnings = [m for m in capture.messages if "The loss is exploding" in m]
    assert len(warnings) == 1
    assert re.search(
        r"at iteration \d+, .* times its first logged value .*with lr 100", warnings[0]
    )


class _PoisonRunningVar(Hook):
    """Writes Inf into BN's running variance after ``at`` iterations; the loss stays finite."""

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            runner.model.backbone[1].running_var.fill_(float("inf"))


def test_checkpoint_save_refuses_nonfinite_buffers_and_names_last_good(tmp_path):
    # Logged every 10 iterations: only the save at iteration 4 can see the poison of iteration 3.
    runner, _ = _runner(_cfg(tmp_path, log_interval=10, ckpt_interval=2))
    runner.register_hook(_PoisonRunningVar(at=3))
    with pytest.raises(NonFiniteStateError, match=r"while saving iter_4\.pth after iteration 4"):
        runner.train()
    runner.close()
    assert [p.name for p in _assert_every_checkpoint_finite(tmp_path)] == ["iter_2.pth"]
    assert (tmp_path / "last_checkpoint").read_text().endswith("iter_2.pth")


def test_log_interval_check_names_tensor_iteration_lr_and_last_good(tmp_path):
    runner, _ = _runner(_cfg(tmp_path, log_interval=1, ckpt_interval=2))
    runner.register_hook(_PoisonRunningVar(at=3), priority="VERY_HIGH")
    with pytest.raises(NonFiniteStateError) as info:
        runner.train()
    runner.close()
    message = str(info.value)
    # The hook poisons after iteration 3's check: the next check (iteration 4) finds it.
    assert "after iteration 4 (lr 0.1): backbone.1.running_var (4 Inf of 4 values)" in message
    assert f"The last good checkpoint (all values finite) is {tmp_path / 'iter_2.pth'}." in message
    assert info.value.offenders == ["backbone.1.running_var (4 Inf of 4 values)"]
    _assert_every_checkpoint_finite(tmp_path)


def test_weights_loaded_with_nonfinite_values_stop_before_the_first_iteration(tmp_path):
    runner = Runner.from_cfg(Config(_cfg(tmp_path / "a", max_iters=2)))
    runner.train()
    runner.close()
    ckpt = torch.load(tmp_path / "a" / "iter_2.pth", weights_only=False)
    ckpt["state_dict"]["decode_head.weight"].fill_(float("nan"))
    torch.save(ckpt, tmp_path / "nan.pth")
    cfg = _cfg(tmp_path / "b", max_iters=2)
    cfg["load_from"] = str(tmp_path / "nan.pth")
    runner = Runner.from_cfg(Config(cfg))
    with pytest.raises(NonFiniteStateError, match=r"before iteration 1 .*decode_head\.weight"):
        runner.train()
    runner.close()
    assert not list((tmp_path / "b").glob("*.pth"))


def _make_loss_inf_from(runner: Runner, first_call: int) -> None:
    original = runner.model.parse_losses
    calls = {"n": 0}

    def poisoned(losses):
        calls["n"] += 1
        if calls["n"] >= first_call:
            losses = {k: v * float("inf") if "loss" in k else v for k, v in losses.items()}
        return original(losses)

    runner.model.parse_losses = poisoned


def test_skip_mode_stops_after_consecutive_skips(tmp_path):
    cfg = _cfg(tmp_path, max_iters=20, ckpt_interval=2, on_nonfinite_loss="skip")
    runner = Runner.from_cfg(Config(cfg))
    _make_loss_inf_from(runner, first_call=4)
    with pytest.raises(TrainingError) as info:
        runner.train()
    runner.close()
    message = str(info.value)
    assert "not finite in 5 consecutive iterations (4 to 8" in message
    assert "train_cfg.max_consecutive_skips=5" in message
    # Skipped updates leave the weights finite: iteration 6's checkpoint is still good.
    assert f"The last good checkpoint (all values finite) is {tmp_path / 'iter_6.pth'}." in message
    assert runner.train_loop.skipped_iters == [3, 4, 5, 6, 7]
    _assert_every_checkpoint_finite(tmp_path)


def test_skip_limit_is_configurable(tmp_path):
    cfg = _cfg(
        tmp_path, max_iters=6, ckpt_interval=6, on_nonfinite_loss="skip", max_consecutive_skips=2
    )
    runner = Runner.from_cfg(Config(cfg))
    _make_loss_inf_from(runner, first_call=2)
    with pytest.raises(TrainingError, match=r"train_cfg\.max_consecutive_skips=2"):
        runner.train()
    runner.close()
    assert runner.train_loop.skipped_iters == [1, 2]


@pytest.mark.parametrize(
    "key, value", [("check_finite", "sometimes"), ("max_consecutive_skips", -1)]
)
def test_bad_guard_settings_are_config_errors(tmp_path, key, value):
    runner = Runner.from_cfg(Config(_cfg(tmp_path, **{key: value})))
    with pytest.raises(ConfigError, match=f"train_cfg.{key}"):
        runner.train()
    runner.close()


def test_cli_exits_non_zero_on_nonfinite_state(tmp_path, capsys):
    code = main(
        [
            "train",
            str(TOY_CONFIG_PATH),
            "--work-dir",
            str(tmp_path),
            "--device",
            "cpu",
            "--cfg-options",
            "train_cfg.max_iters=8",
            "param_scheduler.0.end=8",
            "optim_wrapper.optimizer.lr=1e8",
            "default_hooks.logger.interval=2",
            "default_hooks.checkpoint.interval=2",
        ]
    )
    assert code != 0
    assert "Non-finite values in the model state" in capsys.readouterr().err
    _assert_every_checkpoint_finite(tmp_path)
