"""MMCV 0.x lr policies (``lr_config``) as schedulers: MMCV's formulas and timing (SPEC §5.1).

``t``/``T`` is (iteration, max_iters) or (epoch, max_epochs), see
:mod:`~segwright.engine.optim.schedulers.mmcv_base`. ``lr_config=dict(policy='poly', ...)``
becomes ``param_scheduler=[dict(type='MMCVPolyLR', ...)]`` on the config floor. The cyclic
policies are in :mod:`.mmcv_cycles`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segwright.engine.optim.schedulers.base import arg_error, is_number
from segwright.engine.optim.schedulers.mmcv_base import (
    MMCVPolicyScheduler,
    anneal_cos,
    anneal_linear,
    check_min_or_ratio,
    check_number,
    check_pct,
    check_steps,
    step_exponent,
)
from segwright.registry import PARAM_SCHEDULERS
from segwright.utils.errors import ConfigError


@PARAM_SCHEDULERS.register_module()
class MMCVFixedLR(MMCVPolicyScheduler):
    """``lr = base`` (only the warmup changes it)."""

    def regular(self, base: float, group_index: int) -> float:
        return base


@PARAM_SCHEDULERS.register_module()
class MMCVStepLR(MMCVPolicyScheduler):
    """``lr = base·gamma^k`` (``k = t // step``, or milestones passed), floored at ``min_lr``."""

    def __init__(
        self,
        optimizer: Any,
        step: int | Sequence[int],
        gamma: float = 0.1,
        min_lr: float | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_steps(owner, "step", step)
        check_number(owner, "gamma", gamma)
        check_number(owner, "min_lr", min_lr, allow_none=True)
        self.step_at = step if isinstance(step, int) else list(step)
        self.gamma = gamma
        self.min_lr = min_lr
        super().__init__(optimizer, **kwargs)

    def regular(self, base: float, group_index: int) -> float:
        progress, _ = self.progress_of()
        lr = base * self.gamma ** step_exponent(progress, self.step_at)
        if self.min_lr is not None:
            lr = max(lr, self.min_lr)
        return lr


@PARAM_SCHEDULERS.register_module()
class MMCVExpLR(MMCVPolicyScheduler):
    """``lr = base·gamma^t``."""

    def __init__(self, optimizer: Any, gamma: float, **kwargs: Any) -> None:
        check_number(type(self).__name__, "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, **kwargs)

    def regular(self, base: float, group_index: int) -> float:
        progress, _ = self.progress_of()
        return base * self.gamma**progress


@PARAM_SCHEDULERS.register_module()
class MMCVPolyLR(MMCVPolicyScheduler):
    """``lr = (base − min_lr)·(1 − t/T)^power + min_lr``; ``T`` = max_iters: never min_lr."""

    def __init__(
        self, optimizer: Any, power: float = 1.0, min_lr: float = 0.0, **kwargs: Any
    ) -> None:
        owner = type(self).__name__
        check_number(owner, "power", power)
        check_number(owner, "min_lr", min_lr)
        self.power = power
        self.min_lr = min_lr
        super().__init__(optimizer, **kwargs)

    def regular(self, base: float, group_index: int) -> float:
        progress, max_progress = self.progress_of()
        coeff = (1 - progress / max_progress) ** self.power
        return (base - self.min_lr) * coeff + self.min_lr


@PARAM_SCHEDULERS.register_module()
class MMCVInvLR(MMCVPolicyScheduler):
    """``lr = base·(1 + gamma·t)^(−power)``."""

    def __init__(self, optimizer: Any, gamma: float, power: float = 1.0, **kwargs: Any) -> None:
        owner = type(self).__name__
        check_number(owner, "gamma", gamma)
        check_number(owner, "power", power)
        self.gamma = gamma
        self.power = power
        super().__init__(optimizer, **kwargs)

    def regular(self, base: float, group_index: int) -> float:
        progress, _ = self.progress_of()
        return base * (1 + self.gamma * progress) ** (-self.power)


class _AnnealTarget(MMCVPolicyScheduler):
    """An annealing policy's target: ``min_lr``, or ``base·min_lr_ratio``."""

    min_lr: float | None
    min_lr_ratio: float | None

    def _set_target(self, min_lr: Any, min_lr_ratio: Any) -> None:
        check_min_or_ratio(type(self).__name__, "min_lr", min_lr, min_lr_ratio)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio

    def target(self, base: float) -> float:
        if self.min_lr_ratio is not None:
            return base * self.min_lr_ratio
        return self.min_lr  # type: ignore[return-value]


@PARAM_SCHEDULERS.register_module()
class MMCVCosineAnnealingLR(_AnnealTarget):
    """Cosine from the base lr (t = 0) towards the target (t = T)."""

    def __init__(
        self,
        optimizer: Any,
        min_lr: float | None = None,
        min_lr_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        self._set_target(min_lr, min_lr_ratio)
        super().__init__(optimizer, **kwargs)

    def regular(self, base: float, group_index: int) -> float:
        progress, max_progress = self.progress_of()
        return anneal_cos(base, self.target(base), progress / max_progress)


@PARAM_SCHEDULERS.register_module()
class MMCVLinearAnnealingLR(_AnnealTarget):
    """Straight line from the base lr (t = 0) towards the target (t = T)."""

    def __init__(
        self,
        optimizer: Any,
        min_lr: float | None = None,
        min_lr_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        self._set_target(min_lr, min_lr_ratio)
        super().__init__(optimizer, **kwargs)

    def regular(self, base: float, group_index: int) -> float:
        progress, max_progress = self.progress_of()
        return anneal_linear(base, self.target(base), progress / max_progress)


@PARAM_SCHEDULERS.register_module()
class MMCVFlatCosineAnnealingLR(_AnnealTarget):
    """The base lr until ``s = round(T·start_percent)``, then cosine to the target at ``T``."""

    def __init__(
        self,
        optimizer: Any,
        start_percent: float = 0.75,
        min_lr: float | None = None,
        min_lr_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        self._set_target(min_lr, min_lr_ratio)
        check_pct(type(self).__name__, "start_percent", start_percent)
        self.start_percent = start_percent
        super().__init__(optimizer, **kwargs)

    def regular(self, base: float, group_index: int) -> float:
        progress, max_progress = self.progress_of()
        start = round(max_progress * self.start_percent)
        if progress < start:
            return base
        return anneal_cos(base, self.target(base), (progress - start) / (max_progress - start))


@PARAM_SCHEDULERS.register_module()
class MMCVCosineRestartLR(_AnnealTarget):
    """Cosine annealing restarted after each of ``periods``, amplitude ``restart_weights[i]``."""

    def __init__(
        self,
        optimizer: Any,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1,),
        min_lr: float | None = None,
        min_lr_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        self._set_target(min_lr, min_lr_ratio)
        if isinstance(periods, (str, bytes)) or not isinstance(periods, Sequence) or not periods:
            raise arg_error(owner, "periods", f"must be a list of ints, got {periods!r}.")
        check_steps(owner, "periods", list(periods))
        if not isinstance(restart_weights, Sequence) or not all(
            is_number(w) for w in restart_weights
        ):
            raise arg_error(
                owner, "restart_weights", f"must be a list of numbers, got {restart_weights!r}."
            )
        if len(periods) != len(restart_weights):
            raise arg_error(
                owner,
                "restart_weights",
                f"has {len(restart_weights)} values for {len(periods)} periods; give one "
                "weight per period.",
            )
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.cumulative_periods = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]
        super().__init__(optimizer, **kwargs)

    def _bases(self) -> list[float]:
        if self.progress != "frozen":  # checked before iteration 0, not when training gets there
            max_progress = self.max_iters if self.progress == "iter" else self.max_epochs
            if max_progress is not None and self.cumulative_periods[-1] < max_progress:
                unit = "iterations" if self.progress == "iter" else "epochs"
                raise arg_error(
                    type(self).__name__,
                    "periods",
                    f"cover {self.cumulative_periods[-1]} {unit}, fewer than the run's "
                    f"{max_progress}; MMCV fails once training passes the last period. Make the "
                    "periods add up to at least the run length.",
                )
        return super()._bases()

    def regular(self, base: float, group_index: int) -> float:
        progress, _ = self.progress_of()
        index = _period_index(progress, self.cumulative_periods)
        start = 0 if index == 0 else self.cumulative_periods[index - 1]
        alpha = min((progress - start) / self.periods[index], 1)
        return anneal_cos(base, self.target(base), alpha, self.restart_weights[index])


def _period_index(progress: int, cumulative_periods: Sequence[int]) -> int:
    for index, end in enumerate(cumulative_periods):
        if progress < end:
            return index
    raise ConfigError(
        f"Progress {progress} is beyond the cosine-restart periods (cumulative "
        f"{list(cumulative_periods)}). Make the periods add up to at least the run length."
    )


__all__ = [
    "MMCVCosineAnnealingLR",
    "MMCVCosineRestartLR",
    "MMCVExpLR",
    "MMCVFixedLR",
    "MMCVFlatCosineAnnealingLR",
    "MMCVInvLR",
    "MMCVLinearAnnealingLR",
    "MMCVPolyLR",
    "MMCVStepLR",
]
