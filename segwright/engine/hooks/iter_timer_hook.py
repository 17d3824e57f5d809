"""Measures data loading and iteration time (``data_time``, ``time``) for the logs and the ETA."""

from __future__ import annotations

import time
from typing import Any

from segwright.engine.hooks.hook import Hook, eval_pass_length
from segwright.registry import HOOKS


@HOOKS.register_module()
class IterTimerHook(Hook):
    priority = "NORMAL"

    def __init__(self) -> None:
        self._last = 0.0
        self._start_iter = 0
        self._start_time = 0.0
        self._eval_total = 0.0

    def before_train(self, runner: Any) -> None:
        self._start_iter = runner.iter
        self._start_time = time.perf_counter()
        self._last = self._start_time

    def before_train_epoch(self, runner: Any) -> None:
        self._last = time.perf_counter()

    def _before_iter(self, runner: Any, mode: str) -> None:
        now = time.perf_counter()
        runner.log_store.update_scalar(f"{mode}/data_time", now - self._last)

    def _after_iter(self, runner: Any, mode: str) -> None:
        now = time.perf_counter()
        runner.log_store.update_scalar(f"{mode}/time", now - self._last)
        self._last = now

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        self._before_iter(runner, "train")

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        self._after_iter(runner, "train")
        done = runner.iter + 1 - self._start_iter
        per_iter = (time.perf_counter() - self._start_time) / max(done, 1)
        runner.log_store.update_info("eta", per_iter * (runner.max_iters - runner.iter - 1))

    # -- validation and testing: the same two times, and the ETA of the pass (MMEngine's) ------

    def _before_eval_epoch(self) -> None:
        self._last = time.perf_counter()
        self._eval_total = 0.0

    def _after_eval_iter(self, runner: Any, mode: str, batch_idx: int) -> None:
        now = time.perf_counter()
        elapsed = now - self._last
        runner.log_store.update_scalar(f"{mode}/time", elapsed)
        self._last = now
        self._eval_total += elapsed
        total = eval_pass_length(runner, mode)
        if total is not None:
            per_iter = self._eval_total / (batch_idx + 1)
            runner.log_store.update_info("eta", per_iter * max(total - batch_idx - 1, 0))

    def before_val_epoch(self, runner: Any) -> None:
        self._before_eval_epoch()

    def before_val_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        self._before_iter(runner, "val")

    def after_val_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        self._after_eval_iter(runner, "val", batch_idx)

    def after_val_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        self._last = time.perf_counter()  # validation time does not count as training data time

    def before_test_epoch(self, runner: Any) -> None:
        self._before_eval_epoch()

    def before_test_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        self._before_iter(runner, "test")

    def after_test_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        self._after_eval_iter(runner, "test", batch_idx)
