"""Hooks, one per file. Importing this package registers the built-ins."""

from segwright.engine.hooks.checkpoint_hook import CheckpointHook
from segwright.engine.hooks.ema_hook import EMAHook
from segwright.engine.hooks.empty_cache_hook import EmptyCacheHook
from segwright.engine.hooks.hook import Hook
from segwright.engine.hooks.iter_timer_hook import IterTimerHook
from segwright.engine.hooks.legacy_schedules import lr_config_to_hook, momentum_config_to_hook
from segwright.engine.hooks.logger_hook import LoggerHook
from segwright.engine.hooks.lr_updater_annealing import (
    CosineAnnealingLrUpdaterHook,
    CosineRestartLrUpdaterHook,
    FlatCosineAnnealingLrUpdaterHook,
    LinearAnnealingLrUpdaterHook,
)
from segwright.engine.hooks.lr_updater_cycles import CyclicLrUpdaterHook, OneCycleLrUpdaterHook
from segwright.engine.hooks.lr_updater_hook import (
    ExpLrUpdaterHook,
    FixedLrUpdaterHook,
    InvLrUpdaterHook,
    LrUpdaterHook,
    PolyLrUpdaterHook,
    StepLrUpdaterHook,
)
from segwright.engine.hooks.momentum_updater_hook import (
    CosineAnnealingMomentumUpdaterHook,
    CyclicMomentumUpdaterHook,
    LinearAnnealingMomentumUpdaterHook,
    MomentumUpdaterHook,
    OneCycleMomentumUpdaterHook,
    StepMomentumUpdaterHook,
)
from segwright.engine.hooks.param_scheduler_hook import ParamSchedulerHook
from segwright.engine.hooks.progress_bar_hook import ProgressBarHook
from segwright.engine.hooks.runtime_info_hook import RuntimeInfoHook
from segwright.engine.hooks.sampler_seed_hook import DistSamplerSeedHook
from segwright.engine.hooks.workflow_val_hook import WorkflowValLossHook

__all__ = [
    "CheckpointHook",
    "CosineAnnealingLrUpdaterHook",
    "CosineAnnealingMomentumUpdaterHook",
    "CosineRestartLrUpdaterHook",
    "CyclicLrUpdaterHook",
    "CyclicMomentumUpdaterHook",
    "ExpLrUpdaterHook",
    "FixedLrUpdaterHook",
    "FlatCosineAnnealingLrUpdaterHook",
    "InvLrUpdaterHook",
    "LinearAnnealingLrUpdaterHook",
    "LinearAnnealingMomentumUpdaterHook",
    "LrUpdaterHook",
    "MomentumUpdaterHook",
    "OneCycleLrUpdaterHook",
    "OneCycleMomentumUpdaterHook",
    "PolyLrUpdaterHook",
    "StepLrUpdaterHook",
    "StepMomentumUpdaterHook",
    "lr_config_to_hook",
    "momentum_config_to_hook",
    "DistSamplerSeedHook",
    "EMAHook",
    "EmptyCacheHook",
    "Hook",
    "IterTimerHook",
    "LoggerHook",
    "ParamSchedulerHook",
    "ProgressBarHook",
    "RuntimeInfoHook",
    "WorkflowValLossHook",
]
