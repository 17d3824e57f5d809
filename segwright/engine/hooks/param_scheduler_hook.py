"""Steps the parameter schedulers: iteration-based after each iteration, epoch-based after each epoch."""

from __future__ import annotations

from typing import Any

from segwright.engine.hooks.hook import Hook
from segwright.registry import HOOKS


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    priority = "LOW"

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        for scheduler in runner.param_schedulers or []:
            if not scheduler.by_epoch and not _needs_metrics(scheduler):
                scheduler.step()

    def after_train_epoch(self, runner: Any) -> None:
        for scheduler in runner.param_schedulers or []:
            if scheduler.by_epoch and not _needs_metrics(scheduler):
                scheduler.step()

    def after_val_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        for scheduler in runner.param_schedulers or []:
            if _needs_metrics(scheduler) and metrics is not None:
                scheduler.step(metrics)


def _needs_metrics(scheduler: Any) -> bool:
    return bool(getattr(scheduler, "need_val_args", False))
