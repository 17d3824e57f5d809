"""Hooks, one per file. Importing this package registers the built-ins."""

from segwright.engine.hooks.checkpoint_hook import CheckpointHook
from segwright.engine.hooks.ema_hook import EMAHook
from segwright.engine.hooks.empty_cache_hook import EmptyCacheHook
from segwright.engine.hooks.hook import Hook
from segwright.engine.hooks.iter_timer_hook import IterTimerHook
from segwright.engine.hooks.logger_hook import LoggerHook
from segwright.engine.hooks.param_scheduler_hook import ParamSchedulerHook
from segwright.engine.hooks.progress_bar_hook import ProgressBarHook
from segwright.engine.hooks.runtime_info_hook import RuntimeInfoHook
from segwright.engine.hooks.sampler_seed_hook import DistSamplerSeedHook
from segwright.engine.hooks.workflow_val_hook import WorkflowValLossHook

__all__ = [
    "CheckpointHook",
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
