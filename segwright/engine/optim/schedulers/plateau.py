"""ReduceOnPlateau: cut the value when a validation metric stops improving."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from segwright.engine.optim.schedulers.base import (
    INF,
    ParamScheduler,
    arg_error,
    is_number,
    per_group_values,
)
from segwright.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauParamScheduler(ParamScheduler):
    """Multiply by ``factor`` after ``patience`` validations without improvement.

    ``step()`` without metrics (after each training epoch) only counts epochs for
    ``begin``/``end``; ``step(metrics)`` (after each validation) checks ``metrics[monitor]``.
    It is not stepped in ``__init__``.

    Args:
        monitor: Key of the metric in the validation results.
        rule: ``'less'`` (lower is better) or ``'greater'``.
        factor: Multiplier (< 1) applied on a plateau.
        patience: Validations without improvement tolerated before a cut.
        threshold: Minimum change that counts as an improvement.
        threshold_rule: ``'rel'`` (relative to the best) or ``'abs'``.
        cooldown: Validations to wait after a cut before counting again.
        min_value: Lower bound, one number or one per param group.
        eps: Cuts smaller than this are skipped.
    """

    need_val_args = True

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        monitor: str = "loss",
        rule: str = "less",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_rule: str = "rel",
        cooldown: int = 0,
        min_value: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        name = type(self).__name__
        self._attach(optimizer, param_name, begin, end, last_step, by_epoch, verbose)
        if not by_epoch:
            raise arg_error(name, "by_epoch", "ReduceOnPlateau supports by_epoch=True only.")
        if not is_number(factor) or factor >= 1.0:
            raise arg_error(name, "factor", f"must be a number below 1.0, got {factor!r}.")
        if rule not in ("less", "greater"):
            raise arg_error(name, "rule", f"must be 'less' or 'greater', got {rule!r}.")
        if threshold_rule not in ("rel", "abs"):
            raise arg_error(
                name, "threshold_rule", f"must be 'rel' or 'abs', got {threshold_rule!r}."
            )
        if not is_number(threshold) or threshold < 0:
            raise arg_error(name, "threshold", f"must be >= 0, got {threshold!r}.")
        self.base_values = [group[f"initial_{param_name}"] for group in self._groups()]
        self.factor = factor
        self.min_values = per_group_values(name, "min_value", min_value, optimizer)
        self.monitor = monitor
        self.rule = rule
        self.threshold = threshold
        self.threshold_rule = threshold_rule
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.rule_worse = math.inf if rule == "less" else -math.inf
        self.best = self.rule_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0
        self._global_step = 0
        self._last_value = [group[param_name] for group in self._groups()]

    @classmethod
    def epoch_to_iter_kwargs(cls, kwargs: Mapping[str, Any], epoch_length: int) -> dict[str, Any]:
        raise arg_error(
            cls.__name__,
            "convert_to_iter_based",
            "ReduceOnPlateau follows validation epochs and cannot be converted to iterations.",
        )

    def _is_better(self, value: float, best: float) -> bool:
        if self.rule == "less":
            if self.threshold_rule == "rel":
                return value < best * (1.0 - self.threshold)
            return value < best - self.threshold
        if self.threshold_rule == "rel":
            return value > best * (1.0 + self.threshold)
        return value > best + self.threshold

    def _get_value(self) -> list[Any]:
        values = [float(group[self.param_name]) * self.factor for group in self._groups()]
        return [max(v, low) for v, low in zip(values, self.min_values)]

    def step(self, metrics: Mapping[str, Any] | None = None) -> None:  # type: ignore[override]
        """Count a training epoch (no metrics) or judge a validation result (metrics)."""
        if metrics is None:
            self._global_step += 1
            return
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics must be a dict, got {type(metrics).__name__}.")
        groups = self._groups()
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            if self.monitor not in metrics:
                raise KeyError(
                    f"{type(self).__name__} monitors {self.monitor!r}, which is not among the "
                    f"validation metrics {sorted(metrics)}. Set monitor= to one of them."
                )
            metric = float(metrics[self.monitor])
            if self._is_better(metric, self.best):
                self.best = metric
                self.num_bad_epochs = 0
            else:
                self.num_bad_epochs += 1
            if self.cooldown_counter > 0:
                self.cooldown_counter -= 1
                self.num_bad_epochs = 0  # bad epochs in cooldown do not count
            if self.num_bad_epochs > self.patience:
                for i, (group, value) in enumerate(zip(groups, self._get_value())):
                    if group[self.param_name] - value > self.eps:
                        group[self.param_name] = value
                        self._log_value(i, value)
                self.cooldown_counter = self.cooldown
                self.num_bad_epochs = 0
        self._last_value = [group[self.param_name] for group in groups]
