"""MMCV 0.x cyclic policies (``policy='cyclic'``, ``'OneCycle'``) as schedulers (SPEC §5.1, §5.2).

Both go from the base value to a peak and back in phases, per iteration (MMCV's ``by_epoch``
must be False). :class:`CyclicPolicy` is shared by the lr and the momentum forms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segwright.engine.optim.schedulers.base import arg_error, is_number, param_groups_of
from segwright.engine.optim.schedulers.mmcv_base import (
    MMCVPolicyScheduler,
    check_anneal,
    check_bool,
    check_number,
    check_pct,
    per_group,
)
from segwright.registry import PARAM_SCHEDULERS
from segwright.utils.errors import ConfigError


def parse_target_ratio(owner: str, target_ratio: Any) -> tuple[float, float]:
    """Cyclic ``target_ratio``: a number ``r`` -> ``(r, r/1e5)``, or a 1- or 2-tuple; no lists."""
    if is_number(target_ratio):
        return (target_ratio, target_ratio / 1e5)
    if isinstance(target_ratio, tuple) and all(is_number(r) for r in target_ratio):
        if len(target_ratio) == 1:
            return (target_ratio[0], target_ratio[0] / 1e5)
        if len(target_ratio) == 2:
            return (target_ratio[0], target_ratio[1])
    raise arg_error(
        owner,
        "target_ratio",
        f"must be a number or a tuple of one or two numbers, got {type(target_ratio).__name__} "
        f"{target_ratio!r}. As in MMCV a list is not accepted; write a tuple, e.g. (10, 1e-4).",
    )


def check_per_iteration(owner: str, progress: Any, what: str) -> None:
    if progress != "iter":
        raise arg_error(
            owner,
            "progress",
            f"must be 'iter': {what} runs per iteration (MMCV's by_epoch must be False), "
            f"got {progress!r}.",
        )


class CyclicPolicy(MMCVPolicyScheduler):
    """Cycles up to ``base·target_ratio[0]``, then down to ``base·target_ratio[1]``.

    Each of ``cyclic_times`` cycles spends ``step_ratio_up`` of its iterations going up; the
    peak of cycle ``k`` is pulled towards the base by ``gamma^k``. Shared by the lr and the
    momentum policies.
    """

    default_target_ratio: tuple[float, float] = (10, 1e-4)

    def __init__(
        self,
        optimizer: Any,
        target_ratio: float | tuple[float, ...] | None = None,
        cyclic_times: int = 1,
        step_ratio_up: float = 0.4,
        anneal_strategy: str = "cos",
        gamma: float = 1,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        if target_ratio is None:
            target_ratio = self.default_target_ratio
        self.target_ratio = parse_target_ratio(owner, target_ratio)
        check_per_iteration(owner, kwargs.get("progress", "iter"), "a cyclic schedule")
        if isinstance(cyclic_times, bool) or not isinstance(cyclic_times, int) or cyclic_times < 1:
            raise arg_error(owner, "cyclic_times", f"must be a positive int, got {cyclic_times!r}.")
        if not is_number(step_ratio_up) or not 0 <= step_ratio_up < 1:
            raise arg_error(owner, "step_ratio_up", f"must be in [0, 1), got {step_ratio_up!r}.")
        if not is_number(gamma) or not 0 < gamma <= 1:
            raise arg_error(owner, "gamma", f"must be in (0, 1], got {gamma!r}.")
        self.anneal_strategy = anneal_strategy
        self.anneal_func = check_anneal(owner, anneal_strategy)
        self.cyclic_times = cyclic_times
        self.step_ratio_up = step_ratio_up
        self.gamma = gamma
        super().__init__(optimizer, **kwargs)

    def _bases(self) -> list[float]:
        max_iters = self._need("max_iters", "a cyclic schedule")
        self.per_cycle = max_iters // self.cyclic_times
        if self.per_cycle <= 0:
            raise arg_error(
                type(self).__name__,
                "cyclic_times",
                f"is {self.cyclic_times}, more than the run's {max_iters} iterations; each "
                "cycle needs at least one iteration.",
            )
        up = int(self.step_ratio_up * self.per_cycle)
        self.phases = [
            (0, up, 1, self.target_ratio[0]),
            (up, self.per_cycle, self.target_ratio[0], self.target_ratio[1]),
        ]
        return super()._bases()

    def regular(self, base: float, group_index: int) -> float:
        cur_iter = self.cur_iter
        within = cur_iter % self.per_cycle
        scale = self.gamma ** (cur_iter // self.per_cycle)
        for start, end, start_ratio, end_ratio in self.phases:
            if start <= within < end:
                if start == 0:
                    end_ratio = 1 - scale + end_ratio * scale
                else:
                    start_ratio = 1 - scale + start_ratio * scale
                return self.anneal_func(
                    base * start_ratio, base * end_ratio, (within - start) / (end - start)
                )
        raise AssertionError("unreachable: the phases cover every iteration of a cycle")


@PARAM_SCHEDULERS.register_module()
class MMCVCyclicLR(CyclicPolicy):
    """MMCV's ``policy='cyclic'`` lr: up to ``base·target_ratio[0]`` and down, per cycle."""

    def __init__(
        self,
        optimizer: Any,
        target_ratio: float | tuple[float, ...] = (10, 1e-4),
        cyclic_times: int = 1,
        step_ratio_up: float = 0.4,
        anneal_strategy: str = "cos",
        gamma: float = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            optimizer, target_ratio, cyclic_times, step_ratio_up, anneal_strategy, gamma, **kwargs
        )


@PARAM_SCHEDULERS.register_module()
class MMCVOneCycleLR(MMCVPolicyScheduler):
    """1cycle: from ``max_lr/div_factor`` up to ``max_lr``, then down to ``/final_div_factor``.

    The base lr of every group is ``max_lr/div_factor`` (also written into ``initial_lr`` when
    the group has none). Phases end at ``pct_start·N − 1`` and ``N − 1`` (three-phase:
    ``pct_start·N − 1``, ``2·pct_start·N − 2``, ``N − 1``), ``N`` = ``total_steps`` or max_iters.
    """

    def __init__(
        self,
        optimizer: Any,
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
        check_per_iteration(owner, kwargs.get("progress", "iter"), "1cycle")
        if not (is_number(max_lr) or isinstance(max_lr, (list, tuple, Mapping))):
            raise arg_error(
                owner,
                "max_lr",
                f"must be a number, a list (per group) or a dict (per optimizer), got {max_lr!r}.",
            )
        if total_steps is not None and (
            isinstance(total_steps, bool) or not isinstance(total_steps, int)
        ):
            raise arg_error(owner, "total_steps", f"must be an int, got {total_steps!r}.")
        check_pct(owner, "pct_start", pct_start)
        self.anneal_strategy = anneal_strategy
        self.anneal_func = check_anneal(owner, anneal_strategy)
        check_number(owner, "div_factor", div_factor)
        check_number(owner, "final_div_factor", final_div_factor)
        check_bool(owner, "three_phase", three_phase)
        self.max_lr = max_lr
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        super().__init__(optimizer, **kwargs)

    def _attach(self, optimizer: Any, param_name: str, *args: Any) -> None:
        # MMCV's base lr is max_lr/div_factor, also the default of initial_lr (not the lr).
        max_lrs = per_group(type(self).__name__, "max_lr", self.max_lr, optimizer)
        self.one_cycle_bases = [lr / self.div_factor for lr in max_lrs]
        for group, lr in zip(param_groups_of(optimizer), self.one_cycle_bases):
            group.setdefault("initial_lr", lr)
        super()._attach(optimizer, param_name, *args)

    def _bases(self) -> list[float]:
        max_iters = self._need("max_iters", "1cycle")
        total = self.total_steps if self.total_steps is not None else max_iters
        if total < max_iters:
            raise arg_error(
                type(self).__name__,
                "total_steps",
                f"is {total}, fewer than the run's {max_iters} iterations; it must be at least "
                "max_iters.",
            )
        pct = self.pct_start
        if self.three_phase:
            self.phases = [
                (float(pct * total) - 1, 1, self.div_factor),
                (float(2 * pct * total) - 2, self.div_factor, 1),
                (total - 1, 1, 1 / self.final_div_factor),
            ]
        else:
            self.phases = [
                (float(pct * total) - 1, 1, self.div_factor),
                (total - 1, self.div_factor, 1 / self.final_div_factor),
            ]
        return list(self.one_cycle_bases)

    def regular(self, base: float, group_index: int) -> float:
        cur_iter = self.cur_iter
        start = 0.0
        for end, start_mult, end_mult in self.phases:
            if cur_iter <= end:
                pct = (cur_iter - start) / (end - start)
                return self.anneal_func(base * start_mult, base * end_mult, pct)
            start = end
        raise ConfigError(
            f"{type(self).__name__}: iteration {cur_iter} is past total_steps; "
            "total_steps must be at least max_iters."
        )


__all__ = [
    "CyclicPolicy",
    "MMCVCyclicLR",
    "MMCVOneCycleLR",
    "check_per_iteration",
    "parse_target_ratio",
]
