"""MMCV 0.x annealing lr policies: CosineAnnealing, FlatCosineAnnealing, CosineRestart, Linear.

SPEC §5.1. Each anneals from the base lr towards ``min_lr`` (or ``base·min_lr_ratio``); the
timing and warmup are :class:`~segwright.engine.hooks.lr_updater_hook.LrUpdaterHook`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segwright.engine.hooks.lr_updater_hook import LrUpdaterHook
from segwright.engine.hooks.lr_updater_utils import (
    anneal_cos,
    anneal_linear,
    check_min_or_ratio,
    check_pct,
    check_steps,
    is_number,
    option_error,
    progress_of,
)
from segwright.registry import HOOKS
from segwright.utils.errors import ConfigError


class _TargetLrMixin:
    """The annealing target: ``min_lr``, or ``base·min_lr_ratio``."""

    min_lr: float | None
    min_lr_ratio: float | None

    def _target(self, base_lr: float) -> float:
        if self.min_lr_ratio is not None:
            return base_lr * self.min_lr_ratio
        return self.min_lr  # type: ignore[return-value]


@HOOKS.register_module()
class CosineAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """Cosine from the base lr (t = 0) towards the target (t = T)."""

    def __init__(
        self, min_lr: float | None = None, min_lr_ratio: float | None = None, **kwargs: Any
    ) -> None:
        check_min_or_ratio(type(self).__name__, "min_lr", min_lr, min_lr_ratio)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, max_progress = progress_of(runner, self.by_epoch)
        return anneal_cos(base_lr, self._target(base_lr), progress / max_progress)


@HOOKS.register_module()
class FlatCosineAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """The base lr until ``s = round(T·start_percent)``, then cosine to the target at ``T``."""

    def __init__(
        self,
        start_percent: float = 0.75,
        min_lr: float | None = None,
        min_lr_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_min_or_ratio(owner, "min_lr", min_lr, min_lr_ratio)
        check_pct(owner, "start_percent", start_percent)
        self.start_percent = start_percent
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, max_progress = progress_of(runner, self.by_epoch)
        start = round(max_progress * self.start_percent)
        if progress < start:
            return base_lr
        return anneal_cos(
            base_lr, self._target(base_lr), (progress - start) / (max_progress - start)
        )


@HOOKS.register_module()
class CosineRestartLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """Cosine annealing restarted after each of ``periods``, amplitude ``restart_weights[i]``."""

    def __init__(
        self,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1,),
        min_lr: float | None = None,
        min_lr_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_min_or_ratio(owner, "min_lr", min_lr, min_lr_ratio)
        if isinstance(periods, (str, bytes)) or not isinstance(periods, Sequence) or not periods:
            raise option_error(owner, "periods", f"must be a list of ints, got {periods!r}.")
        check_steps(owner, "periods", list(periods))
        if not isinstance(restart_weights, Sequence) or not all(
            is_number(w) for w in restart_weights
        ):
            raise option_error(
                owner, "restart_weights", f"must be a list of numbers, got {restart_weights!r}."
            )
        if len(periods) != len(restart_weights):
            raise option_error(
                owner,
                "restart_weights",
                f"has {len(restart_weights)} values for {len(periods)} periods; give one "
                "weight per period.",
            )
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        self.cumulative_periods = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]
        super().__init__(**kwargs)

    def before_run(self, runner: Any) -> None:
        super().before_run(runner)
        _, max_progress = progress_of(runner, self.by_epoch)
        if self.cumulative_periods[-1] < max_progress:
            unit = "epochs" if self.by_epoch else "iterations"
            raise option_error(
                type(self).__name__,
                "periods",
                f"cover {self.cumulative_periods[-1]} {unit}, fewer than the run's "
                f"{max_progress}; MMCV fails once training passes the last period. Make the "
                "periods add up to at least the run length.",
            )

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, _ = progress_of(runner, self.by_epoch)
        index = _period_index(progress, self.cumulative_periods)
        start = 0 if index == 0 else self.cumulative_periods[index - 1]
        alpha = min((progress - start) / self.periods[index], 1)
        return anneal_cos(base_lr, self._target(base_lr), alpha, self.restart_weights[index])


def _period_index(progress: int, cumulative_periods: Sequence[int]) -> int:
    for index, end in enumerate(cumulative_periods):
        if progress < end:
            return index
    raise ConfigError(
        f"Progress {progress} is beyond the cosine-restart periods (cumulative "
        f"{list(cumulative_periods)}). Make the periods add up to at least the run length."
    )


@HOOKS.register_module()
class LinearAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """Straight line from the base lr (t = 0) towards the target (t = T)."""

    def __init__(
        self, min_lr: float | None = None, min_lr_ratio: float | None = None, **kwargs: Any
    ) -> None:
        check_min_or_ratio(type(self).__name__, "min_lr", min_lr, min_lr_ratio)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        progress, max_progress = progress_of(runner, self.by_epoch)
        return anneal_linear(base_lr, self._target(base_lr), progress / max_progress)


__all__ = [
    "CosineAnnealingLrUpdaterHook",
    "CosineRestartLrUpdaterHook",
    "FlatCosineAnnealingLrUpdaterHook",
    "LinearAnnealingLrUpdaterHook",
]
