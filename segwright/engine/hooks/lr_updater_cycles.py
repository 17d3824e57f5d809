"""MMCV 0.x cyclic lr policies: Cyclic and OneCycle (SPEC §5.1).

Both go up from the base lr and back down in phases; the timing and warmup are
:class:`~segwright.engine.hooks.lr_updater_hook.LrUpdaterHook`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segwright.engine.hooks.lr_updater_hook import LrUpdaterHook
from segwright.engine.hooks.lr_updater_utils import (
    check_anneal,
    check_bool,
    check_cyclic,
    check_number,
    check_pct,
    cyclic_phases,
    cyclic_value,
    is_number,
    option_error,
    param_groups,
    parse_target_ratio,
    per_group,
)
from segwright.registry import HOOKS
from segwright.utils.errors import ConfigError


@HOOKS.register_module()
class CyclicLrUpdaterHook(LrUpdaterHook):
    """Cycles of lr up to ``base·target_ratio[0]``, then down to ``base·target_ratio[1]``.

    Each of ``cyclic_times`` cycles spends ``step_ratio_up`` of its iterations going up; the
    peak of cycle ``k`` is pulled towards the base by ``gamma^k``.
    """

    def __init__(
        self,
        by_epoch: bool = False,
        target_ratio: float | tuple[float, ...] = (10, 1e-4),
        cyclic_times: int = 1,
        step_ratio_up: float = 0.4,
        anneal_strategy: str = "cos",
        gamma: float = 1,
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
        self.lr_phases: list[tuple[int, int, float, float]] = []
        super().__init__(by_epoch=by_epoch, **kwargs)

    def before_run(self, runner: Any) -> None:
        super().before_run(runner)
        self.max_iter_per_phase, self.lr_phases = cyclic_phases(
            type(self).__name__,
            runner.max_iters,
            self.cyclic_times,
            self.step_ratio_up,
            self.target_ratio,
        )

    def get_lr(self, runner: Any, base_lr: float) -> float:
        return cyclic_value(
            base_lr,
            runner.iter,
            self.max_iter_per_phase,
            self.lr_phases,
            self.gamma,
            self.anneal_func,
        )


@HOOKS.register_module()
class OneCycleLrUpdaterHook(LrUpdaterHook):
    """1cycle: from ``max_lr/div_factor`` up to ``max_lr``, then down to ``/final_div_factor``.

    The base lr of every group becomes ``max_lr/div_factor`` (also written into
    ``initial_lr`` when the group has none). Phases end at ``pct_start·N − 1`` and ``N − 1``
    (three-phase: ``pct_start·N − 1``, ``2·pct_start·N − 2``, ``N − 1``), where ``N`` is
    ``total_steps`` or max_iters.
    """

    def __init__(
        self,
        max_lr: float | Sequence[float] | Mapping[str, Any],
        total_steps: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25,
        final_div_factor: float = 1e4,
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
        if not (is_number(max_lr) or isinstance(max_lr, (list, tuple, Mapping))):
            raise option_error(
                owner,
                "max_lr",
                f"must be a number, a list (per group) or a dict (per optimizer), got {max_lr!r}.",
            )
        if total_steps is not None and (
            isinstance(total_steps, bool) or not isinstance(total_steps, int)
        ):
            raise option_error(owner, "total_steps", f"must be an int, got {total_steps!r}.")
        check_pct(owner, "pct_start", pct_start)
        self.anneal_func = check_anneal(owner, anneal_strategy)
        check_number(owner, "div_factor", div_factor)
        check_number(owner, "final_div_factor", final_div_factor)
        check_bool(owner, "three_phase", three_phase)
        self._max_lr = max_lr
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        self.lr_phases: list[tuple[float, float, float]] = []
        super().__init__(**kwargs)

    def before_run(self, runner: Any) -> None:
        owner = type(self).__name__
        total = self.total_steps if self.total_steps is not None else runner.max_iters
        if total < runner.max_iters:
            raise option_error(
                owner,
                "total_steps",
                f"is {total}, fewer than the run's {runner.max_iters} iterations; it must be at "
                "least max_iters.",
            )
        max_lrs = per_group(owner, "max_lr", self._max_lr, runner)
        self.base_lr = [lr / self.div_factor for lr in max_lrs]
        for group, lr in zip(param_groups(runner), self.base_lr):
            group.setdefault("initial_lr", lr)
        pct = self.pct_start
        if self.three_phase:
            self.lr_phases = [
                (float(pct * total) - 1, 1, self.div_factor),
                (float(2 * pct * total) - 2, self.div_factor, 1),
                (total - 1, 1, 1 / self.final_div_factor),
            ]
        else:
            self.lr_phases = [
                (float(pct * total) - 1, 1, self.div_factor),
                (total - 1, self.div_factor, 1 / self.final_div_factor),
            ]

    def get_lr(self, runner: Any, base_lr: float) -> float:
        cur_iter = runner.iter
        start = 0.0
        for end, start_mult, end_mult in self.lr_phases:
            if cur_iter <= end:
                pct = (cur_iter - start) / (end - start)
                return self.anneal_func(base_lr * start_mult, base_lr * end_mult, pct)
            start = end
        raise ConfigError(
            f"{type(self).__name__}: iteration {cur_iter} is past total_steps; "
            "total_steps must be at least max_iters."
        )


__all__ = ["CyclicLrUpdaterHook", "OneCycleLrUpdaterHook"]
