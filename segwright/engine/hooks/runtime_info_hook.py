"""Records lr and the step's outputs in the run's LogStore (MMEngine's RuntimeInfoHook)."""

from __future__ import annotations

from typing import Any

from segwright.engine.hooks.hook import Hook
from segwright.engine.logging.store import DeviceValues
from segwright.registry import HOOKS


@HOOKS.register_module()
class RuntimeInfoHook(Hook):
    priority = "VERY_HIGH"

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        # Read here, after the iteration: the lr in force while it trained (schedulers,
        # MMCV policies included, step later, at priority LOW).
        lrs = runner.optim_wrapper.get_lr()
        runner.log_store.update_scalar("lr", lrs["lr"][0])
        if "base_lr" in lrs:
            runner.log_store.update_scalar("base_lr", lrs["base_lr"][0])
        if isinstance(outputs, DeviceValues):  # the loop's copy on the device: kept, not read
            runner.log_store.update_scalars(outputs.renamed("train/"))
        elif outputs:
            runner.log_store.update_scalars({f"train/{k}": v for k, v in outputs.items()})
        grad_norm = getattr(runner.optim_wrapper, "last_grad_norm", None)
        if grad_norm is not None:
            runner.log_store.update_scalar("train/grad_norm", grad_norm)

    def after_val_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        for key, value in (metrics or {}).items():
            if isinstance(value, (int, float)):
                runner.log_store.update_scalar(f"val/{key}", value)
