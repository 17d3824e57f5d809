"""Train, validation and test loops (MMEngine's, SPEC §6.2).

The train step is one method per loop (``run_iter``) with the hook calls around it visible.
A non-finite loss stops the run with a message naming the iteration and the loss terms
(``on_nonfinite_loss='stop'``, default) or skips that update (``'skip'``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from segwright.engine.data import index_sampler
from segwright.engine.model import NonFiniteLossError
from segwright.engine.rng import preserved_rng, restore_rng_state
from segwright.registry import LOOPS
from segwright.utils.errors import ConfigError, SegwrightError


class TrainingError(SegwrightError, RuntimeError):
    """Training cannot go on (e.g. the loss became NaN)."""


def _check_count(name: str, value: Any, loop: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ConfigError(f"train_cfg.{name} of {loop} must be a whole number, got {value!r}.")
    if value < 0:
        raise ConfigError(f"train_cfg.{name} of {loop} must not be negative, got {value}.")
    return int(value)


class _TrainLoopBase:
    by_epoch = False

    def __init__(
        self,
        runner: Any,
        dataloader: DataLoader,
        val_begin: int = 1,
        val_interval: int = 1,
        on_nonfinite_loss: str = "stop",
    ) -> None:
        if on_nonfinite_loss not in ("stop", "skip"):
            raise ConfigError(
                f"train_cfg.on_nonfinite_loss must be 'stop' or 'skip', got {on_nonfinite_loss!r}."
            )
        self.runner = runner
        self.dataloader = dataloader
        self.val_begin = val_begin
        self.val_interval = val_interval
        self.on_nonfinite_loss = on_nonfinite_loss
        self._iter = 0
        self._epoch = 0
        self.skipped_iters: list[int] = []
        # Set by Runner.resume: generator states to restore once the data position is restored.
        self.resume_rng_state: dict[str, Any] | None = None

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def epoch(self) -> int:
        return self._epoch

    def run_iter(self, batch_idx: int, data_batch: Any) -> None:
        """One training iteration: hooks, forward + backward + step, hooks.

        The model is put back in training mode first when something (validation, a hook) left
        it in eval mode. MMEngine calls ``model.train()`` before every iteration; skipping the
        call when the model already trains saves a walk over every module each iteration. Freeze
        parts of the model (``.eval()``, ``requires_grad``) in ``before_train_iter`` or in the
        model's own ``train()``, as with ``norm_eval``; both behave as in MMEngine.
        """
        runner = self.runner
        if not runner.model.training:  # back from validation (MMEngine calls train() first)
            runner.model.train()
        runner.call_hook("before_train_iter", batch_idx=batch_idx, data_batch=data_batch)
        try:
            outputs = runner.model.train_step(data_batch, optim_wrapper=runner.optim_wrapper)
        except NonFiniteLossError as exc:
            terms = ", ".join(f"{k}={v:.4g}" for k, v in exc.log_vars.items())
            if self.on_nonfinite_loss == "stop":
                last = runner.log_store.get_info("last_ckpt")
                kept = f" The last good checkpoint is {last}." if last else ""
                raise TrainingError(
                    f"The loss is not finite at iteration {self._iter + 1} ({terms}). Training "
                    f"stopped.{kept} Lower the learning rate, add clip_grad to optim_wrapper, "
                    "check the labels, or set train_cfg.on_nonfinite_loss='skip'."
                ) from None
            runner.optim_wrapper.zero_grad()
            self.skipped_iters.append(self._iter)
            runner.logger.warning(
                f"Non-finite loss at iteration {self._iter + 1} ({terms}); update skipped."
            )
            outputs = None
        runner.call_hook(
            "after_train_iter", batch_idx=batch_idx, data_batch=data_batch, outputs=outputs
        )
        self._iter += 1

    def run_validation(self) -> None:
        """Validate without touching the generators training draws from (resume stays exact)."""
        if self.runner.val_loop is None:
            return
        with preserved_rng() as state:
            self.runner.frozen_rng_state = state
            try:
                self.runner.val_loop.run()
            finally:
                self.runner.frozen_rng_state = None

    def _skip_samples(self, batches_done: int) -> bool:
        """Start the sampler after the samples already trained on; False if it cannot."""
        sampler = index_sampler(self.dataloader)
        if not hasattr(sampler, "set_start") or self.dataloader.batch_size is None:
            # A batch sampler (batch_size None) may regroup indices: load and drop instead.
            return False
        sampler.set_start(batches_done * (self.dataloader.batch_size or 1))
        return True

    def _finish_resume(self) -> None:
        if self.resume_rng_state is not None:
            restore_rng_state(self.resume_rng_state)
            self.resume_rng_state = None


@LOOPS.register_module()
class IterBasedTrainLoop(_TrainLoopBase):
    """Train for ``max_iters`` iterations; validate every ``val_interval`` iterations from ``val_begin``."""

    by_epoch = False

    def __init__(
        self,
        runner: Any,
        dataloader: DataLoader,
        max_iters: int,
        val_begin: int = 1,
        val_interval: int = 1000,
        dynamic_intervals: Any = None,
        on_nonfinite_loss: str = "stop",
    ) -> None:
        super().__init__(runner, dataloader, val_begin, val_interval, on_nonfinite_loss)
        self.max_iters = _check_count("max_iters", max_iters, "IterBasedTrainLoop")
        self.max_epochs = 1

    def _batches(self, skip: int) -> Iterator[Any]:
        """Endless batches, starting after the first ``skip`` ones (resuming).

        The saved generator states are restored at the point where the interrupted run was:
        before creating the data iterator at a pass boundary, after it (and after any
        skipped batches) in the middle of a pass.
        """
        sampler = index_sampler(self.dataloader)
        infinite = type(sampler).__name__ == "InfiniteSampler"
        epoch, within = (0, skip) if infinite else divmod(skip, max(len(self.dataloader), 1))
        if within == 0:
            self._finish_resume()
        fetch_to_skip = within if (within and not self._skip_samples(within)) else 0
        while True:
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            iterator = iter(self.dataloader)
            for _ in range(fetch_to_skip):  # a sampler without set_start: load and drop (MMEngine)
                next(iterator)
            fetch_to_skip = 0
            self._finish_resume()
            yield from iterator
            epoch += 1

    def run(self) -> Any:
        runner = self.runner
        runner.call_hook("before_train")
        runner.call_hook("before_train_epoch")
        batches = self._batches(skip=self._iter)
        while self._iter < self.max_iters:
            self.run_iter(self._iter, next(batches))
            if self._iter >= self.val_begin and (
                self._iter % self.val_interval == 0 or self._iter == self.max_iters
            ):
                self.run_validation()
        runner.call_hook("after_train_epoch")
        runner.call_hook("after_train")
        return runner.model


@LOOPS.register_module()
class EpochBasedTrainLoop(_TrainLoopBase):
    """Train for ``max_epochs`` passes over the data; validate every ``val_interval`` epochs."""

    by_epoch = True

    def __init__(
        self,
        runner: Any,
        dataloader: DataLoader,
        max_epochs: int,
        val_begin: int = 1,
        val_interval: int = 1,
        dynamic_intervals: Any = None,
        on_nonfinite_loss: str = "stop",
    ) -> None:
        super().__init__(runner, dataloader, val_begin, val_interval, on_nonfinite_loss)
        self.max_epochs = _check_count("max_epochs", max_epochs, "EpochBasedTrainLoop")
        self.max_iters = self.max_epochs * len(dataloader)

    def run(self) -> Any:
        runner = self.runner
        runner.call_hook("before_train")
        # Resuming mid-epoch (a checkpoint saved by iteration): skip what this epoch already saw.
        skip = self._iter - self._epoch * len(self.dataloader)
        while self._epoch < self.max_epochs:
            runner.call_hook("before_train_epoch")
            sampler = index_sampler(self.dataloader)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(self._epoch)
            if skip <= 0:
                self._finish_resume()
            fetch_to_skip = skip if (skip > 0 and not self._skip_samples(skip)) else 0
            offset, skip = max(skip, 0), 0
            iterator = iter(self.dataloader)
            for _ in range(fetch_to_skip):
                next(iterator)
            self._finish_resume()
            runner.model.train()
            for batch_idx, data_batch in enumerate(iterator, start=offset):
                self.run_iter(batch_idx, data_batch)
            runner.call_hook("after_train_epoch")
            self._epoch += 1
            if self._epoch >= self.val_begin and (
                self._epoch % self.val_interval == 0 or self._epoch == self.max_epochs
            ):
                self.run_validation()
        runner.call_hook("after_train")
        return runner.model


class _EvalLoopBase:
    mode = "val"

    def __init__(
        self, runner: Any, dataloader: DataLoader, evaluator: Any, fp16: bool = False
    ) -> None:
        self.runner = runner
        self.dataloader = dataloader
        self.evaluator = evaluator
        self.fp16 = fp16
        self.last_metrics: dict[str, Any] | None = None
        dataset = getattr(dataloader, "dataset", None)
        meta = getattr(dataset, "metainfo", None)
        if meta is not None and hasattr(evaluator, "dataset_meta"):
            evaluator.dataset_meta = meta

    def run(self) -> dict[str, Any]:
        runner, mode = self.runner, self.mode
        runner.call_hook(f"before_{mode}")
        runner.call_hook(f"before_{mode}_epoch")
        runner.model.eval()
        step = getattr(runner.model, f"{mode}_step", None) or runner.model.val_step
        for batch_idx, data_batch in enumerate(self.dataloader):
            runner.call_hook(f"before_{mode}_iter", batch_idx=batch_idx, data_batch=data_batch)
            with torch.no_grad(), self._autocast():
                outputs = step(data_batch)
            self.evaluator.process(data_samples=outputs, data_batch=data_batch)
            runner.call_hook(
                f"after_{mode}_iter", batch_idx=batch_idx, data_batch=data_batch, outputs=outputs
            )
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        self.last_metrics = metrics
        runner.call_hook(f"after_{mode}_epoch", metrics=metrics)
        runner.call_hook(f"after_{mode}")
        return metrics

    def _autocast(self) -> Any:
        if not self.fp16:
            return torch.autocast("cpu", enabled=False)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.float16 if device == "cuda" else torch.bfloat16
        return torch.autocast(device, dtype=dtype)


@LOOPS.register_module()
class ValLoop(_EvalLoopBase):
    """Predict every validation batch and evaluate the metrics."""

    mode = "val"


@LOOPS.register_module()
class TestLoop(_EvalLoopBase):
    """Predict every test batch and evaluate the metrics."""

    mode = "test"
