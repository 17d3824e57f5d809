"""Chainable schedules that multiply the current value by a factor: Constant, Linear, Step,
MultiStep, Exponential (MMEngine's ``*ParamScheduler`` classes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segwright.engine.optim.schedulers.base import (
    INF,
    ParamScheduler,
    arg_error,
    check_factor,
    is_number,
)
from segwright.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class ConstantParamScheduler(ParamScheduler):
    """Multiply by ``factor`` at step 0 and divide it back out at step ``end - begin - 1``.

    Args:
        factor: The multiplier in [0, 1] applied until the last step of the range.
    """

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        factor: float = 1.0 / 3,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        name = type(self).__name__
        check_factor(name, "factor", factor)
        if factor == 0 and end != INF and end - begin > 1:
            raise arg_error(
                name, "factor", "0 cannot be undone at step end - 1; use a small positive factor."
            )
        self.factor = factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        current = [group[self.param_name] for group in self._groups()]
        if self.last_step == 0:
            return [v * self.factor for v in current]
        if self.last_step == self.total_iters:
            return [v * (1.0 / self.factor) for v in current]
        return current


@PARAM_SCHEDULERS.register_module()
class LinearParamScheduler(ParamScheduler):
    """Scale by a factor moving linearly from ``start_factor`` (step 0) to ``end_factor``
    (step ``end - begin - 1``).

    Args:
        start_factor: Multiplier at step 0, in [0, 1].
        end_factor: Multiplier at the last step of the range, in [0, 1].
    """

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        name = type(self).__name__
        check_factor(name, "start_factor", start_factor)
        check_factor(name, "end_factor", end_factor)
        if start_factor == 0 and end - begin > 1:
            raise arg_error(
                name,
                "start_factor",
                "0 would divide by zero at step 1 (the schedule scales the current value); "
                "use a small positive factor such as 1e-6.",
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        current = [group[self.param_name] for group in self._groups()]
        if self.last_step == 0:
            return [v * self.start_factor for v in current]
        # Ratio of the linear factor at this step to the one at the previous step.
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor + (self.last_step - 1) * delta)
        return [v * ratio for v in current]


@PARAM_SCHEDULERS.register_module()
class StepParamScheduler(ParamScheduler):
    """Multiply by ``gamma`` every ``step_size`` steps (counted from ``begin``).

    Args:
        step_size: Period of the decay in steps.
        gamma: Multiplicative factor.
    """

    epoch_scaled_args = ("step_size",)

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        step_size: int,
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if not is_number(step_size) or step_size <= 0:
            raise arg_error(
                type(self).__name__, "step_size", f"must be a positive int, got {step_size!r}."
            )
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        current = [group[self.param_name] for group in self._groups()]
        if self.last_step == 0 or self.last_step % self.step_size != 0:
            return current
        return [v * self.gamma for v in current]


@PARAM_SCHEDULERS.register_module()
class MultiStepParamScheduler(ParamScheduler):
    """Multiply by ``gamma`` at each milestone (steps counted from ``begin``).

    A milestone listed ``k`` times multiplies by ``gamma ** k``.

    Args:
        milestones: Step indices of the decays.
        gamma: Multiplicative factor.
    """

    epoch_scaled_args = ("milestones",)

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        milestones: Sequence[int],
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if isinstance(milestones, str) or not isinstance(milestones, Sequence):
            raise arg_error(
                type(self).__name__,
                "milestones",
                f"must be a list of step indices, got {milestones!r}.",
            )
        counts: dict[int, int] = {}
        for milestone in milestones:
            counts[milestone] = counts.get(milestone, 0) + 1
        # A plain dict (MMEngine keeps a Counter) so the state dict loads with weights_only.
        self.milestones = counts
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        current = [group[self.param_name] for group in self._groups()]
        count = self.milestones.get(self.last_step, 0)
        if count == 0:
            return current
        return [v * self.gamma**count for v in current]


@PARAM_SCHEDULERS.register_module()
class ExponentialParamScheduler(ParamScheduler):
    """Multiply by ``gamma`` at every step after step 0.

    Args:
        gamma: Multiplicative factor.
    """

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        gamma: float,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        current = [group[self.param_name] for group in self._groups()]
        if self.last_step == 0:
            return current
        return [v * self.gamma for v in current]
