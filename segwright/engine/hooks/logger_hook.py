"""Writes training and validation lines to the log and scalars to the backends (SPEC §7.6).

Losses, times and grad norms are averaged over the last ``window_size`` iterations (MMEngine's
log processor); other values (accuracy, lr) are the current ones.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import torch

from segwright.engine.hooks.hook import Hook, eval_pass_length
from segwright.registry import HOOKS

_MEAN_PATTERN = re.compile(r".*(loss|time|data_time|grad_norm).*")


@HOOKS.register_module()
class LoggerHook(Hook):
    """Args:
    interval: Log every ``interval`` training iterations.
    ignore_last: Skip the incomplete interval at the end of an epoch.
    log_metric_by_epoch: Validation metrics are plotted at the epoch (True) or iteration.
    window_size: Iterations averaged for losses and times.
    interval_exp_name: Every this many iterations log the experiment name.
    """

    priority = "BELOW_NORMAL"

    def __init__(
        self,
        interval: int = 10,
        ignore_last: bool = True,
        interval_exp_name: int = 1000,
        out_dir: str | None = None,
        out_suffix: Any = (".json", ".log", ".py", "yaml"),
        keep_local: bool = True,
        file_client_args: Any = None,
        log_metric_by_epoch: bool = True,
        backend_args: Any = None,
        window_size: int = 10,
    ) -> None:
        self.interval = interval
        self.ignore_last = ignore_last
        self.interval_exp_name = interval_exp_name
        self.log_metric_by_epoch = log_metric_by_epoch
        self.window_size = window_size
        self._eval_iters = 0
        self._pass_sums: dict[str, float] = {}

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        by_epoch = runner.train_loop.by_epoch
        if self.every_n_train_iters(runner, self.interval_exp_name):
            runner.logger.info(f"Exp name: {runner.experiment_name}")
        due = (
            self.every_n_inner_iters(batch_idx, self.interval)
            if by_epoch
            else self.every_n_train_iters(runner, self.interval)
        )
        end_of_epoch = by_epoch and self.end_of_epoch(runner.train_loop.dataloader, batch_idx)
        if not (due or (end_of_epoch and not self.ignore_last) or self.is_last_train_iter(runner)):
            return
        scalars = self._train_scalars(runner)
        runner.logger.info(self._train_line(runner, batch_idx, scalars))
        runner.scalar_writer.add_scalars(scalars, step=runner.iter + 1)

    def _train_scalars(self, runner: Any) -> dict[str, float]:
        scalars: dict[str, float] = {}
        for key, history in runner.log_store.scalars.items():
            if not key.startswith("train/") and key not in ("lr", "base_lr"):
                continue
            name = key.removeprefix("train/")
            use_mean = _MEAN_PATTERN.match(name) is not None
            scalars[name] = history.mean(self.window_size) if use_mean else history.current()
        return scalars

    def _train_line(self, runner: Any, batch_idx: int, scalars: dict[str, float]) -> str:
        if runner.train_loop.by_epoch:
            total = len(runner.train_loop.dataloader)
            head = f"Epoch(train) [{runner.epoch + 1}][{batch_idx + 1:>{len(str(total))}}/{total}]"
        else:
            head = (
                f"Iter(train) [{runner.iter + 1:>{len(str(runner.max_iters))}}/{runner.max_iters}]"
            )
        parts = [head]
        for key in ("base_lr", "lr"):
            if key in scalars:
                parts.append(f"{key}: {scalars[key]:.4e}")
        eta = runner.log_store.get_info("eta")
        if eta is not None:
            parts.append(f"eta: {datetime.timedelta(seconds=int(eta))}")
        for key in ("time", "data_time"):
            if key in scalars:
                parts.append(f"{key}: {scalars[key]:.4f}")
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            parts.append(f"memory: {torch.cuda.max_memory_allocated() // (1024 * 1024)}")
        for key, value in scalars.items():
            if key not in ("base_lr", "lr", "time", "data_time"):
                parts.append(f"{key}: {value:.4f}")
        return "  ".join(parts)

    # -- validation and testing: a progress line every ``interval`` batches, then the metrics
    # with the pass's mean times (MMEngine's lines) ------------------------------------------

    def after_val_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        self._eval_progress_line(runner, "val", batch_idx)

    def after_test_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        self._eval_progress_line(runner, "test", batch_idx)

    def _eval_progress_line(self, runner: Any, mode: str, batch_idx: int) -> None:
        self._eval_iters = batch_idx + 1
        for key in ("data_time", "time"):  # the pass's sums, for its mean times at the end
            history = runner.log_store.scalars.get(f"{mode}/{key}")
            if history is not None and history.counts:
                self._pass_sums[key] = self._pass_sums.get(key, 0.0) + history.current()
        if not self.every_n_inner_iters(batch_idx, self.interval):
            return
        total = eval_pass_length(runner, mode)
        done = str(batch_idx + 1).rjust(len(str(total))) if total is not None else batch_idx + 1
        parts = [f"{self._eval_head(runner, mode)}[{done}/{total if total is not None else '?'}]"]
        eta = runner.log_store.get_info("eta")
        if eta is not None:
            parts.append(f"eta: {datetime.timedelta(seconds=int(eta))}")
        for key in ("time", "data_time"):
            history = runner.log_store.scalars.get(f"{mode}/{key}")
            if history is not None and history.counts:
                parts.append(f"{key}: {history.mean(self.window_size):.4f}")
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            parts.append(f"memory: {torch.cuda.max_memory_allocated() // (1024 * 1024)}")
        runner.logger.info("  ".join(parts))

    @staticmethod
    def _eval_head(runner: Any, mode: str) -> str:
        loop = runner.train_loop
        if loop is not None and loop.by_epoch:
            return f"Epoch({mode}) [{runner.epoch}]" if mode == "val" else f"Epoch({mode}) "
        return f"Iter({mode}) "

    def _pass_times(self, runner: Any, mode: str) -> list[str]:
        """``data_time`` and ``time`` averaged over the pass that just ended."""
        iters, sums = self._eval_iters, self._pass_sums
        self._eval_iters, self._pass_sums = 0, {}
        return [f"{key}: {sums[key] / iters:.4f}" for key in ("data_time", "time") if key in sums]

    def after_val_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        metrics = metrics or {}
        numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
        parts = [f"{k}: {v:.4f}" for k, v in numeric.items()]
        head = (
            f"Epoch(val) [{runner.epoch}]"
            if runner.train_loop is not None and runner.train_loop.by_epoch
            else f"Iter(val) [{runner.iter}]"
        )
        runner.logger.info("  ".join([head, *parts, *self._pass_times(runner, "val")]))
        step = runner.epoch if self.log_metric_by_epoch else runner.iter
        runner.scalar_writer.add_scalars({f"val/{k}": v for k, v in numeric.items()}, step=step)

    def after_test_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        numeric = {k: float(v) for k, v in (metrics or {}).items() if isinstance(v, (int, float))}
        total = eval_pass_length(runner, "test")
        head = f"{self._eval_head(runner, 'test')}[{total}/{total}]" if total else "Test:"
        parts = [f"{k}: {v:.4f}" for k, v in numeric.items()]
        runner.logger.info("  ".join([head, *parts, *self._pass_times(runner, "test")]))
