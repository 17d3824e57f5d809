"""Keeps an exponential moving average of the weights; validates and saves with it (MMEngine's EMAHook).

Checkpoints hold the averaged weights in ``state_dict`` (so inference uses them) and the raw
weights in ``ema_state_dict``; resuming swaps them back.
"""

from __future__ import annotations

from typing import Any

from segwright.engine.hooks.hook import Hook
from segwright.registry import HOOKS, MODELS


@HOOKS.register_module()
class EMAHook(Hook):
    """Args:
    ema_type: Averaging model registered in MODELS (``ExponentialMovingAverage``).
    strict_load: Require the EMA weights to match exactly when loading.
    begin_iter / begin_epoch: Before these the average just copies the weights.
    **ema_kwargs: For the averaging model (``momentum``, ``interval``, ``update_buffers``...).
    """

    priority = "NORMAL"

    def __init__(
        self,
        ema_type: str = "ExponentialMovingAverage",
        strict_load: bool = False,
        begin_iter: int = 0,
        begin_epoch: int = 0,
        **ema_kwargs: Any,
    ) -> None:
        self.ema_cfg = dict(type=ema_type, **ema_kwargs)
        self.strict_load = strict_load
        self.begin_iter = begin_iter
        self.begin_epoch = begin_epoch
        self.ema_model: Any = None

    @staticmethod
    def _source(runner: Any) -> Any:
        return getattr(runner.model, "module", runner.model)

    def before_run(self, runner: Any) -> None:
        if self.ema_model is None:
            self.ema_model = MODELS.build(
                self.ema_cfg,
                default_args=dict(model=self._source(runner)),
                key="custom_hooks.EMAHook",
            )

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        if runner.iter + 1 > self.begin_iter and runner.epoch >= self.begin_epoch:
            self.ema_model.update_parameters(self._source(runner))
        else:
            self.ema_model.steps.zero_()  # keep copying until the average begins
            self.ema_model.update_parameters(self._source(runner))
            self.ema_model.steps.zero_()

    def _swap(self, runner: Any) -> None:
        source = dict(self._source(runner).named_parameters())
        for name, averaged in self.ema_model.module.named_parameters():
            tmp = source[name].data.clone()
            source[name].data.copy_(averaged.data)
            averaged.data.copy_(tmp)

    def before_val_epoch(self, runner: Any) -> None:
        self._swap(runner)

    def after_val_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        self._swap(runner)

    def before_test_epoch(self, runner: Any) -> None:
        self._swap(runner)

    def after_test_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        self._swap(runner)

    def before_save_checkpoint(self, runner: Any, checkpoint: dict[str, Any]) -> None:
        ema_state = {k: v.detach().cpu().clone() for k, v in self.ema_model.state_dict().items()}
        state = checkpoint["state_dict"]
        for key in list(ema_state):
            name = key.removeprefix("module.")
            if key.startswith("module.") and name in state:
                ema_state[key], state[name] = state[name], ema_state[key]
        checkpoint["ema_state_dict"] = ema_state

    def after_load_checkpoint(self, runner: Any, checkpoint: dict[str, Any]) -> None:
        if self.ema_model is None:
            self.before_run(runner)
        state = checkpoint.get("state_dict", {})
        if "ema_state_dict" not in checkpoint:
            # Weights without an average (e.g. load_from a plain checkpoint): start from them.
            self.ema_model.module.load_state_dict(self._source(runner).state_dict(), strict=False)
            return
        averaged = {f"module.{k}": v for k, v in state.items()}
        averaged["steps"] = checkpoint["ema_state_dict"].get("steps", self.ema_model.steps)
        self.ema_model.load_state_dict(averaged, strict=self.strict_load)
        if getattr(runner, "resume_requested", False):
            raw = {
                k.removeprefix("module."): v
                for k, v in checkpoint["ema_state_dict"].items()
                if k.startswith("module.")
            }
            self._source(runner).load_state_dict(raw, strict=False)
