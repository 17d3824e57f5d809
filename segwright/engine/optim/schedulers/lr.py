"""Learning-rate schedulers: the generic schedules applied to each param group's ``lr``."""

from __future__ import annotations

from typing import ClassVar

from segwright.engine.optim.schedulers.annealing import (
    CosineAnnealingParamScheduler,
    CosineRestartParamScheduler,
    PolyParamScheduler,
)
from segwright.engine.optim.schedulers.fixed_param import FixedParamMixin
from segwright.engine.optim.schedulers.multiplicative import (
    ConstantParamScheduler,
    ExponentialParamScheduler,
    LinearParamScheduler,
    MultiStepParamScheduler,
    StepParamScheduler,
)
from segwright.engine.optim.schedulers.one_cycle import OneCycleParamScheduler
from segwright.engine.optim.schedulers.plateau import ReduceOnPlateauParamScheduler
from segwright.registry import PARAM_SCHEDULERS


class LRSchedulerMixin(FixedParamMixin):
    """Schedule ``lr``."""

    fixed_param_name: ClassVar[str] = "lr"


@PARAM_SCHEDULERS.register_module()
class ConstantLR(LRSchedulerMixin, ConstantParamScheduler):
    """``lr × factor`` from ``begin`` until step ``end - 1``, where it is restored."""


@PARAM_SCHEDULERS.register_module()
class LinearLR(LRSchedulerMixin, LinearParamScheduler):
    """``lr`` scaled by a factor going linearly from ``start_factor`` to ``end_factor`` (warmup)."""


@PARAM_SCHEDULERS.register_module()
class StepLR(LRSchedulerMixin, StepParamScheduler):
    """``lr × gamma`` every ``step_size`` steps."""


@PARAM_SCHEDULERS.register_module()
class MultiStepLR(LRSchedulerMixin, MultiStepParamScheduler):
    """``lr × gamma`` at each milestone."""


@PARAM_SCHEDULERS.register_module()
class ExponentialLR(LRSchedulerMixin, ExponentialParamScheduler):
    """``lr × gamma`` every step."""


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingLR(LRSchedulerMixin, CosineAnnealingParamScheduler):
    """Cosine annealing of ``lr`` towards ``eta_min``."""


@PARAM_SCHEDULERS.register_module()
class PolyLR(LRSchedulerMixin, PolyParamScheduler):
    """Polynomial decay of ``lr`` to ``eta_min`` at step ``end - 1`` (the mmseg default)."""


@PARAM_SCHEDULERS.register_module()
class OneCycleLR(LRSchedulerMixin, OneCycleParamScheduler):
    """The 1cycle ``lr`` policy (not chainable)."""


@PARAM_SCHEDULERS.register_module()
class CosineRestartLR(LRSchedulerMixin, CosineRestartParamScheduler):
    """Cosine annealing of ``lr`` with warm restarts."""


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauLR(LRSchedulerMixin, ReduceOnPlateauParamScheduler):
    """Cut ``lr`` when a validation metric stops improving."""
