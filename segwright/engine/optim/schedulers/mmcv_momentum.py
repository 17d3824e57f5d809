"""MMCV 0.x momentum policies (``momentum_config``) as schedulers (SPEC §5.2).

The lr policies' arithmetic on ``momentum`` (or ``betas[0]`` for the Adam family); a warmup
*divides* the scheduled momentum by the factor an lr warmup would multiply with (default ratio
0.9), so the momentum starts high while the lr starts low.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segwright.engine.optim.schedulers.base import arg_error, is_number
from segwright.engine.optim.schedulers.mmcv_base import (
    MMCVPolicyScheduler,
    MomentumPolicyMixin,
    anneal_cos,
    anneal_linear,
    check_anneal,
    check_bool,
    check_min_or_ratio,
    check_number,
    check_pct,
    check_steps,
    per_group,
    step_exponent,
    write_momentum,
)
from segwright.engine.optim.schedulers.mmcv_cycles import CyclicPolicy, check_per_iteration
from segwright.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class MMCVStepMomentum(MomentumPolicyMixin, MMCVPolicyScheduler):
    """``momentum = base·gamma^k`` (``k`` as in the step lr policy); floor ``min_momentum``."""

    def __init__(
        self,
        optimizer: Any,
        step: int | Sequence[int],
        gamma: float = 0.5,
        min_momentum: float | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_steps(owner, "step", step)
        check_number(owner, "gamma", gamma)
        check_number(owner, "min_momentum", min_momentum, allow_none=True)
        self.step_at = step if isinstance(step, int) else list(step)
        self.gamma = gamma
        self.min_momentum = min_momentum
        super().__init__(optimizer, **kwargs)

    def regular(self, base: float, group_index: int) -> float:
        progress, _ = self.progress_of()
        momentum = base * self.gamma ** step_exponent(progress, self.step_at)
        if self.min_momentum is not None:
            momentum = max(momentum, self.min_momentum)
        return momentum


class _MomentumTarget(MomentumPolicyMixin, MMCVPolicyScheduler):
    min_momentum: float | None
    min_momentum_ratio: float | None

    def _set_target(self, minimum: Any, ratio: Any) -> None:
        check_min_or_ratio(type(self).__name__, "min_momentum", minimum, ratio)
        self.min_momentum = minimum
        self.min_momentum_ratio = ratio

    def target(self, base: float) -> float:
        if self.min_momentum_ratio is not None:
            return base * self.min_momentum_ratio
        return self.min_momentum  # type: ignore[return-value]


@PARAM_SCHEDULERS.register_module()
class MMCVCosineAnnealingMomentum(_MomentumTarget):
    """Cosine from the base momentum (t = 0) towards the target (t = T)."""

    def __init__(
        self,
        optimizer: Any,
        min_momentum: float | None = None,
        min_momentum_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        self._set_target(min_momentum, min_momentum_ratio)
        super().__init__(optimizer, **kwargs)

    def regular(self, base: float, group_index: int) -> float:
        progress, max_progress = self.progress_of()
        return anneal_cos(base, self.target(base), progress / max_progress)


@PARAM_SCHEDULERS.register_module()
class MMCVLinearAnnealingMomentum(_MomentumTarget):
    """Straight line from the base momentum (t = 0) towards the target (t = T)."""

    def __init__(
        self,
        optimizer: Any,
        min_momentum: float | None = None,
        min_momentum_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        self._set_target(min_momentum, min_momentum_ratio)
        super().__init__(optimizer, **kwargs)

    def regular(self, base: float, group_index: int) -> float:
        progress, max_progress = self.progress_of()
        return anneal_linear(base, self.target(base), progress / max_progress)


@PARAM_SCHEDULERS.register_module()
class MMCVCyclicMomentum(MomentumPolicyMixin, CyclicPolicy):
    """The cyclic lr arithmetic on momentum: down to ``base·target_ratio[0]`` while lr goes up."""

    def __init__(
        self,
        optimizer: Any,
        target_ratio: float | tuple[float, ...] = (0.85 / 0.95, 1.0),
        cyclic_times: int = 1,
        step_ratio_up: float = 0.4,
        anneal_strategy: str = "cos",
        gamma: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            optimizer, target_ratio, cyclic_times, step_ratio_up, anneal_strategy, gamma, **kwargs
        )


@PARAM_SCHEDULERS.register_module()
class MMCVOneCycleMomentum(MomentumPolicyMixin, MMCVPolicyScheduler):
    """1cycle momentum: from ``max_momentum`` down to ``base_momentum`` and back.

    Every group gets ``base_momentum`` and ``max_momentum`` keys (as under MMCV); phases end at
    ``pct_start·max_iters − 1`` and ``max_iters − 1`` (three-phase: down, up, then held at
    ``max_momentum``).
    """

    def __init__(
        self,
        optimizer: Any,
        base_momentum: float | Sequence[float] | Mapping[str, Any] = 0.85,
        max_momentum: float | Sequence[float] | Mapping[str, Any] = 0.95,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        three_phase: bool = False,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_per_iteration(owner, kwargs.get("progress", "iter"), "1cycle")
        for key, value in (("base_momentum", base_momentum), ("max_momentum", max_momentum)):
            if not (is_number(value) or isinstance(value, (list, tuple, Mapping))):
                raise arg_error(
                    owner,
                    key,
                    "must be a number, a list (per group) or a dict (per optimizer), got "
                    f"{value!r}.",
                )
        check_pct(owner, "pct_start", pct_start)
        self.anneal_strategy = anneal_strategy
        self.anneal_func = check_anneal(owner, anneal_strategy)
        check_bool(owner, "three_phase", three_phase)
        self.base_momentum = base_momentum
        self.max_momentum = max_momentum
        self.pct_start = pct_start
        self.three_phase = three_phase
        super().__init__(optimizer, **kwargs)

    def _bases(self) -> list[float]:
        owner = type(self).__name__
        bases = per_group(owner, "base_momentum", self.base_momentum, self.optimizer)
        maxima = per_group(owner, "max_momentum", self.max_momentum, self.optimizer)
        for group, base, maximum in zip(self._groups(), bases, maxima):
            write_momentum(group, maximum)
            group["base_momentum"] = base
            group["max_momentum"] = maximum
        self.ends = (bases, maxima)
        n, pct = self._need("max_iters", "1cycle"), self.pct_start
        if self.three_phase:
            self.phases = [
                (float(pct * n) - 1, 1, 0),
                (float(2 * pct * n) - 2, 0, 1),
                (n - 1, 1, 1),
            ]
        else:
            self.phases = [(float(pct * n) - 1, 1, 0), (n - 1, 0, 1)]
        return bases

    def regular(self, base: float, group_index: int) -> float:
        # Phase ends: 0 = base_momentum, 1 = max_momentum of the group.
        values = (self.ends[0][group_index], self.ends[1][group_index])
        cur_iter = self.cur_iter
        start = 0.0
        last = len(self.phases) - 1
        for index, (end, start_key, end_key) in enumerate(self.phases):
            if cur_iter <= end or index == last:
                pct = (cur_iter - start) / (end - start)
                return self.anneal_func(values[start_key], values[end_key], pct)
            start = end
        raise AssertionError("unreachable: the last phase takes every later iteration")


__all__ = [
    "MMCVCosineAnnealingMomentum",
    "MMCVCyclicMomentum",
    "MMCVLinearAnnealingMomentum",
    "MMCVOneCycleMomentum",
    "MMCVStepMomentum",
]
