"""MMCV 0.x learning-rate policies (``lr_config``) as hooks that set the lr before each iteration.

SPEC §5.1. Each policy is a closed form of the progress ``t`` (``runner.iter``, or
``runner.epoch`` with ``by_epoch=True``) and of each param group's base lr ``initial_lr``
(set once in ``before_run``, so paramwise lr multipliers survive). A warmup multiplies the
*scheduled* lr during the first ``warmup_iters`` iterations; it does not delay the schedule.

Timing follows MMCV's runners: with ``by_epoch=False`` the lr is recomputed in every
``before_train_iter``; with ``by_epoch=True`` it is computed in ``before_train_epoch`` and only
the warmup touches it per iteration. MMCV's ``IterBasedRunner`` never calls
``before_train_epoch``, and its ``register_training_hooks`` makes ``by_epoch=False`` the default
of ``lr_config``; :func:`segwright.engine.hooks.legacy_schedules.lr_config_to_hook` takes
``iter_based=True`` to do the same. Our ``IterBasedTrainLoop`` calls ``before_train_epoch``
once, at epoch 0, so a ``by_epoch=True`` policy there holds its epoch-0 value (the base lr, as
MMCV's frozen lr) for the whole run.

The hooks act on every group of ``runner.optim_wrapper.param_groups`` (which includes the
wrapper's base-settings group when there are several groups, so a logged ``base_lr`` follows
the schedule too). Method names (``get_lr``, ``get_regular_lr``, ``get_warmup_lr``) and
attributes (``base_lr``, ``regular_lr``) are MMCV's, so 0.x custom policies port unchanged.

This module holds the base hook and the closed-form policies (Fixed, Step, Exp, Poly, Inv);
the annealing policies are in :mod:`.lr_updater_annealing`, the cyclic ones in
:mod:`.lr_updater_cycles`, and the shared helpers in :mod:`.lr_updater_utils` (re-exported
here for the momentum hooks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segwright.engine.hooks.hook import Hook
from segwright.engine.hooks.lr_updater_utils import (
    WARMUP_KINDS,
    anneal_cos,
    anneal_linear,
    check_anneal,
    check_bool,
    check_cyclic,
    check_min_or_ratio,
    check_number,
    check_pct,
    check_steps,
    check_warmup,
    cyclic_phases,
    cyclic_value,
    is_number,
    merge_signature,
    option_error,
    param_groups,
    parse_target_ratio,
    per_group,
    progress_of,
    step_exponent,
    torch_optimizer,
    train_dataloader_length,
    warmup_factor,
)
from segwright.registry import HOOKS
from segwright.utils.errors import ConfigError


class LrUpdaterHook(Hook):
    """Base of the MMCV lr policies: subclasses define :meth:`get_lr`.

    Args:
        by_epoch: Compute the schedule from the epoch (at each epoch start) instead of the
            iteration (before every iteration).
        warmup: None, ``'constant'``, ``'linear'`` or ``'exp'``.
        warmup_iters: Length of the warmup in iterations (in epochs with ``warmup_by_epoch``).
        warmup_ratio: The warmup's starting factor, in (0, 1].
        warmup_by_epoch: ``warmup_iters`` counts epochs (converted with the epoch length).

    Raises:
        ConfigError: An argument is out of range; the message names it.
    """

    priority = "VERY_HIGH"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            merge_signature(cls, LrUpdaterHook.__init__)

    def __init__(
        self,
        by_epoch: bool = True,
        warmup: str | None = None,
        warmup_iters: int = 0,
        warmup_ratio: float = 0.1,
        warmup_by_epoch: bool = False,
    ) -> None:
        owner = type(self).__name__
        check_bool(owner, "by_epoch", by_epoch)
        check_bool(owner, "warmup_by_epoch", warmup_by_epoch)
        check_warmup(owner, warmup, warmup_iters, warmup_ratio)
        self.by_epoch = by_epoch
        self.warmup = warmup
        self.warmup_ratio = warmup_ratio
        self.warmup_by_epoch = warmup_by_epoch
        # With warmup_by_epoch the iteration count is known only once the data loader is.
        self.warmup_epochs: int | None = warmup_iters if warmup_by_epoch else None
        self.warmup_iters: int | None = None if warmup_by_epoch else warmup_iters
        self.base_lr: list[float] = []
        self.regular_lr: list[float] = []

    # -- what subclasses define ------------------------------------------------------------

    def get_lr(self, runner: Any, base_lr: float) -> float:
        """The scheduled lr of a group whose base lr is ``base_lr``."""
        raise NotImplementedError

    # -- schedule arithmetic ---------------------------------------------------------------

    def get_regular_lr(self, runner: Any) -> list[float]:
        """The scheduled lr of every group, without warmup."""
        return [self.get_lr(runner, base) for base in self.base_lr]

    def get_warmup_lr(self, cur_iters: int) -> list[float]:
        """The regular lrs multiplied by the warmup factor at iteration ``cur_iters``."""
        factor = warmup_factor(self.warmup, cur_iters, self.warmup_iters, self.warmup_ratio)
        return [lr * factor for lr in self.regular_lr]

    def _set_lr(self, runner: Any, lrs: list[float]) -> None:
        for group, lr in zip(param_groups(runner), lrs):
            group["lr"] = lr

    # -- hook stages -----------------------------------------------------------------------

    def before_run(self, runner: Any) -> None:
        groups = param_groups(runner)
        for group in groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lr = [group["initial_lr"] for group in groups]

    def before_train_epoch(self, runner: Any) -> None:
        if self.warmup_iters is None:
            self.warmup_iters = self.warmup_epochs * train_dataloader_length(runner)
        if not self.by_epoch:
            return
        self.regular_lr = self.get_regular_lr(runner)
        self._set_lr(runner, self.regular_lr)

    def before_train_iter(self, runner: Any, batch_idx: int = 0, data_batch: Any = None) -> None:
        cur_iter = runner.iter
        if self.warmup_iters is None:
            raise ConfigError(
                f"{type(self).__name__}: warmup_by_epoch=True needs before_train_epoch to run "
                "first (it converts the warmup epochs to iterations)."
            )
        if not self.by_epoch:
            self.regular_lr = self.get_regular_lr(runner)
            if self.warmup is None or cur_iter >= self.warmup_iters:
                self._set_lr(runner, self.regular_lr)
            else:
                self._set_lr(runner, self.get_warmup_lr(cur_iter))
        elif self.warmup is not None and cur_iter <= self.warmup_iters:
            if cur_iter == self.warmup_iters:
                self._set_lr(runner, self.regular_lr)
            else:
                self._set_lr(runner, self.get_warmup_lr(cur_iter))


# -- policies ----------------------------------------------------------------------------------


@HOOKS.register_module()
class FixedLrUpdaterHook(LrUpdaterHook):
    """``lr = base`` (only the warmup changes it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        return base_lr


@HOOKS.register_module()
class StepLrUpdaterHook(LrUpdaterHook):
    """``lr = base·gamma^k`` (``k = t // step``, or milestones passed), floored at ``min_lr``."""

    def __init__(
        self,
        step: int | Sequence[int],
        gamma: float = 0.1,
        min_lr: float | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_steps(owner, "step", step)
        check_number(owner, "gamma", gamma)
        check_number(owner, "min_lr", min_lr, allow_none=True)
        self.step = step if isinstance(step, int) else list(step)
        self.gamma = gamma
        self.min_lr = min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, _ = progress_of(runner, self.by_epoch)
        lr = base_lr * self.gamma ** step_exponent(progress, self.step)
        if self.min_lr is not None:
            lr = max(lr, self.min_lr)
        return lr


@HOOKS.register_module()
class ExpLrUpdaterHook(LrUpdaterHook):
    """``lr = base·gamma^t``."""

    def __init__(self, gamma: float, **kwargs: Any) -> None:
        check_number(type(self).__name__, "gamma", gamma)
        self.gamma = gamma
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, _ = progress_of(runner, self.by_epoch)
        return base_lr * self.gamma**progress


@HOOKS.register_module()
class PolyLrUpdaterHook(LrUpdaterHook):
    """``lr = (base − min_lr)·(1 − t/T)^power + min_lr``; ``T`` = max_iters: never min_lr."""

    def __init__(self, power: float = 1.0, min_lr: float = 0.0, **kwargs: Any) -> None:
        owner = type(self).__name__
        check_number(owner, "power", power)
        check_number(owner, "min_lr", min_lr)
        self.power = power
        self.min_lr = min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, max_progress = progress_of(runner, self.by_epoch)
        coeff = (1 - progress / max_progress) ** self.power
        return (base_lr - self.min_lr) * coeff + self.min_lr


@HOOKS.register_module()
class InvLrUpdaterHook(LrUpdaterHook):
    """``lr = base·(1 + gamma·t)^(−power)``."""

    def __init__(self, gamma: float, power: float = 1.0, **kwargs: Any) -> None:
        owner = type(self).__name__
        check_number(owner, "gamma", gamma)
        check_number(owner, "power", power)
        self.gamma = gamma
        self.power = power
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, _ = progress_of(runner, self.by_epoch)
        return base_lr * (1 + self.gamma * progress) ** (-self.power)


__all__ = [
    "ExpLrUpdaterHook",
    "FixedLrUpdaterHook",
    "InvLrUpdaterHook",
    "LrUpdaterHook",
    "PolyLrUpdaterHook",
    "StepLrUpdaterHook",
    "WARMUP_KINDS",
    "anneal_cos",
    "anneal_linear",
    "check_anneal",
    "check_bool",
    "check_cyclic",
    "check_min_or_ratio",
    "check_number",
    "check_pct",
    "check_steps",
    "check_warmup",
    "cyclic_phases",
    "cyclic_value",
    "is_number",
    "merge_signature",
    "option_error",
    "param_groups",
    "parse_target_ratio",
    "per_group",
    "progress_of",
    "step_exponent",
    "torch_optimizer",
    "train_dataloader_length",
    "warmup_factor",
]
