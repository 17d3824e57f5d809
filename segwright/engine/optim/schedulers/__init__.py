"""Parameter schedulers (MMEngine semantics): lr and momentum schedules stepped by the runner.

Importing this package registers every scheduler in ``PARAM_SCHEDULERS``.
"""

from segwright.engine.optim.schedulers.annealing import (
    CosineAnnealingParamScheduler,
    CosineRestartParamScheduler,
    PolyParamScheduler,
)
from segwright.engine.optim.schedulers.base import (
    INF,
    ClosedFormParamScheduler,
    ParamScheduler,
    _ParamScheduler,
)
from segwright.engine.optim.schedulers.builder import (
    build_param_schedulers,
    build_scheduler_from_cfg,
)
from segwright.engine.optim.schedulers.fixed_param import FixedParamMixin
from segwright.engine.optim.schedulers.lr import (
    ConstantLR,
    CosineAnnealingLR,
    CosineRestartLR,
    ExponentialLR,
    LinearLR,
    LRSchedulerMixin,
    MultiStepLR,
    OneCycleLR,
    PolyLR,
    ReduceOnPlateauLR,
    StepLR,
)
from segwright.engine.optim.schedulers.mmcv_base import MMCVPolicyScheduler
from segwright.engine.optim.schedulers.mmcv_cycles import MMCVCyclicLR, MMCVOneCycleLR
from segwright.engine.optim.schedulers.mmcv_lr import (
    MMCVCosineAnnealingLR,
    MMCVCosineRestartLR,
    MMCVExpLR,
    MMCVFixedLR,
    MMCVFlatCosineAnnealingLR,
    MMCVInvLR,
    MMCVLinearAnnealingLR,
    MMCVPolyLR,
    MMCVStepLR,
)
from segwright.engine.optim.schedulers.mmcv_momentum import (
    MMCVCosineAnnealingMomentum,
    MMCVCyclicMomentum,
    MMCVLinearAnnealingMomentum,
    MMCVOneCycleMomentum,
    MMCVStepMomentum,
)
from segwright.engine.optim.schedulers.momentum import (
    ConstantMomentum,
    CosineAnnealingMomentum,
    CosineRestartMomentum,
    ExponentialMomentum,
    LinearMomentum,
    MomentumSchedulerMixin,
    MultiStepMomentum,
    PolyMomentum,
    ReduceOnPlateauMomentum,
    StepMomentum,
)
from segwright.engine.optim.schedulers.multiplicative import (
    ConstantParamScheduler,
    ExponentialParamScheduler,
    LinearParamScheduler,
    MultiStepParamScheduler,
    StepParamScheduler,
)
from segwright.engine.optim.schedulers.one_cycle import OneCycleParamScheduler
from segwright.engine.optim.schedulers.plateau import ReduceOnPlateauParamScheduler

__all__ = [
    "INF",
    "ClosedFormParamScheduler",
    "ConstantLR",
    "ConstantMomentum",
    "ConstantParamScheduler",
    "CosineAnnealingLR",
    "CosineAnnealingMomentum",
    "CosineAnnealingParamScheduler",
    "CosineRestartLR",
    "CosineRestartMomentum",
    "CosineRestartParamScheduler",
    "ExponentialLR",
    "ExponentialMomentum",
    "ExponentialParamScheduler",
    "FixedParamMixin",
    "LRSchedulerMixin",
    "LinearLR",
    "LinearMomentum",
    "LinearParamScheduler",
    "MMCVPolicyScheduler",
    "MMCVCosineAnnealingLR",
    "MMCVCosineRestartLR",
    "MMCVCyclicLR",
    "MMCVExpLR",
    "MMCVFixedLR",
    "MMCVFlatCosineAnnealingLR",
    "MMCVInvLR",
    "MMCVLinearAnnealingLR",
    "MMCVOneCycleLR",
    "MMCVPolyLR",
    "MMCVStepLR",
    "MMCVCosineAnnealingMomentum",
    "MMCVCyclicMomentum",
    "MMCVLinearAnnealingMomentum",
    "MMCVOneCycleMomentum",
    "MMCVStepMomentum",
    "MomentumSchedulerMixin",
    "MultiStepLR",
    "MultiStepMomentum",
    "MultiStepParamScheduler",
    "OneCycleLR",
    "OneCycleParamScheduler",
    "ParamScheduler",
    "PolyLR",
    "PolyMomentum",
    "PolyParamScheduler",
    "ReduceOnPlateauLR",
    "ReduceOnPlateauMomentum",
    "ReduceOnPlateauParamScheduler",
    "StepLR",
    "StepMomentum",
    "StepParamScheduler",
    "_ParamScheduler",
    "build_param_schedulers",
    "build_scheduler_from_cfg",
]
