"""Train, validation and test loops (MMEngine's, SPEC §6.2).

The train step is one method per loop (``run_iter``) with the hook calls around it visible.
A non-finite loss stops the run with a message naming the iteration and the loss terms
(``on_nonfinite_loss='stop'``, default) or skips that update (``'skip'``, until
``max_consecutive_skips`` updates in a row were skipped). Weights and buffers are checked for
NaN/Inf at each log interval (``check_finite``) and before every checkpoint save, with one fused
reduction read there.

No iteration between two log lines waits for the device. The step's log values are copied
once on the device (``DeviceValues``; hooks and the log store get that copy), and in 'stop' mode
the losses are read there together at the same points as the weights:
the first bad iteration is still named exactly, but its update (and those up to the check) has
been applied. ``check_finite='every_iter'`` reads each loss before its update, and 'skip' mode
must (it decides the update), so both cost one host-device sync per iteration.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader

from segwright.engine import finite
from segwright.engine.data import index_sampler
from segwright.engine.logging.store import DeviceValues, read_all
from segwright.engine.loop_checks import (
    check_dynamic_intervals,
    check_interval,
    check_train_loop,
    sampler_is_endless,
    val_interval_at,
)
from segwright.engine.model import NonFiniteLossError
from segwright.engine.rng import preserved_rng, restore_rng_state
from segwright.registry import LOOPS
from segwright.utils.errors import ConfigError, TrainingError


def _check_count(name: str, value: Any, loop: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ConfigError(f"train_cfg.{name} of {loop} must be a whole number, got {value!r}.")
    if value < 0:
        raise ConfigError(f"train_cfg.{name} of {loop} must not be negative, got {value}.")
    return int(value)


class _TrainLoopBase:
    """Shared by the train loops.

    Args (besides the loops' own):
        on_nonfinite_loss: 'stop' (default) or 'skip' the update of an iteration whose loss is
            NaN/Inf.
        max_consecutive_skips: In 'skip' mode, stop once this many updates in a row were
            skipped (0: never stop).
        check_finite: When weights, buffers and the loss are checked for NaN/Inf during
            training: 'log_interval' (default; one host read per LoggerHook interval and before
            each checkpoint save), 'every_iter' (one per iteration, each loss before its update:
            names the first bad iteration exactly and leaves its weights untouched) or 'off' (the
            weights are not checked, which also lets checkpoints with non-finite values be saved,
            for models that keep such buffers; the loss is, as with 'log_interval').
    """

    by_epoch = False

    def __init__(
        self,
        runner: Any,
        dataloader: DataLoader,
        val_begin: int = 1,
        val_interval: int = 1,
        on_nonfinite_loss: str = "stop",
        max_consecutive_skips: int = 5,
        check_finite: str = "log_interval",
    ) -> None:
        if on_nonfinite_loss not in ("stop", "skip"):
            raise ConfigError(
                f"train_cfg.on_nonfinite_loss must be 'stop' or 'skip', got {on_nonfinite_loss!r}."
            )
        if check_finite not in finite.CHECK_FINITE_MODES:
            raise ConfigError(
                f"train_cfg.check_finite must be one of {list(finite.CHECK_FINITE_MODES)}, "
                f"got {check_finite!r}."
            )
        self.runner = runner
        self.dataloader = dataloader
        self.val_begin = val_begin
        self.val_interval = check_interval("val_interval", val_interval, type(self).__name__)
        self.on_nonfinite_loss = on_nonfinite_loss
        self.max_consecutive_skips = _check_count(
            "max_consecutive_skips", max_consecutive_skips, type(self).__name__
        )
        self.check_finite = check_finite
        # 'skip' decides each update, 'every_iter' stops before it: both read every loss at once.
        self.eager_loss_check = on_nonfinite_loss == "skip" or check_finite == "every_iter"
        self._unread_losses: list[tuple[int, DeviceValues]] = []  # (iteration, its log values)
        self._iter = 0
        self._epoch = 0
        self.skipped_iters: list[int] = []
        self._consecutive_skips = 0
        self._check_interval: int | None = None
        self._checked = False
        self._first_loss: tuple[float, int] | None = None
        self._explosion_reported = False
        # Set by Runner.resume: generator states to restore once the data position is restored.
        self.resume_rng_state: dict[str, Any] | None = None

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def epoch(self) -> int:
        return self._epoch

    def state_dict(self) -> dict[str, int]:
        """The iterations and epochs done (the progress a checkpoint records)."""
        return {"iter": self._iter, "epoch": self._epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a checkpoint's progress: ``iter``, ``epoch`` and optionally ``rng``.

        ``rng`` (generator states) is restored once :meth:`_open_pass` reaches the data
        position the checkpoint was saved at, so the resumed run draws what the first would.
        """
        self._iter = int(state.get("iter", 0))
        self._epoch = int(state.get("epoch", 0))
        if state.get("rng") is not None:
            self.resume_rng_state = state["rng"]

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
            self._consecutive_skips = 0
        except NonFiniteLossError as exc:
            outputs = None
            self._skip_or_stop(exc)
        if outputs and all(isinstance(v, torch.Tensor) for v in outputs.values()):
            # One copy on the device (no sync), which the hooks and the log store get too.
            outputs = DeviceValues(outputs)
            if not self.eager_loss_check and "loss" in outputs:
                self._unread_losses.append((self._iter + 1, outputs))
        if self._check_due(batch_idx):
            where = f"after iteration {self._iter + 1}"
            read = self.check_losses(where)
            if self.check_finite != "off":
                self._checked = True
                self._check_state(where)
                if read:
                    self._watch_loss(read[-1][1]["loss"])
                elif outputs and isinstance(outputs.get("loss"), torch.Tensor):
                    self._watch_loss(float(outputs["loss"]))  # eager check: read at checks only
        runner.call_hook(
            "after_train_iter", batch_idx=batch_idx, data_batch=data_batch, outputs=outputs
        )
        self._iter += 1

    def check_losses(self, where: str) -> list[tuple[int, dict[str, float]]]:
        """Read the losses kept on the device since the last check (one host read for all).

        Called at the loop's checks and before every checkpoint save. Returns the iterations
        and their log values, oldest first.

        Raises:
            TrainingError: One of those losses is NaN/Inf (the first one is named).
        """
        unread, self._unread_losses = self._unread_losses, []
        read_all(values for _, values in unread)
        read = [(iteration, values.as_floats()) for iteration, values in unread]
        for iteration, terms in read:
            if not math.isfinite(terms["loss"]):
                raise self._loss_error(
                    iteration,
                    terms,
                    f" {where}, where the losses are checked (train_cfg.check_finite="
                    "'every_iter' checks each one before its update)",
                )
        return read

    def _loss_error(self, iteration: int, terms: dict[str, float], found: str = "") -> Exception:
        listed = ", ".join(f"{k}={v:.4g}" for k, v in terms.items())
        return TrainingError(
            f"The loss is not finite at iteration {iteration} ({listed}), lr "
            f"{finite.current_lr(self.runner)}. Training stopped{found}. "
            f"{finite.last_good_sentence(self.runner)} Lower the learning rate, add clip_grad to "
            "optim_wrapper, check the labels, or set train_cfg.on_nonfinite_loss='skip'."
        )

    def _skip_or_stop(self, exc: NonFiniteLossError) -> None:
        runner, iteration = self.runner, self._iter + 1
        terms = ", ".join(f"{k}={v:.4g}" for k, v in exc.log_vars.items())
        elsewhere = getattr(exc, "on_other_rank", False)
        if elsewhere:
            terms = f"on another rank; this rank's {terms}"
        if self.on_nonfinite_loss == "stop":
            found = " on every rank, as another rank's loss was not finite" if elsewhere else ""
            raise self._loss_error(iteration, exc.log_vars, found) from None
        runner.optim_wrapper.zero_grad()
        self.skipped_iters.append(self._iter)
        self._consecutive_skips += 1
        runner.logger.warning(
            f"Non-finite loss at iteration {iteration} ({terms}); update skipped."
        )
        limit = self.max_consecutive_skips
        if limit and self._consecutive_skips >= limit:
            raise TrainingError(
                f"The loss was not finite in {limit} consecutive iterations "
                f"({iteration - limit + 1} to {iteration}; last: {terms}), lr "
                f"{finite.current_lr(runner)}; every update was skipped, so training stopped "
                f"(train_cfg.max_consecutive_skips={limit}; {len(self.skipped_iters)} updates "
                f"skipped in all). {finite.last_good_sentence(runner)} Lower the learning rate, "
                "add clip_grad to optim_wrapper, check the labels, or raise "
                "train_cfg.max_consecutive_skips (0: never stop)."
            ) from None

    def _check_due(self, batch_idx: int) -> bool:
        """Whether to check this iteration (host reads): the first, and where LoggerHook logs.

        The first one of a run (or of a resumed run) shows a wrong lr at once; with
        ``check_finite='every_iter'`` every iteration is checked. With 'off' only the losses
        kept on the device are checked, where LoggerHook logs.
        """
        off = self.check_finite == "off"
        if off and not self._unread_losses:
            return False
        if self._check_interval is None:
            from segwright.engine.hooks.logger_hook import LoggerHook

            loggers = [h for h in self.runner.hooks if isinstance(h, LoggerHook)]
            interval = loggers[0].interval if loggers else 10
            self._check_interval = 1 if self.check_finite == "every_iter" else max(interval, 1)
        done = self._iter + 1
        first = not (off or self._checked)  # also the first iteration after a resume
        # By epoch, LoggerHook counts the iterations of the epoch: check where it logs.
        step = batch_idx + 1 if self.by_epoch else done
        return first or step % self._check_interval == 0 or done == self.max_iters

    def _check_state(self, where: str) -> None:
        """Stop the run when a weight or buffer holds NaN/Inf (one host read when none does)."""
        offenders = finite.find_nonfinite(finite.model_state(self.runner._raw_model))
        if offenders:
            raise finite.nonfinite_state_error(self.runner, offenders, where)

    def _watch_loss(self, loss: float) -> None:
        """Warn once when the loss, still finite, grew LOSS_EXPLOSION_FACTOR times its first value."""
        if self._explosion_reported:
            return
        value, iteration = abs(loss), self._iter + 1
        if self._first_loss is None:
            self._first_loss = (value, iteration)
            return
        first, first_iteration = self._first_loss
        if first > 0 and value > first * finite.LOSS_EXPLOSION_FACTOR:
            self._explosion_reported = True
            self.runner.logger.warning(
                f"The loss is exploding: {value:.4g} at iteration {iteration}, {value / first:.3g} "
                f"times its first logged value {first:.4g} (iteration {first_iteration}), with lr "
                f"{finite.current_lr(self.runner)}. Lower the learning rate or add clip_grad to "
                "optim_wrapper; training goes on while the loss and the weights stay finite."
            )

    def _begin(self) -> None:
        """Check the weights as initialised, loaded or resumed before the first iteration."""
        self.runner._raw_model.eager_loss_check = self.eager_loss_check
        if self.check_finite != "off":
            self._check_state(
                f"before iteration {self._iter + 1} (the weights as initialised or loaded)"
            )

    def _report_skips(self) -> None:
        if self.skipped_iters:
            self.runner.logger.warning(
                f"{len(self.skipped_iters)} of {self._iter} updates were skipped because the "
                "loss was not finite."
            )

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

    def _resume_position(self) -> tuple[int, int]:
        """``(pass, batches of it already trained)``: where the data resumes (0, 0 when fresh).

        By epoch, the checkpoint's epoch counts the passes done. By iteration, the passes over
        the data follow from the iterations done, except with an endless sampler: its one pass
        never ends.
        """
        if self.by_epoch:
            return self._epoch, max(self._iter - self._epoch * len(self.dataloader), 0)
        if sampler_is_endless(index_sampler(self.dataloader)):
            return 0, self._iter
        return divmod(self._iter, max(len(self.dataloader), 1))

    def _open_pass(self, epoch: int, skip: int) -> Iterator[Any]:
        """An iterator over pass ``epoch`` of the data, after its first ``skip`` batches.

        The saved generator states (resuming) are restored where the interrupted run was:
        before creating the iterator at a pass boundary, after it (and after the skipped
        batches) in the middle of a pass.
        """
        sampler = index_sampler(self.dataloader)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        if skip == 0:
            self._finish_resume()
        fetch_to_skip = skip if (skip and not self._skip_samples(skip)) else 0
        iterator = iter(self.dataloader)
        for _ in range(fetch_to_skip):  # a sampler without set_start: load and drop (MMEngine)
            next(iterator)
        self._finish_resume()
        return iterator

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
        max_consecutive_skips: int = 5,
        check_finite: str = "log_interval",
    ) -> None:
        super().__init__(
            runner,
            dataloader,
            val_begin,
            val_interval,
            on_nonfinite_loss,
            max_consecutive_skips,
            check_finite,
        )
        self.max_iters = _check_count("max_iters", max_iters, "IterBasedTrainLoop")
        self.max_epochs = 1
        self.dynamic_intervals = check_dynamic_intervals(dynamic_intervals, "IterBasedTrainLoop")
        check_train_loop(self)

    def _batches(self) -> Iterator[Any]:
        """Endless batches, pass after pass, from where the run resumes."""
        epoch, skip = self._resume_position()
        while True:
            yield from self._open_pass(epoch, skip)
            epoch, skip = epoch + 1, 0

    def run(self) -> Any:
        runner = self.runner
        runner.call_hook("before_train")
        self._begin()
        runner.call_hook("before_train_epoch")
        runner.model.train()  # applies norm_eval (a freshly built model counts as training)
        batches = self._batches()
        while self._iter < self.max_iters:
            self.run_iter(self._iter, next(batches))
            if self._iter >= self.val_begin and (
                self._iter % val_interval_at(self._iter, self.val_interval, self.dynamic_intervals)
                == 0
                or self._iter == self.max_iters
            ):
                self.run_validation()
        runner.call_hook("after_train_epoch")
        self._report_skips()
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
        max_consecutive_skips: int = 5,
        check_finite: str = "log_interval",
    ) -> None:
        super().__init__(
            runner,
            dataloader,
            val_begin,
            val_interval,
            on_nonfinite_loss,
            max_consecutive_skips,
            check_finite,
        )
        self.max_epochs = _check_count("max_epochs", max_epochs, "EpochBasedTrainLoop")
        self.dynamic_intervals = check_dynamic_intervals(dynamic_intervals, "EpochBasedTrainLoop")
        check_train_loop(self)
        self.max_iters = self.max_epochs * len(dataloader)

    def run(self) -> Any:
        runner = self.runner
        runner.call_hook("before_train")
        self._begin()
        # Resuming mid-epoch (a checkpoint saved by iteration): skip what this epoch already saw.
        _, skip = self._resume_position()
        while self._epoch < self.max_epochs:
            runner.call_hook("before_train_epoch")
            iterator = self._open_pass(self._epoch, skip)
            offset, skip = skip, 0
            runner.model.train()
            for batch_idx, data_batch in enumerate(iterator, start=offset):
                self.run_iter(batch_idx, data_batch)
            runner.call_hook("after_train_epoch")
            self._epoch += 1
            if self._epoch >= self.val_begin and (
                self._epoch
                % val_interval_at(self._epoch, self.val_interval, self.dynamic_intervals)
                == 0
                or self._epoch == self.max_epochs
            ):
                self.run_validation()
        self._report_skips()
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
