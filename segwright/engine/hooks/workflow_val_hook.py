"""MMCV's ``('val', m)`` workflow phase: losses on validation data between training phases.

SPEC §6.1. A 0.x ``workflow=[('train', n), ('val', m)]`` alternates ``n`` training
iterations (epochs) with ``m`` validation iterations (epochs) that compute the training losses
under ``no_grad`` in eval mode, on ``data.val`` with the train pipeline, and log every value
as ``<name>_val``. Metrics such as mIoU come from validation proper, not from this phase.

Hooks see the phase as MMCV's runners showed it:

- epoch-based (``EpochBasedRunner.val``), per validation epoch: ``before_val_epoch``, then
  ``before_val_iter``/``after_val_iter`` around every batch, then ``after_val_epoch``;
- iteration-based (``IterBasedRunner.val``), per validation iteration: ``before_val_iter`` and
  ``after_val_iter`` only (MMCV's iteration runner called no epoch stage there).

``outputs`` of ``after_val_iter`` are the iteration's ``<name>_val`` values; ``metrics`` of
``after_val_epoch`` are the epoch's means. The stages go to the user's hooks and to the
built-ins that MMCV also ran there (``IterTimerHook``, ``EMAHook``, ``EmptyCacheHook``), not to
the built-ins that serve the validation loop (checkpointing the best metric, metric-driven
schedulers, visualisation, the progress bar, the metric log): the phase has no predictions.

Each phase is logged once, when it ends (the phase after the last training iteration too):
one ``Iter(val-loss)``/``Epoch(val-loss)`` line with the means and one scalar record at the
phase's iteration. The values stay out of the training lines (MMCV's iteration runner repeated
stale ``*_val`` values on every later training line).

Unlike MMCV, the phase leaves every random generator as training found it, so adding it does
not change the training run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch

from segwright.engine.data import build_dataloader
from segwright.engine.hooks.ema_hook import EMAHook
from segwright.engine.hooks.empty_cache_hook import EmptyCacheHook
from segwright.engine.hooks.hook import Hook, implements
from segwright.engine.hooks.iter_timer_hook import IterTimerHook
from segwright.engine.logging.store import to_float
from segwright.engine.rng import preserved_rng
from segwright.registry import HOOKS
from segwright.utils.errors import ConfigError


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"WorkflowValLossHook: {name} must be a positive int, got {value!r}.")
    return value


#: Built-in hooks that take part in the phase, as their MMCV counterparts did.
_BUILT_INS_IN_PHASE = (IterTimerHook, EMAHook, EmptyCacheHook)


def _takes_part(hook: Any) -> bool:
    """Whether ``hook`` gets the phase's val stages: the user's hooks and MMCV's built-ins."""
    if not type(hook).__module__.startswith("segwright."):
        return True
    return isinstance(hook, _BUILT_INS_IN_PHASE)


def _batch_size(batch: Any) -> int:
    if isinstance(batch, Mapping):
        samples = batch.get("data_samples", batch.get("inputs"))
        if isinstance(samples, (list, tuple)) or isinstance(samples, torch.Tensor):
            return max(len(samples), 1)
    return 1


@HOOKS.register_module()
class WorkflowValLossHook(Hook):
    """Run ``iters`` (or ``epochs``) loss-only validation steps after every ``interval`` training ones.

    Args:
        dataloader: A DataLoader or its config (``data.val`` with the train pipeline, the train
            loader's batch size and sampler, as MMSeg's tools/train.py builds it).
        interval: Training iterations (with ``iters``) or epochs (with ``epochs``) between
            phases; a phase also follows the last training iteration/epoch, as in MMCV.
        iters: Validation iterations per phase (MMCV ``IterBasedRunner``).
        epochs: Validation epochs per phase (MMCV ``EpochBasedRunner``).

    Raises:
        ConfigError: Not exactly one of ``iters``/``epochs``, or a count is not a positive int.
    """

    priority = "LOWEST"  # after checkpointing and logging of the training phase, as in MMCV

    def __init__(
        self,
        dataloader: Any,
        interval: int = 1,
        iters: int | None = None,
        epochs: int | None = None,
    ) -> None:
        if (iters is None) == (epochs is None):
            raise ConfigError(
                "WorkflowValLossHook needs exactly one of iters=m (m validation iterations per "
                "phase) and epochs=m (m validation epochs per phase)."
            )
        self.interval = _positive_int(interval, "interval")
        self.iters = None if iters is None else _positive_int(iters, "iters")
        self.epochs = None if epochs is None else _positive_int(epochs, "epochs")
        self._dataloader_cfg = dataloader
        self._loader: Any = None
        self._iterator: Iterator[Any] | None = None
        self._passes = 0

    def before_train(self, runner: Any) -> None:
        self._loader = build_dataloader(
            self._dataloader_cfg,
            seed=runner.seed,
            key="WorkflowValLossHook.dataloader",
            device=runner.device,
        )

    # -- when -------------------------------------------------------------------------------

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        if self.iters is None:
            return
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self._run_phase(runner, self.iters, per_epoch=False)

    def after_train_epoch(self, runner: Any) -> None:
        if self.epochs is None or not getattr(runner.train_loop, "by_epoch", False):
            return
        if self.every_n_epochs(runner, self.interval) or self.is_last_train_epoch(runner):
            self._run_phase(runner, self.epochs, per_epoch=True)

    # -- what -------------------------------------------------------------------------------

    def _next_batch(self) -> Any:
        """The next batch of an endless pass over the loader (re-iterating when it ends)."""
        while True:
            if self._iterator is None:
                sampler = getattr(self._loader, "sampler", None)
                if hasattr(sampler, "set_epoch"):
                    sampler.set_epoch(self._passes)
                self._iterator = iter(self._loader)
            try:
                return next(self._iterator)
            except StopIteration:
                self._iterator = None
                self._passes += 1

    def _call(self, runner: Any, stage: str, **kwargs: Any) -> None:
        for hook in runner.hooks:
            if hook is not self and implements(hook, stage) and _takes_part(hook):
                getattr(hook, stage)(runner, **kwargs)

    def _epoch_batches(self) -> Iterator[Any]:
        """One pass over the loader (one MMCV validation epoch)."""
        sampler = getattr(self._loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self._passes)
        yield from self._loader
        self._passes += 1

    def _run_phase(self, runner: Any, count: int, per_epoch: bool) -> None:
        if self._loader is None:
            self.before_train(runner)
        model = getattr(runner.model, "module", runner.model)
        loss_step = getattr(model, "loss_step", None)
        if loss_step is None:
            raise ConfigError(
                f"WorkflowValLossHook: the model ({type(model).__name__}) has no loss_step(); "
                "derive it from segwright.engine.model.BaseModel."
            )
        was_training = model.training
        with preserved_rng(), torch.no_grad():
            model.eval()
            try:
                if per_epoch:
                    for _ in range(count):
                        self._call(runner, "before_val_epoch")
                        means = self._steps(runner, loss_step, self._epoch_batches())
                        self._call(runner, "after_val_epoch", metrics=means)
                        self._log(runner, means, per_epoch=True)
                else:
                    batches = (self._next_batch() for _ in range(count))
                    self._log(runner, self._steps(runner, loss_step, batches), per_epoch=False)
            finally:
                model.train(was_training)

    def _steps(self, runner: Any, loss_step: Any, batches: Iterator[Any]) -> dict[str, float]:
        """Loss steps over ``batches`` with the val iteration stages; the sample-weighted means."""
        totals: dict[str, float] = {}
        seen = 0
        for batch_idx, batch in enumerate(batches):
            self._call(runner, "before_val_iter", batch_idx=batch_idx, data_batch=batch)
            values = {f"{k}_val": to_float(v) for k, v in loss_step(batch).items()}
            size = _batch_size(batch)
            for key, value in values.items():
                totals[key] = totals.get(key, 0.0) + value * size
            seen += size
            self._call(
                runner, "after_val_iter", batch_idx=batch_idx, data_batch=batch, outputs=values
            )
        return {k: v / seen for k, v in totals.items()} if seen else {}

    @staticmethod
    def _log(runner: Any, means: dict[str, float], per_epoch: bool) -> None:
        if not means:
            return
        line = "  ".join(f"{k}: {v:.4f}" for k, v in means.items())
        if per_epoch:
            head = f"Epoch(val-loss) [{runner.epoch + 1}]"
        else:
            head = f"Iter(val-loss) [{runner.iter + 1}/{runner.max_iters}]"
        runner.logger.info(f"{head}  {line}")
        runner.scalar_writer.add_scalars(means, step=runner.iter + 1)
