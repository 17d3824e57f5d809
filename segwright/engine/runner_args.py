"""The config keys the ``Runner`` reads, with their defaults: one table (SPEC §6.2).

:meth:`Runner.from_cfg` reads a config through :data:`RUNNER_KEYS`, so a key is named once here
and not again in a call that lists every argument; the table also documents them. The names
are MMEngine's ``Runner`` arguments, which ``Runner(...)`` still takes as keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segwright.engine.priority import with_priorities
from segwright.registry import HOOKS
from segwright.utils.errors import ConfigError

#: MMEngine's default hooks; ``default_hooks`` in a config updates this by key (None removes).
DEFAULT_HOOKS: dict[str, dict[str, Any]] = {
    "runtime_info": dict(type="RuntimeInfoHook"),
    "timer": dict(type="IterTimerHook"),
    "sampler_seed": dict(type="DistSamplerSeedHook"),
    "logger": dict(type="LoggerHook"),
    "param_scheduler": dict(type="ParamSchedulerHook"),
    "checkpoint": dict(type="CheckpointHook", interval=1),
}


@dataclass(frozen=True)
class RunnerKey:
    """One top-level config key the runner reads: its name, its default, what it sets."""

    name: str
    default: Any
    doc: str


#: Every top-level config key :meth:`Runner.from_cfg` reads, in ``Runner.__init__``'s order.
#: ``model`` is required; the others fall back to ``default`` when the config lacks them.
RUNNER_KEYS: tuple[RunnerKey, ...] = (
    RunnerKey("model", None, "The model: a config dict (required) or a built nn.Module."),
    RunnerKey("work_dir", None, "Checkpoints and logs; default work_dirs/<config name>."),
    RunnerKey("train_dataloader", None, "Training data; needed by train()."),
    RunnerKey("val_dataloader", None, "Validation data; validation runs only with it."),
    RunnerKey("test_dataloader", None, "Test data; needed by test()."),
    RunnerKey("train_cfg", None, "The train loop: type= and max_iters/max_epochs, intervals."),
    RunnerKey("val_cfg", None, "The validation loop (default ValLoop)."),
    RunnerKey("test_cfg", None, "The test loop (default TestLoop)."),
    RunnerKey("optim_wrapper", None, "Optimizer and its wrapper (clipping, AMP, accumulation)."),
    RunnerKey("param_scheduler", None, "Learning-rate/momentum schedulers, one or a list."),
    RunnerKey(
        "val_evaluator",
        None,
        "Metrics of validation: a metric dict, a list of them, dict(metrics=[...]) or "
        "dict(type='Evaluator', metrics=[...]).",
    ),
    RunnerKey("test_evaluator", None, "Metrics of testing, in the forms of val_evaluator."),
    RunnerKey(
        "default_hooks",
        None,
        "Updates DEFAULT_HOOKS by name (None removes one); default_hook_priorities applies.",
    ),
    RunnerKey("custom_hooks", None, "More hooks, each a config dict or a built Hook."),
    RunnerKey("data_preprocessor", None, "model.data_preprocessor when the model has none."),
    RunnerKey("load_from", None, "A checkpoint to load the weights from (or resume from)."),
    RunnerKey("resume", False, "Resume from load_from, else from the work_dir's last one."),
    RunnerKey("launcher", "none", "'none' (one process) or how processes were launched."),
    RunnerKey("env_cfg", None, "cudnn_benchmark and dist_cfg (the process group's backend)."),
    RunnerKey("log_level", "INFO", "The level of the run's log."),
    RunnerKey("log_processor", None, "How logged values are smoothed (read by LoggerHook)."),
    RunnerKey("visualizer", None, "Scalar backends (vis_backends) of the run."),
    RunnerKey("default_scope", None, "The registry scope of unprefixed type names: 'mmdet'..."),
    RunnerKey("randomness", None, "seed, deterministic and diff_rank_seed."),
    RunnerKey("experiment_name", None, "The run's name; default <config name>_<timestamp>."),
    RunnerKey("device", None, "'cpu', 'cuda' or 'cuda:N'; default cuda when available."),
    RunnerKey("trust_checkpoint", False, "Unpickle any object in checkpoints (trusted files)."),
    RunnerKey(
        "allow_partial_checkpoint", False, "Let val()/test() use a load_from that fits partly."
    ),
    RunnerKey("model_wrapper_cfg", None, "How the model is wrapped for distributed training."),
    RunnerKey("sync_bn", None, "'torch' converts BatchNorm to SyncBatchNorm (distributed)."),
    RunnerKey("channels_last", False, "Keep the model's weights and inputs channels-last."),
    RunnerKey("compile", None, "torch.compile the model (True or its keyword arguments)."),
    RunnerKey("auto_scale_lr", None, "Scale the lr by the total batch size (base_batch_size)."),
)


def runner_kwargs(cfg: Mapping[str, Any], filename: str | None = None) -> dict[str, Any]:
    """The keyword arguments of ``Runner(...)`` read from a loaded config (``cfg=`` included).

    Args:
        cfg: The config, through :func:`segwright.config.load_config`.
        filename: The config file, which names the default ``work_dir``.

    Raises:
        ConfigError: The config has no ``model``.
    """
    if "model" not in cfg:
        raise ConfigError("The config has no 'model'. Add model=dict(type=..., ...).")
    kwargs = {key.name: cfg.get(key.name, key.default) for key in RUNNER_KEYS}
    if kwargs["work_dir"] is None:
        kwargs["work_dir"] = Path("work_dirs") / (Path(filename).stem if filename else "run")
    # Priorities reach the hooks higher floors add by default too (e.g. the pre-flight).
    defaults = {**DEFAULT_HOOKS, **HOOKS.default_specs()}
    kwargs["default_hooks"] = with_priorities(cfg, defaults)
    kwargs["cfg"] = cfg
    return kwargs
