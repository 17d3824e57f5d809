"""Chainable schedules that anneal towards a minimum: CosineAnnealing, Poly, CosineRestart."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from segwright.engine.optim.schedulers.base import (
    INF,
    ParamScheduler,
    arg_error,
    check_eta_min,
    is_number,
)
from segwright.registry import PARAM_SCHEDULERS
from segwright.utils.errors import ConfigError


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingParamScheduler(ParamScheduler):
    """Cosine annealing from the value at step 0 towards ``eta_min`` over ``T_max`` steps.

    Alone, ``v_s = eta + (v_0 - eta)(1 + cos(pi s / T_max)) / 2``. With the default
    ``T_max = end - begin`` the last step is ``T_max - 1``, so ``eta`` is not reached.

    Args:
        T_max: Half period in steps; ``None`` means ``end - begin``.
        eta_min: Absolute minimum (0 when neither it nor ``eta_min_ratio`` is given).
        eta_min_ratio: Minimum as a fraction of each group's base value.
    """

    epoch_scaled_args = ("T_max",)

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        T_max: int | None = None,
        eta_min: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        eta_min_ratio: float | None = None,
    ) -> None:
        if eta_min is None and eta_min_ratio is None:
            eta_min = 0.0
        check_eta_min(type(self).__name__, eta_min, eta_min_ratio)
        if T_max is not None and (not is_number(T_max) or T_max < 0):
            raise arg_error(
                type(self).__name__, "T_max", f"must be a positive number, got {T_max!r}."
            )
        self.T_max = T_max or (end - begin)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _eta_min(self, base_value: float) -> float:
        return self.eta_min if self.eta_min_ratio is None else base_value * self.eta_min_ratio

    def _get_value(self) -> list[Any]:
        groups = self._groups()
        current = [group[self.param_name] for group in groups]
        s, t_max = self.last_step, self.T_max
        if s == 0:
            return current
        values = []
        for base, value in zip(self.base_values, current):
            eta = self._eta_min(base)
            if (s - 1 - t_max) % (2 * t_max) == 0:
                # Past the minimum the ratio form divides by zero; step up from the trough.
                values.append(value + (base - eta) * (1 - math.cos(math.pi / t_max)) / 2)
            else:
                ratio = (1 + math.cos(math.pi * s / t_max)) / (
                    1 + math.cos(math.pi * (s - 1) / t_max)
                )
                values.append(ratio * (value - eta) + eta)
        return values


@PARAM_SCHEDULERS.register_module()
class PolyParamScheduler(ParamScheduler):
    """Polynomial decay to ``eta_min``, reached exactly at step ``end - begin - 1``.

    Alone, ``v_s = eta + (v_0 - eta)(1 - s / T) ** power`` with ``T = end - begin - 1``.

    Args:
        eta_min: The final value.
        power: The exponent of the polynomial.
    """

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        eta_min: float = 0,
        power: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        for name, value in (("eta_min", eta_min), ("power", power)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{type(self).__name__}: {name} must be a number, got {value!r}.")
        self.eta_min = eta_min
        self.power = power
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        current = [group[self.param_name] for group in self._groups()]
        if self.last_step == 0:
            return current
        decay = (1 - 1 / (self.total_iters - self.last_step + 1)) ** self.power
        return [(v - self.eta_min) * decay + self.eta_min for v in current]


@PARAM_SCHEDULERS.register_module()
class CosineRestartParamScheduler(ParamScheduler):
    """Cosine annealing with warm restarts (SGDR) over consecutive ``periods``.

    Period ``i`` restarts at ``base * restart_weights[i]`` and anneals towards the minimum;
    after the last period the value is left unchanged.

    Args:
        periods: Length of each cosine cycle in steps.
        restart_weights: Weight of the base value at each restart (one per period).
        eta_min: Absolute minimum (give this or ``eta_min_ratio``).
        eta_min_ratio: Minimum as a fraction of each group's base value.
    """

    epoch_scaled_args = ("periods",)

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1,),
        eta_min: float | None = None,
        eta_min_ratio: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        name = type(self).__name__
        check_eta_min(name, eta_min, eta_min_ratio)
        if isinstance(periods, str) or not isinstance(periods, Sequence) or not periods:
            raise arg_error(name, "periods", f"must be a list of cycle lengths, got {periods!r}.")
        if any(not is_number(p) or p <= 0 for p in periods):
            raise arg_error(name, "periods", f"must all be positive, got {list(periods)!r}.")
        if len(periods) != len(restart_weights):
            raise arg_error(
                name,
                "restart_weights",
                f"needs one weight per period: {len(periods)} periods, "
                f"{len(restart_weights)} weights.",
            )
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        self.cumulative_periods = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @staticmethod
    def get_position_from_periods(step: int, cumulative_periods: Sequence[int]) -> int | None:
        """Index of the period that contains ``step``, or None past the last one."""
        for i, period_end in enumerate(cumulative_periods):
            if step < period_end:
                return i
        return None

    def _get_value(self) -> list[Any]:
        current = [group[self.param_name] for group in self._groups()]
        idx = self.get_position_from_periods(self.last_step, self.cumulative_periods)
        if idx is None:
            return current
        weight = self.restart_weights[idx]
        start = 0 if idx == 0 else self.cumulative_periods[idx - 1]
        period = self.periods[idx]
        s = self.last_step - start
        values = []
        for base, value in zip(self.base_values, current):
            if s == 0:
                values.append(base * weight)
                continue
            eta = self.eta_min if self.eta_min_ratio is None else base * self.eta_min_ratio
            ratio = (1 + math.cos(math.pi * s / period)) / (
                1 + math.cos(math.pi * (s - 1) / period)
            )
            values.append(ratio * (value - eta) + eta)
        return values
