"""``Runner``: builds every part of a run from a config and drives the loops (SPEC §6.2).

The runner is the one place where the model, the data, the optimizer and the hooks meet.
Parts are built only when a command needs them: ``train()`` builds the train loop, the
optimizer wrapper and the schedulers; ``test()`` builds only the test loop.
"""

from __future__ import annotations

import copy
import functools
import platform
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from segwright.config import Config, load_config
from segwright.config.load import log_load_report
from segwright.engine import safe_unpickle, workdir_lock
from segwright.engine.data import build_dataloader, shutdown_workers
from segwright.engine.dist import (
    convert_sync_batchnorm,
    init_distributed,
    revert_sync_batchnorm,
    wrap_model,
)
from segwright.engine.hooks.hook import STAGES, Hook, implements
from segwright.engine.logging import LogStore, get_logger
from segwright.engine.logging.backends import ScalarWriter
from segwright.engine.logging.logger import close_file_handlers
from segwright.engine.priority import get_priority, with_priorities
from segwright.engine.runner_checkpoint import CheckpointMixin
from segwright.engine.speed import apply_speed_options
from segwright.registry import (
    EVALUATORS,
    HOOKS,
    LOOPS,
    METRICS,
    MODELS,
    build_if_dict,
    normalize_scope,
)
from segwright.registry import default_scope as registry_scope
from segwright.utils.dist import get_rank, get_world_size, is_main_process
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


def set_random_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices); optionally make cuDNN deterministic."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def _pick_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"Device {device} was asked for, but CUDA is not available here. Use --device cpu."
        )
    return device


def _in_default_scope(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a Runner method with the config's ``default_scope`` as the registries' scope."""

    @functools.wraps(method)
    def wrapper(self: Runner, *args: Any, **kwargs: Any) -> Any:
        with registry_scope(self.default_scope):
            return method(self, *args, **kwargs)

    return wrapper


class Runner(CheckpointMixin):
    """Builds a run from its parts (config dicts or built objects) and runs train/val/test."""

    def __init__(
        self,
        model: nn.Module | Mapping[str, Any],
        work_dir: str | Path,
        train_dataloader: Any = None,
        val_dataloader: Any = None,
        test_dataloader: Any = None,
        train_cfg: Mapping[str, Any] | None = None,
        val_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        optim_wrapper: Any = None,
        param_scheduler: Any = None,
        val_evaluator: Any = None,
        test_evaluator: Any = None,
        default_hooks: Mapping[str, Any] | None = None,
        custom_hooks: Sequence[Any] | None = None,
        data_preprocessor: Mapping[str, Any] | None = None,
        load_from: str | None = None,
        resume: bool = False,
        launcher: str = "none",
        env_cfg: Mapping[str, Any] | None = None,
        log_level: str = "INFO",
        log_processor: Mapping[str, Any] | None = None,
        visualizer: Mapping[str, Any] | None = None,
        default_scope: str | None = None,
        randomness: Mapping[str, Any] | None = None,
        experiment_name: str | None = None,
        cfg: Config | None = None,
        device: str | torch.device | None = None,
        trust_checkpoint: bool = False,
        allow_partial_checkpoint: bool = False,
        model_wrapper_cfg: Mapping[str, Any] | None = None,
        sync_bn: str | None = None,
        channels_last: bool = False,
        compile: Any = None,
        auto_scale_lr: Mapping[str, Any] | None = None,
    ) -> None:
        self.cfg = cfg if cfg is not None else Config()
        # The scope unprefixed type names read while this runner builds (MMDet's meaning of
        # Resize, LoadAnnotations... under 'mmdet'); set around every build, never globally.
        self.default_scope = normalize_scope(default_scope)
        self.work_dir = Path(work_dir).resolve()
        self.launcher = launcher
        self.distributed = init_distributed(launcher, dict(env_cfg or {}).get("dist_cfg"))
        self.device = _pick_device(device)
        if self.device.type == "cuda" and self.distributed:
            self.device = torch.device("cuda", torch.cuda.current_device())
        env_cfg = dict(env_cfg or {})
        if env_cfg.get("cudnn_benchmark") and torch.backends.cudnn.is_available():
            torch.backends.cudnn.benchmark = True
        randomness = dict(randomness or {})
        seed = randomness.get("seed")
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        self.seed = int(seed)
        self.deterministic = bool(randomness.get("deterministic", False))
        set_random_seed(
            self.seed + (get_rank() if randomness.get("diff_rank_seed") else 0), self.deterministic
        )

        self.timestamp, self.log_dir = workdir_lock.make_log_dir(self.work_dir)
        self.experiment_name = experiment_name or (
            f"{Path(self.cfg.filename).stem}_{self.timestamp}"
            if self.cfg.filename
            else self.timestamp
        )
        self.logger = get_logger(self.log_dir / f"{self.timestamp}.log", log_level)
        self.log_store = LogStore()
        self.scalar_writer = ScalarWriter.from_cfg(
            dict(visualizer or {}), self.log_dir / "vis_data"
        )

        if isinstance(model, Mapping) and data_preprocessor is not None:
            model = dict(model)
            model.setdefault("data_preprocessor", data_preprocessor)
        with registry_scope(self.default_scope), safe_unpickle.trusted_pickles(trust_checkpoint):
            built = build_if_dict(model, MODELS, key="model")
        if not self.distributed:
            if any(isinstance(m, nn.SyncBatchNorm) for m in built.modules()):
                self.logger.info("SyncBN needs a process group; this single-process run uses BN.")
            built = revert_sync_batchnorm(built)
        elif sync_bn == "torch":
            built = convert_sync_batchnorm(built)
        elif sync_bn not in (None, "torch"):
            raise ConfigError(
                f"sync_bn={sync_bn!r} is not supported; use 'torch' or leave it unset."
            )
        self._raw_model = built.to(self.device)
        speed_notes = apply_speed_options(self._raw_model, self.device, channels_last, compile)
        for note in speed_notes:
            self.logger.info(f"Speed option {note}")
        self.model = wrap_model(self._raw_model, self.distributed, self.device, model_wrapper_cfg)

        self._train_dataloader_cfg = train_dataloader
        self._val_dataloader_cfg = val_dataloader
        self._test_dataloader_cfg = test_dataloader
        self._train_cfg = dict(train_cfg) if train_cfg else None
        self._val_cfg = dict(val_cfg) if val_cfg is not None else None
        self._test_cfg = dict(test_cfg) if test_cfg is not None else None
        self._optim_wrapper_cfg = optim_wrapper
        self._param_scheduler_cfg = param_scheduler
        self._auto_scale_lr = auto_scale_lr
        self._val_evaluator_cfg = val_evaluator
        self._test_evaluator_cfg = test_evaluator
        self.load_from = load_from
        self.resume_requested = bool(resume)
        self.trust_checkpoint = bool(trust_checkpoint)
        # val()/test() refuse a load_from that leaves model weights at their initial values.
        self.allow_partial_checkpoint = bool(allow_partial_checkpoint)
        # While validating inside training: the training generators' states, for checkpoints.
        self.frozen_rng_state: dict[str, Any] | None = None

        self.train_loop: Any = None
        self.val_loop: Any = None
        self.test_loop: Any = None
        self.optim_wrapper: Any = None
        self.param_schedulers: list[Any] | None = None
        self._hooks: list[Hook] = []
        self._hooks_by_stage: dict[str, list[Hook]] = {}  # call_hook's cache; see there
        self._register_default_hooks(default_hooks)
        for index, hook in enumerate(custom_hooks or []):
            self.register_hook(hook, key=f"custom_hooks[{index}]")
        self._log_environment()

    # -- construction from a config --------------------------------------------------------

    @classmethod
    def from_cfg(cls, cfg: Config | Mapping[str, Any]) -> Runner:
        """Build a runner from a (merged) config; unknown top-level keys are ignored.

        ``cfg`` may be as read (an MMSeg 0.x config is translated here) or already through
        :func:`segwright.config.load_config` (then it is used as it is); what the loading
        translated or applied is logged into the run's log.
        """
        cfg = load_config(cfg)
        work_dir = cfg.get("work_dir")
        if work_dir is None:
            name = Path(cfg.filename).stem if cfg.filename else "run"
            work_dir = Path("work_dirs") / name
        if "model" not in cfg:
            raise ConfigError("The config has no 'model'. Add model=dict(type=..., ...).")
        runner = cls(
            model=cfg["model"],
            work_dir=work_dir,
            train_dataloader=cfg.get("train_dataloader"),
            val_dataloader=cfg.get("val_dataloader"),
            test_dataloader=cfg.get("test_dataloader"),
            train_cfg=cfg.get("train_cfg"),
            val_cfg=cfg.get("val_cfg"),
            test_cfg=cfg.get("test_cfg"),
            optim_wrapper=cfg.get("optim_wrapper"),
            param_scheduler=cfg.get("param_scheduler"),
            val_evaluator=cfg.get("val_evaluator"),
            test_evaluator=cfg.get("test_evaluator"),
            default_hooks=with_priorities(cfg, DEFAULT_HOOKS),
            custom_hooks=cfg.get("custom_hooks"),
            data_preprocessor=cfg.get("data_preprocessor"),
            load_from=cfg.get("load_from"),
            resume=cfg.get("resume", False),
            launcher=cfg.get("launcher", "none"),
            env_cfg=cfg.get("env_cfg"),
            log_level=cfg.get("log_level", "INFO"),
            log_processor=cfg.get("log_processor"),
            visualizer=cfg.get("visualizer"),
            default_scope=cfg.get("default_scope"),
            randomness=cfg.get("randomness"),
            experiment_name=cfg.get("experiment_name"),
            cfg=cfg,
            device=cfg.get("device"),
            trust_checkpoint=cfg.get("trust_checkpoint", False),
            allow_partial_checkpoint=cfg.get("allow_partial_checkpoint", False),
            model_wrapper_cfg=cfg.get("model_wrapper_cfg"),
            sync_bn=cfg.get("sync_bn"),
            channels_last=cfg.get("channels_last", False),
            compile=cfg.get("compile"),
            auto_scale_lr=cfg.get("auto_scale_lr"),
        )
        log_load_report(cfg, runner.logger)  # once the run's log file exists
        return runner

    # -- state -----------------------------------------------------------------------------

    @property
    def iter(self) -> int:
        return self.train_loop.iter if self.train_loop is not None else 0

    @property
    def epoch(self) -> int:
        return self.train_loop.epoch if self.train_loop is not None else 0

    @property
    def max_iters(self) -> int:
        return self.train_loop.max_iters if self.train_loop is not None else 0

    @property
    def max_epochs(self) -> int:
        return self.train_loop.max_epochs if self.train_loop is not None else 0

    @property
    def hooks(self) -> list[Hook]:
        return list(self._hooks)

    # -- hooks -----------------------------------------------------------------------------

    @_in_default_scope
    def register_hook(
        self, hook: Hook | Mapping[str, Any], priority: int | str | None = None, key: str = ""
    ) -> None:
        """Insert a hook after every hook whose priority is <= its own (stable order)."""
        if isinstance(hook, Mapping):
            hook = dict(hook)
            if priority is None and "priority" in hook:
                priority = hook.pop("priority")
            else:
                hook.pop("priority", None)
            hook = HOOKS.build(hook, key=key)
        if not isinstance(hook, Hook):
            missing = [s for s in STAGES if not hasattr(hook, s)]
            if missing:
                raise ConfigError(
                    f"{key or 'A hook'} ({type(hook).__name__}) is not a Hook: it lacks {missing[:3]}. "
                    "Subclass segwright.engine.hooks.Hook."
                )
        value = get_priority(
            priority if priority is not None else getattr(hook, "priority", "NORMAL")
        )
        hook.priority = value  # type: ignore[union-attr]
        position = len(self._hooks)
        for index in range(len(self._hooks) - 1, -1, -1):
            if value >= self._hooks[index].priority:  # type: ignore[operator]
                position = index + 1
                break
        else:
            position = 0
        self._hooks.insert(position, hook)  # type: ignore[arg-type]
        self._hooks_by_stage.clear()

    def _register_default_hooks(self, overrides: Mapping[str, Any] | None) -> None:
        specs: dict[str, Any] = copy.deepcopy(DEFAULT_HOOKS)
        if sys.stdout.isatty() and is_main_process():
            specs["progress_bar"] = dict(type="ProgressBarHook")
        for name, spec in (overrides or {}).items():
            specs[name] = spec
        for name, spec in specs.items():
            if spec is not None:
                self.register_hook(spec, key=f"default_hooks.{name}")

    def call_hook(self, stage: str, **kwargs: Any) -> None:
        """Call ``stage`` on every hook, in priority order.

        Hooks that inherit the stage's no-op from ``Hook`` are left out: calling them would do
        nothing but cost a few microseconds per hook and iteration.
        """
        hooks = self._hooks_by_stage.get(stage)
        if hooks is None:
            hooks = [hook for hook in self._hooks if implements(hook, stage)]
            self._hooks_by_stage[stage] = hooks
        for hook in hooks:
            getattr(hook, stage)(self, **kwargs)

    # -- building on demand ----------------------------------------------------------------

    def _build_train_loop(self) -> Any:
        if (
            self._train_cfg is None
            or self._train_dataloader_cfg is None
            or self._optim_wrapper_cfg is None
        ):
            missing = [
                name
                for name, value in (
                    ("train_cfg", self._train_cfg),
                    ("train_dataloader", self._train_dataloader_cfg),
                    ("optim_wrapper", self._optim_wrapper_cfg),
                )
                if value is None
            ]
            raise ConfigError(f"Training needs {', '.join(missing)} in the config.")
        cfg = dict(self._train_cfg)
        if "type" not in cfg:
            by_epoch = cfg.pop("by_epoch", None)
            if by_epoch is None:
                raise ConfigError(
                    "train_cfg needs type='IterBasedTrainLoop' (with max_iters) or "
                    "type='EpochBasedTrainLoop' (with max_epochs)."
                )
            cfg["type"] = "EpochBasedTrainLoop" if by_epoch else "IterBasedTrainLoop"
        elif "by_epoch" in cfg:
            raise ConfigError("train_cfg sets both 'type' and 'by_epoch'; keep only 'type'.")
        loader = build_dataloader(
            self._train_dataloader_cfg, seed=self.seed, key="train_dataloader"
        )
        return LOOPS.build(cfg, default_args=dict(runner=self, dataloader=loader), key="train_cfg")

    def _build_evaluator(self, cfg: Any, key: str) -> Any:
        if cfg is None:
            raise ConfigError(f"Validation/testing needs {key} (e.g. dict(type='IoUMetric')).")
        if hasattr(cfg, "process") and hasattr(cfg, "evaluate"):
            return cfg
        if (
            isinstance(cfg, Mapping)
            and cfg.get("type") in ("Evaluator",)
            or (isinstance(cfg, Mapping) and EVALUATORS.get(str(cfg.get("type"))) is not None)
        ):
            return EVALUATORS.build(cfg, key=key)
        metrics = list(cfg) if isinstance(cfg, (list, tuple)) else [cfg]
        built = [build_if_dict(m, METRICS, key=f"{key}[{i}]") for i, m in enumerate(metrics)]
        return EVALUATORS.build(dict(type="Evaluator", metrics=built), key=key)

    def _build_eval_loop(self, mode: str) -> Any:
        loader_cfg = self._val_dataloader_cfg if mode == "val" else self._test_dataloader_cfg
        loop_cfg = self._val_cfg if mode == "val" else self._test_cfg
        evaluator_cfg = self._val_evaluator_cfg if mode == "val" else self._test_evaluator_cfg
        if loader_cfg is None:
            return None
        loop_cfg = dict(loop_cfg or {})
        loop_cfg.setdefault("type", "ValLoop" if mode == "val" else "TestLoop")
        loader = build_dataloader(loader_cfg, seed=self.seed, key=f"{mode}_dataloader")
        evaluator = self._build_evaluator(evaluator_cfg, f"{mode}_evaluator")
        return LOOPS.build(
            loop_cfg,
            default_args=dict(runner=self, dataloader=loader, evaluator=evaluator),
            key=f"{mode}_cfg",
        )

    def _train_batch_size(self) -> int:
        """Images per step on one process: the train dataloader's ``batch_size``."""
        spec = self._train_dataloader_cfg
        if isinstance(spec, Mapping) and spec.get("batch_size") is not None:
            return int(spec["batch_size"])
        loader = self.train_loop.dataloader
        size = loader.batch_size or getattr(loader.batch_sampler, "batch_size", None)
        return int(size or 1)

    def _build_optim_and_schedulers(self) -> None:
        from segwright.engine.optim.auto_scale_lr import scale_lr
        from segwright.engine.optim.constructor import build_optim_wrapper, describe_param_groups
        from segwright.engine.optim.schedulers.builder import build_param_schedulers

        if hasattr(self._optim_wrapper_cfg, "update_params"):
            self.optim_wrapper = self._optim_wrapper_cfg
        else:
            self.optim_wrapper = build_optim_wrapper(
                self._raw_model, copy.deepcopy(self._optim_wrapper_cfg)
            )
        factor = scale_lr(
            self.optim_wrapper.optimizer,
            self._auto_scale_lr,
            self._train_batch_size(),
            get_world_size(),
        )
        if factor is not None:
            self.logger.info(
                f"auto_scale_lr: lr x {factor:g} (world size {get_world_size()} x batch size "
                f"{self._train_batch_size()} / base_batch_size "
                f"{self._auto_scale_lr['base_batch_size']})."
            )
        self.logger.info(
            "Parameter groups:\n" + describe_param_groups(self.optim_wrapper.optimizer)
        )
        if self._param_scheduler_cfg:
            self.param_schedulers = build_param_schedulers(
                copy.deepcopy(self._param_scheduler_cfg),
                self.optim_wrapper,
                epoch_length=len(self.train_loop.dataloader),
                max_epochs=self.train_loop.max_epochs,
                max_iters=self.train_loop.max_iters,
            )
        else:
            self.param_schedulers = []

    # -- commands --------------------------------------------------------------------------

    @workdir_lock.holds_work_dir_lock
    @_in_default_scope
    def train(self) -> nn.Module:
        """Train as configured; return the trained model."""
        self.train_loop = self._build_train_loop()
        self._build_optim_and_schedulers()
        if self._val_dataloader_cfg is not None:
            self.val_loop = self._build_eval_loop("val")
        self._dump_config()
        self.call_hook("before_run")
        checkpoint = self._init_weights()
        self._load_or_resume(checkpoint=checkpoint)
        if hasattr(self.optim_wrapper, "initialize_count_status"):
            self.optim_wrapper.initialize_count_status(self._raw_model, self.iter, self.max_iters)
        try:
            model = self.train_loop.run()
        finally:
            self.call_hook("after_run")
            self.scalar_writer.close()
        return model

    @_in_default_scope
    def val(self) -> dict[str, Any]:
        """Run the validation loop once; return its metrics."""
        self.val_loop = self.val_loop or self._build_eval_loop("val")
        if self.val_loop is None:
            raise ConfigError(
                "Validation needs val_dataloader, val_cfg and val_evaluator in the config."
            )
        self.call_hook("before_run")
        self._load_or_resume(evaluating=True)
        metrics = self.val_loop.run()
        self.call_hook("after_run")
        return metrics

    @_in_default_scope
    def test(self) -> dict[str, Any]:
        """Run the test loop once; return its metrics."""
        self.test_loop = self._build_eval_loop("test")
        if self.test_loop is None:
            raise ConfigError(
                "Testing needs test_dataloader, test_cfg and test_evaluator in the config."
            )
        self.call_hook("before_run")
        self._load_or_resume(evaluating=True)
        metrics = self.test_loop.run()
        self.call_hook("after_run")
        return metrics

    # -- run records -----------------------------------------------------------------------

    def _dump_config(self) -> None:
        if not len(self.cfg) or not is_main_process():
            return
        name = Path(self.cfg.filename).name if self.cfg.filename else f"{self.timestamp}.py"
        if not name.endswith(".py"):
            name = Path(name).stem + ".py"
        self.cfg.dump(self.log_dir / name, format="py")
        self.scalar_writer.add_config(self.cfg)

    def _log_environment(self) -> None:
        cuda = torch.version.cuda if torch.cuda.is_available() else "not available"
        self.logger.info(
            "Environment: "
            f"Python {platform.python_version()} ({sys.platform}), torch {torch.__version__}, "
            f"CUDA {cuda}, numpy {np.__version__}; device {self.device}; "
            f"world size {get_world_size()}; seed {self.seed}"
            f"{' (deterministic)' if self.deterministic else ''}; work_dir {self.work_dir}"
        )

    def close(self) -> None:
        """Release log files (also done at the end of ``train``) and persistent data workers."""
        self.scalar_writer.close()
        close_file_handlers()
        for loop in (self.train_loop, self.val_loop, self.test_loop):
            shutdown_workers(getattr(loop, "dataloader", None))
