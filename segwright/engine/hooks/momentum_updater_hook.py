"""MMCV 0.x momentum policies (``momentum_config``) as hooks that set the momentum per iteration.

SPEC §5.2. The same timing as the lr hooks (:mod:`segwright.engine.hooks.lr_updater_hook`),
at priority HIGH so they run after the lr hook. The base value of each group is
``initial_momentum`` (set once in ``before_run`` from ``momentum``, or ``betas[0]`` for the
Adam family), and the hooks write ``momentum`` or ``betas[0]``. A warmup *divides* the
scheduled momentum by the factor an lr warmup would multiply with (default ratio 0.9), so the
momentum starts high while the lr starts low.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segwright.engine.hooks.hook import Hook
from segwright.engine.hooks.lr_updater_hook import (
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
    warmup_factor,
)
from segwright.registry import HOOKS
from segwright.utils.errors import ConfigError


def read_momentum(group: Mapping[str, Any]) -> float:
    """A group's momentum: ``momentum``, or ``betas[0]`` for Adam-family optimizers."""
    if "momentum" in group:
        return group["momentum"]
    return group["betas"][0]


def write_momentum(group: dict[str, Any], value: float) -> None:
    """Set ``momentum`` and/or ``betas[0]``, whichever the group has."""
    if "momentum" in group:
        group["momentum"] = value
    if "betas" in group:
        group["betas"] = (value, group["betas"][1])


def _check_has_momentum(owner: str, runner: Any) -> list[dict[str, Any]]:
    groups = param_groups(runner)
    for index, group in enumerate(groups):
        if "momentum" not in group and "betas" not in group:
            raise ConfigError(
                f"{owner} schedules momentum, but param group {index} has neither 'momentum' "
                "nor 'betas' (the optimizer has no momentum). Remove momentum_config or use an "
                "optimizer with momentum (SGD, Adam, AdamW...)."
            )
    return groups


class MomentumUpdaterHook(Hook):
    """Base of the MMCV momentum policies: subclasses define :meth:`get_momentum`.

    Args:
        by_epoch: Compute the schedule from the epoch (at each epoch start) instead of the
            iteration (before every iteration).
        warmup: None, ``'constant'``, ``'linear'`` or ``'exp'``.
        warmup_iters: Length of the warmup in iterations.
        warmup_ratio: The warmup's factor at iteration 0, in (0, 1]; the momentum is divided
            by it.

    Raises:
        ConfigError: An argument is out of range; the message names it.
    """

    priority = "HIGH"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            merge_signature(cls, MomentumUpdaterHook.__init__)

    def __init__(
        self,
        by_epoch: bool = True,
        warmup: str | None = None,
        warmup_iters: int = 0,
        warmup_ratio: float = 0.9,
    ) -> None:
        owner = type(self).__name__
        check_bool(owner, "by_epoch", by_epoch)
        check_warmup(owner, warmup, warmup_iters, warmup_ratio)
        self.by_epoch = by_epoch
        self.warmup = warmup
        self.warmup_iters = warmup_iters
        self.warmup_ratio = warmup_ratio
        self.base_momentum: list[float] = []
        self.regular_momentum: list[float] = []

    def get_momentum(self, runner: Any, base_momentum: Any) -> float:
        """The scheduled momentum of a group whose base momentum is ``base_momentum``."""
        raise NotImplementedError

    def get_regular_momentum(self, runner: Any) -> list[float]:
        """The scheduled momentum of every group, without warmup."""
        return [self.get_momentum(runner, base) for base in self.base_momentum]

    def get_warmup_momentum(self, cur_iters: int) -> list[float]:
        """The regular momenta divided by the warmup factor at iteration ``cur_iters``."""
        factor = warmup_factor(self.warmup, cur_iters, self.warmup_iters, self.warmup_ratio)
        return [momentum / factor for momentum in self.regular_momentum]

    def _set_momentum(self, runner: Any, values: list[float]) -> None:
        for group, value in zip(param_groups(runner), values):
            write_momentum(group, value)

    def before_run(self, runner: Any) -> None:
        groups = _check_has_momentum(type(self).__name__, runner)
        for group in groups:
            group.setdefault("initial_momentum", read_momentum(group))
        self.base_momentum = [group["initial_momentum"] for group in groups]

    def before_train_epoch(self, runner: Any) -> None:
        if not self.by_epoch:
            return
        self.regular_momentum = self.get_regular_momentum(runner)
        self._set_momentum(runner, self.regular_momentum)

    def before_train_iter(self, runner: Any, batch_idx: int = 0, data_batch: Any = None) -> None:
        cur_iter = runner.iter
        if not self.by_epoch:
            self.regular_momentum = self.get_regular_momentum(runner)
            if self.warmup is None or cur_iter >= self.warmup_iters:
                self._set_momentum(runner, self.regular_momentum)
            else:
                self._set_momentum(runner, self.get_warmup_momentum(cur_iter))
        elif self.warmup is not None and cur_iter <= self.warmup_iters:
            if cur_iter == self.warmup_iters:
                self._set_momentum(runner, self.regular_momentum)
            else:
                self._set_momentum(runner, self.get_warmup_momentum(cur_iter))


@HOOKS.register_module()
class StepMomentumUpdaterHook(MomentumUpdaterHook):
    """``momentum = base·gamma^k`` (``k`` as in the step lr policy); floor ``min_momentum``."""

    def __init__(
        self,
        step: int | Sequence[int],
        gamma: float = 0.5,
        min_momentum: float | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_steps(owner, "step", step)
        check_number(owner, "gamma", gamma)
        check_number(owner, "min_momentum", min_momentum, allow_none=True)
        self.step = step if isinstance(step, int) else list(step)
        self.gamma = gamma
        self.min_momentum = min_momentum
        super().__init__(**kwargs)

    def get_momentum(self, runner: Any, base_momentum: float) -> float:
        progress, _ = progress_of(runner, self.by_epoch)
        momentum = base_momentum * self.gamma ** step_exponent(progress, self.step)
        if self.min_momentum is not None:
            momentum = max(momentum, self.min_momentum)
        return momentum


class _TargetMomentumMixin:
    min_momentum: float | None
    min_momentum_ratio: float | None

    def _target(self, base: float) -> float:
        if self.min_momentum_ratio is not None:
            return base * self.min_momentum_ratio
        return self.min_momentum  # type: ignore[return-value]


@HOOKS.register_module()
class CosineAnnealingMomentumUpdaterHook(_TargetMomentumMixin, MomentumUpdaterHook):
    """Cosine from the base momentum (t = 0) towards the target (t = T)."""

    def __init__(
        self,
        min_momentum: float | None = None,
        min_momentum_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        check_min_or_ratio(type(self).__name__, "min_momentum", min_momentum, min_momentum_ratio)
        self.min_momentum = min_momentum
        self.min_momentum_ratio = min_momentum_ratio
        super().__init__(**kwargs)

    def get_momentum(self, runner: Any, base_momentum: float) -> float:
        progress, max_progress = progress_of(runner, self.by_epoch)
        return anneal_cos(base_momentum, self._target(base_momentum), progress / max_progress)


@HOOKS.register_module()
class LinearAnnealingMomentumUpdaterHook(_TargetMomentumMixin, MomentumUpdaterHook):
    """Straight line from the base momentum (t = 0) towards the target (t = T)."""

    def __init__(
        self,
        min_momentum: float | None = None,
        min_momentum_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        check_min_or_ratio(type(self).__name__, "min_momentum", min_momentum, min_momentum_ratio)
        self.min_momentum = min_momentum
        self.min_momentum_ratio = min_momentum_ratio
        super().__init__(**kwargs)

    def get_momentum(self, runner: Any, base_momentum: float) -> float:
        progress, max_progress = progress_of(runner, self.by_epoch)
        return anneal_linear(base_momentum, self._target(base_momentum), progress / max_progress)


@HOOKS.register_module()
class CyclicMomentumUpdaterHook(MomentumUpdaterHook):
    """The cyclic lr arithmetic on momentum: down to ``base·target_ratio[0]`` while lr goes up."""

    def __init__(
        self,
        by_epoch: bool = False,
        target_ratio: float | tuple[float, ...] = (0.85 / 0.95, 1.0),
        cyclic_times: int = 1,
        step_ratio_up: float = 0.4,
        anneal_strategy: str = "cos",
        gamma: float = 1.0,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        self.target_ratio = parse_target_ratio(owner, target_ratio)
        check_cyclic(owner, by_epoch, cyclic_times, step_ratio_up, gamma)
        self.anneal_func = check_anneal(owner, anneal_strategy)
        self.cyclic_times = cyclic_times
        self.step_ratio_up = step_ratio_up
        self.gamma = gamma
        self.max_iter_per_phase: int | None = None
        self.momentum_phases: list[tuple[int, int, float, float]] = []
        super().__init__(by_epoch=by_epoch, **kwargs)

    def before_run(self, runner: Any) -> None:
        super().before_run(runner)
        self.max_iter_per_phase, self.momentum_phases = cyclic_phases(
            type(self).__name__,
            runner.max_iters,
            self.cyclic_times,
            self.step_ratio_up,
            self.target_ratio,
        )

    def get_momentum(self, runner: Any, base_momentum: float) -> float:
        return cyclic_value(
            base_momentum,
            runner.iter,
            self.max_iter_per_phase,
            self.momentum_phases,
            self.gamma,
            self.anneal_func,
        )


@HOOKS.register_module()
class OneCycleMomentumUpdaterHook(MomentumUpdaterHook):
    """1cycle momentum: from ``max_momentum`` down to ``base_momentum`` and back (per iteration).

    ``before_run`` writes ``max_momentum`` into every group (with ``base_momentum`` and
    ``max_momentum`` keys); phases end at ``pct_start·max_iters − 1`` and ``max_iters − 1``
    (three-phase: down, up, then held at ``max_momentum``).
    """

    def __init__(
        self,
        base_momentum: float | Sequence[float] | Mapping[str, Any] = 0.85,
        max_momentum: float | Sequence[float] | Mapping[str, Any] = 0.95,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        three_phase: bool = False,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        kwargs.setdefault("by_epoch", False)
        if kwargs["by_epoch"] is not False:
            raise option_error(
                owner,
                "by_epoch",
                f"must be False (1cycle runs per iteration), got {kwargs['by_epoch']!r}.",
            )
        for key, value in (("base_momentum", base_momentum), ("max_momentum", max_momentum)):
            if not (is_number(value) or isinstance(value, (list, tuple, Mapping))):
                raise option_error(
                    owner,
                    key,
                    "must be a number, a list (per group) or a dict (per optimizer), got "
                    f"{value!r}.",
                )
        check_pct(owner, "pct_start", pct_start)
        self.anneal_func = check_anneal(owner, anneal_strategy)
        check_bool(owner, "three_phase", three_phase)
        self._base_momentum = base_momentum
        self._max_momentum = max_momentum
        self.pct_start = pct_start
        self.three_phase = three_phase
        self.momentum_phases: list[tuple[float, str, str]] = []
        super().__init__(**kwargs)

    def before_run(self, runner: Any) -> None:
        owner = type(self).__name__
        groups = _check_has_momentum(owner, runner)
        bases = per_group(owner, "base_momentum", self._base_momentum, runner)
        maxima = per_group(owner, "max_momentum", self._max_momentum, runner)
        for group, base, maximum in zip(groups, bases, maxima):
            write_momentum(group, maximum)
            group["base_momentum"] = base
            group["max_momentum"] = maximum
        n, pct = runner.max_iters, self.pct_start
        if self.three_phase:
            self.momentum_phases = [
                (float(pct * n) - 1, "max_momentum", "base_momentum"),
                (float(2 * pct * n) - 2, "base_momentum", "max_momentum"),
                (n - 1, "max_momentum", "max_momentum"),
            ]
        else:
            self.momentum_phases = [
                (float(pct * n) - 1, "max_momentum", "base_momentum"),
                (n - 1, "base_momentum", "max_momentum"),
            ]

    def get_regular_momentum(self, runner: Any) -> list[float]:
        return [self.get_momentum(runner, group) for group in param_groups(runner)]

    def get_momentum(self, runner: Any, base_momentum: Any) -> float:
        """The momentum at this iteration; ``base_momentum`` is the param group (as in MMCV)."""
        group = base_momentum
        cur_iter = runner.iter
        start = 0.0
        last = len(self.momentum_phases) - 1
        for index, (end, start_key, end_key) in enumerate(self.momentum_phases):
            if cur_iter <= end or index == last:
                pct = (cur_iter - start) / (end - start)
                return self.anneal_func(group[start_key], group[end_key], pct)
            start = end
        raise AssertionError("unreachable: the last phase takes every later iteration")


__all__ = [
    "CosineAnnealingMomentumUpdaterHook",
    "CyclicMomentumUpdaterHook",
    "LinearAnnealingMomentumUpdaterHook",
    "MomentumUpdaterHook",
    "OneCycleMomentumUpdaterHook",
    "StepMomentumUpdaterHook",
]
