"""Momentum schedulers: ``momentum`` for SGD-like optimizers, ``betas[0]`` for Adam-like ones.

For an Adam-family optimizer every group gets a ``momentum`` key mirroring ``betas[0]``; the
schedule works on it and each step writes it back into ``betas``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from segwright.engine.optim.schedulers.annealing import (
    CosineAnnealingParamScheduler,
    CosineRestartParamScheduler,
    PolyParamScheduler,
)
from segwright.engine.optim.schedulers.base import param_groups_of, torch_optimizer_of
from segwright.engine.optim.schedulers.fixed_param import FixedParamMixin
from segwright.engine.optim.schedulers.multiplicative import (
    ConstantParamScheduler,
    ExponentialParamScheduler,
    LinearParamScheduler,
    MultiStepParamScheduler,
    StepParamScheduler,
)
from segwright.engine.optim.schedulers.plateau import ReduceOnPlateauParamScheduler
from segwright.registry import PARAM_SCHEDULERS
from segwright.utils.errors import ConfigError


class MomentumSchedulerMixin(FixedParamMixin):
    """Schedule ``momentum``, or ``betas[0]`` through a mirrored ``momentum`` key."""

    fixed_param_name: ClassVar[str] = "momentum"

    def __init__(self, optimizer: Any, *args: Any, **kwargs: Any) -> None:
        defaults = getattr(torch_optimizer_of(optimizer), "defaults", None) or {}
        self.use_betas = False
        if "momentum" not in defaults:
            if "betas" not in defaults:
                raise ConfigError(
                    f"{type(self).__name__} needs an optimizer with 'momentum' or 'betas', "
                    f"got {type(torch_optimizer_of(optimizer)).__name__}. Remove the momentum "
                    "scheduler or use an optimizer that has momentum."
                )
            self.use_betas = True
            for group in param_groups_of(optimizer):
                if "betas" in group:
                    group["momentum"] = group["betas"][0]
        super().__init__(optimizer, *args, **kwargs)

    def step(self, *args: Any, **kwargs: Any) -> None:
        """Step the schedule, then copy ``momentum`` back into ``betas[0]`` if needed."""
        super().step(*args, **kwargs)  # type: ignore[misc]
        if self.use_betas:
            for group in param_groups_of(self.optimizer):  # type: ignore[attr-defined]
                if "betas" in group:
                    group["betas"] = (group["momentum"], group["betas"][1])


@PARAM_SCHEDULERS.register_module()
class ConstantMomentum(MomentumSchedulerMixin, ConstantParamScheduler):
    """``momentum × factor`` from ``begin`` until step ``end - 1``, where it is restored."""


@PARAM_SCHEDULERS.register_module()
class LinearMomentum(MomentumSchedulerMixin, LinearParamScheduler):
    """``momentum`` scaled by a factor going linearly from ``start_factor`` to ``end_factor``."""


@PARAM_SCHEDULERS.register_module()
class StepMomentum(MomentumSchedulerMixin, StepParamScheduler):
    """``momentum × gamma`` every ``step_size`` steps."""


@PARAM_SCHEDULERS.register_module()
class MultiStepMomentum(MomentumSchedulerMixin, MultiStepParamScheduler):
    """``momentum × gamma`` at each milestone."""


@PARAM_SCHEDULERS.register_module()
class ExponentialMomentum(MomentumSchedulerMixin, ExponentialParamScheduler):
    """``momentum × gamma`` every step."""


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingMomentum(MomentumSchedulerMixin, CosineAnnealingParamScheduler):
    """Cosine annealing of ``momentum`` towards ``eta_min``."""


@PARAM_SCHEDULERS.register_module()
class PolyMomentum(MomentumSchedulerMixin, PolyParamScheduler):
    """Polynomial decay of ``momentum`` to ``eta_min``."""


@PARAM_SCHEDULERS.register_module()
class CosineRestartMomentum(MomentumSchedulerMixin, CosineRestartParamScheduler):
    """Cosine annealing of ``momentum`` with warm restarts."""


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauMomentum(MomentumSchedulerMixin, ReduceOnPlateauParamScheduler):
    """Cut ``momentum`` when a validation metric stops improving."""
