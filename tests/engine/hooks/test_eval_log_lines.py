"""Validation and test passes log MMEngine's progress lines and close with their mean times.

Every ``interval`` batches: ``Iter(val) [ n/N]  eta: ...  time: ...  data_time: ...`` (``Epoch(val)
[e][n/N]`` in epoch-based runs, ``Iter(test)``/``Epoch(test)`` when testing); the pass's closing
line adds ``data_time`` and ``time`` averaged over all of its batches. The ETA is the pass's mean
batch time times the batches left, as MMEngine's IterTimerHook computes it.
"""

from __future__ import annotations

import re
import types

import pytest

from segwright.config import Config
from segwright.engine.hooks import iter_timer_hook
from segwright.engine.hooks.iter_timer_hook import IterTimerHook
from segwright.engine.logging.store import LogStore
from segwright.engine.runner import Runner
from segwright.testing.toy_config import toy_config

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")


def _run(tmp_path, epoch_based: bool):
    cfg = toy_config(tmp_path, max_iters=4, val_interval=2)
    cfg["val_dataloader"]["batch_size"] = 1  # 4 batches per pass
    cfg["test_dataloader"] = cfg["val_dataloader"]
    cfg["test_evaluator"] = cfg["val_evaluator"]
    cfg["test_cfg"] = dict(type="TestLoop")
    cfg["default_hooks"]["logger"]["interval"] = 2
    if epoch_based:
        cfg["train_cfg"] = dict(type="EpochBasedTrainLoop", max_epochs=1, val_interval=1)
        cfg["train_dataloader"]["sampler"] = dict(type="DefaultSampler", shuffle=True)
        cfg["param_scheduler"] = []
        cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=1)
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    val_times = {
        key: runner.log_store.scalars[f"val/{key}"].values[-4:] for key in ("time", "data_time")
    }
    runner.test()
    test_times = {
        key: runner.log_store.scalars[f"test/{key}"].values[-4:] for key in ("time", "data_time")
    }
    runner.close()
    log = (runner.log_dir / f"{runner.timestamp}.log").read_text().splitlines()
    return log, val_times, test_times


def _lines(log, pattern):
    return [line for line in log if re.search(pattern, line)]


def _closing_times(times) -> str:
    return f"data_time: {sum(times['data_time']) / 4:.4f}  time: {sum(times['time']) / 4:.4f}"


def test_iteration_based_passes_log_progress_every_interval_and_mean_times(tmp_path):
    log, val_times, test_times = _run(tmp_path, epoch_based=False)
    progress = _lines(log, r"Iter\(val\) \[\d/4\]")
    assert [re.search(r"\[(\d)/4\]", line).group(1) for line in progress] == ["2", "4"] * 2
    assert all(
        re.search(r"eta: \d+:\d\d:\d\d  time: \d\.\d{4}  data_time: \d\.\d{4}", line)
        for line in progress
    )
    closing = _lines(log, r"Iter\(val\) \[4\]  aAcc")
    assert len(closing) == 1 and closing[0].endswith(_closing_times(val_times))
    test_progress = _lines(log, r"Iter\(test\) \[\d/4\]  eta")
    assert [re.search(r"\[(\d)/4\]", line).group(1) for line in test_progress] == ["2", "4"]
    test_closing = _lines(
        log, r"Iter\(test\) \[4/4\]  aAcc: [\d.]+  mIoU: [\d.]+  mAcc: [\d.]+  data_time"
    )
    assert len(test_closing) == 1 and test_closing[0].endswith(_closing_times(test_times))


def test_epoch_based_passes_name_the_epoch_for_validation_only(tmp_path):
    log, val_times, _ = _run(tmp_path, epoch_based=True)
    assert len(_lines(log, r"Epoch\(val\) \[1\]\[[24]/4\]  eta")) == 2
    assert _lines(log, r"Epoch\(val\) \[1\]  aAcc")[0].endswith(_closing_times(val_times))
    assert len(_lines(log, r"Epoch\(test\) \[[24]/4\]  eta")) == 2
    assert len(_lines(log, r"Epoch\(test\) \[4/4\]  aAcc")) == 1


def test_eta_of_a_pass_is_its_mean_batch_time_times_the_batches_left(monkeypatch):
    clock = iter([10.0, 10.5, 11.0, 12.5, 13.0])  # epoch start, then before/after per batch
    monkeypatch.setattr(iter_timer_hook.time, "perf_counter", lambda: next(clock))
    runner = types.SimpleNamespace(
        log_store=LogStore(), val_loop=types.SimpleNamespace(dataloader=[None] * 5)
    )
    hook = IterTimerHook()
    hook.before_val_epoch(runner)
    etas = []
    for batch_idx in range(2):
        hook.before_val_iter(runner, batch_idx)
        hook.after_val_iter(runner, batch_idx)
        etas.append(runner.log_store.get_info("eta"))
    # batch times 1.0 and 2.0 (each from the end of the one before); data times 0.5 and 1.5
    assert runner.log_store.scalars["val/time"].values == [1.0, 2.0]
    assert runner.log_store.scalars["val/data_time"].values == [0.5, 1.5]
    assert etas == [1.0 * 4, 1.5 * 3]
