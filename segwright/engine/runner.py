"""``Runner``: builds every part of a run from a config and drives the loops (SPEC §6.2).

The runner is the one place where the model, the data, the optimizer and the hooks meet.
Parts are built only when a command needs them: ``train()`` builds the train loop, the
optimizer wrapper and the schedulers; ``test()`` builds only the test loop.
"""

from __future__ import annotations

import copy
import functools
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from segwright.config import Config, load_config
from segwright.config.load import log_load_report
from segwright.engine import workdir_lock
from segwright.engine.data import shutdown_workers
from segwright.engine.dist import init_distributed
from segwright.engine.hooks.hook import STAGES, Hook, implements
from segwright.engine.logging import LogStore, get_logger
from segwright.engine.logging.backends import ScalarWriter
from segwright.engine.logging.logger import close_file_handlers
from segwright.engine.priority import get_priority
from segwright.engine.runner_args import DEFAULT_HOOKS, runner_kwargs
from segwright.engine.runner_build import BuildMixin
from segwright.engine.runner_checkpoint import CheckpointMixin
from segwright.engine.runner_setup import build_run_model, pick_device, seed_run
from segwright.registry import HOOKS, normalize_scope
from segwright.registry import default_scope as registry_scope
from segwright.utils.dist import get_world_size, is_main_process
from segwright.utils.errors import ConfigError
from segwright.utils.key_origins import key_origins

__all__ = ["DEFAULT_HOOKS", "Runner"]


def _in_default_scope(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a Runner method with the config's ``default_scope`` as the registries' scope."""

    @functools.wraps(method)
    def wrapper(self: Runner, *args: Any, **kwargs: Any) -> Any:
        with registry_scope(self.default_scope), key_origins(self.cfg.origin_of):
            return method(self, *args, **kwargs)

    return wrapper


class Runner(CheckpointMixin, BuildMixin):
    """Builds a run from its parts (config dicts or built objects) and runs train/val/test.

    Takes MMEngine's ``Runner`` arguments by keyword; each is the top-level config key of the
    same name, listed with its default and meaning in
    :data:`segwright.engine.runner_args.RUNNER_KEYS`. ``cfg`` is the whole config (dumped
    into the run's folder and checkpoints).
    """

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
        self._init_env(launcher, env_cfg, device, randomness)
        self._init_logging(experiment_name, log_level, visualizer)
        self._raw_model, self.model = build_run_model(
            model,
            data_preprocessor=data_preprocessor,
            scope=self.default_scope,
            trust_checkpoint=trust_checkpoint,
            distributed=self.distributed,
            device=self.device,
            sync_bn=sync_bn,
            channels_last=channels_last,
            compile=compile,
            model_wrapper_cfg=model_wrapper_cfg,
            logger=self.logger,
        )

        # The parts' configs, built when a command needs them (runner_build.py).
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

        # Built by the commands.
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

    def _init_env(
        self,
        launcher: str,
        env_cfg: Mapping[str, Any] | None,
        device: str | torch.device | None,
        randomness: Mapping[str, Any] | None,
    ) -> None:
        """Process group, device, cuDNN and seeds (config keys ``env_cfg``, ``randomness``)."""
        env_cfg = dict(env_cfg or {})
        self.distributed = init_distributed(launcher, env_cfg.get("dist_cfg"))
        self.device = pick_device(device, self.distributed)
        if env_cfg.get("cudnn_benchmark") and torch.backends.cudnn.is_available():
            torch.backends.cudnn.benchmark = True
        self.seed, self.deterministic = seed_run(randomness)

    def _init_logging(
        self, experiment_name: str | None, log_level: str, visualizer: Mapping[str, Any] | None
    ) -> None:
        """The run's log folder and file, its log store and its scalar backends."""
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

    # -- construction from a config --------------------------------------------------------

    @classmethod
    def from_cfg(cls, cfg: Config | Mapping[str, Any]) -> Runner:
        """Build a runner from a (merged) config; unknown top-level keys are ignored.

        ``cfg`` may be as read (an MMSeg 0.x config is translated here) or already through
        :func:`segwright.config.load_config` (then it is used as it is); what the loading
        translated or applied is logged into the run's log.
        """
        cfg = load_config(cfg)
        with key_origins(cfg.origin_of):
            runner = cls(**runner_kwargs(cfg, cfg.filename))
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
        """MMEngine's default hooks, then those higher floors registered with a ``default_key``
        (``HOOKS.default_specs()``), updated by key from ``default_hooks`` (None removes)."""
        specs: dict[str, Any] = copy.deepcopy(DEFAULT_HOOKS)
        specs.update(HOOKS.default_specs())
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
