"""The 1cycle policy (Smith & Topin): warm up to ``eta_max``, then anneal far below the start."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from segwright.engine.optim.schedulers.base import (
    INF,
    ParamScheduler,
    arg_error,
    param_groups_of,
    per_group_values,
)
from segwright.registry import PARAM_SCHEDULERS


def anneal_cos(start: float, end: float, pct: float) -> float:
    """Cosine from ``start`` (pct 0) to ``end`` (pct 1)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def anneal_linear(start: float, end: float, pct: float) -> float:
    """Straight line from ``start`` (pct 0) to ``end`` (pct 1)."""
    return (end - start) * pct + start


ANNEAL_FUNCTIONS = {"cos": anneal_cos, "linear": anneal_linear}


@PARAM_SCHEDULERS.register_module()
class OneCycleParamScheduler(ParamScheduler):
    """The 1cycle schedule; not chainable (it overwrites ``initial_lr``).

    Every group gets ``initial_lr = eta_max / div_factor``, ``max_lr = eta_max`` and
    ``min_lr = initial_lr / final_div_factor``. Two phases end at steps ``pct_start * N - 1``
    (initial -> max) and ``N - 1`` (max -> min); with ``three_phase`` they end at
    ``pct_start * N - 1`` (initial -> max), ``2 * pct_start * N - 2`` (max -> initial) and
    ``N - 1`` (initial -> min). ``N = total_steps``.

    Args:
        eta_max: Peak value, one number or one per param group.
        total_steps: Steps in the cycle; ``None`` means ``end - begin``.
        pct_start: Fraction of the cycle spent rising (a float in [0, 1]).
        anneal_strategy: ``'cos'`` or ``'linear'``.
        div_factor: ``initial = eta_max / div_factor``.
        final_div_factor: ``min = initial / final_div_factor``.
        three_phase: Use the paper's symmetric three-phase form.
    """

    chainable = False
    epoch_scaled_args = ("total_steps",)

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        eta_max: float | Sequence[float] = 0,
        total_steps: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        name = type(self).__name__
        if param_name != "lr":
            raise arg_error(
                name, "param_name", f"OneCycle schedules 'lr' only, got {param_name!r}."
            )
        if total_steps is None:
            total_steps = end - begin
        elif not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps <= 0:
            raise arg_error(name, "total_steps", f"must be a positive int, got {total_steps!r}.")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise arg_error(
                name, "pct_start", f"must be a float between 0 and 1, got {pct_start!r}."
            )
        if anneal_strategy not in ANNEAL_FUNCTIONS:
            raise arg_error(
                name, "anneal_strategy", f"must be 'cos' or 'linear', got {anneal_strategy!r}."
            )
        self.eta_max = eta_max
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        self._schedule_phases = self._phases(param_name, pct_start, total_steps, three_phase)
        if self._schedule_phases[0]["end_step"] == 0:
            # Step 0 would fall in a rising phase of zero length (0 / 0).
            raise arg_error(
                name,
                "pct_start",
                f"pct_start * total_steps must not be 1 (pct_start={pct_start}, "
                f"total_steps={total_steps}); change pct_start or total_steps.",
            )

        max_values = per_group_values(name, "eta_max", eta_max, optimizer)
        if last_step == -1:
            for group, max_value in zip(param_groups_of(optimizer), max_values):
                group[f"initial_{param_name}"] = max_value / div_factor
                group[f"max_{param_name}"] = max_value
                group[f"min_{param_name}"] = group[f"initial_{param_name}"] / final_div_factor
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @staticmethod
    def _phases(name: str, pct: float, total: int, three_phase: bool) -> list[dict[str, Any]]:
        # Key names as in MMEngine's state dicts: 'start_lr' names the group key to start from.
        initial, peak, low = f"initial_{name}", f"max_{name}", f"min_{name}"

        def phase(end_step: float, start: str, end: str) -> dict[str, Any]:
            return {"end_step": end_step, f"start_{name}": start, f"end_{name}": end}

        if three_phase:
            return [
                phase(float(pct * total) - 1, initial, peak),
                phase(float(2 * pct * total) - 2, peak, initial),
                phase(total - 1, initial, low),
            ]
        return [phase(float(pct * total) - 1, initial, peak), phase(total - 1, peak, low)]

    def _get_value(self) -> list[Any]:
        step = self.last_step
        if step > self.total_steps:
            raise ValueError(
                f"{type(self).__name__} was stepped {step + 1} times, but total_steps is "
                f"{self.total_steps}. Set total_steps (or end) to the length of training."
            )
        anneal = ANNEAL_FUNCTIONS[self.anneal_strategy]
        name = self.param_name
        values = []
        for group in self._groups():
            start_step = 0.0
            last = len(self._schedule_phases) - 1
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == last:
                    pct = (step - start_step) / (end_step - start_step)
                    start_key, end_key = phase[f"start_{name}"], phase[f"end_{name}"]
                    values.append(anneal(group[start_key], group[end_key], pct))
                    break
                start_step = end_step
        return values
