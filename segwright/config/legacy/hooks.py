"""0.x ``checkpoint_config``, ``log_config`` and ``custom_hooks`` as 1.x hooks."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from segwright.config.legacy.common import bare_type
from segwright.config.legacy.datasets import DataResult
from segwright.config.legacy.notes import _TranslatorBase
from segwright.registry import split_scope
from segwright.utils.errors import ConfigError

_LOGGER_COMMON = ("interval", "ignore_last", "reset_flag", "by_epoch")
_LOGGER_ARGS = {
    "TextLoggerHook": (
        "interval_exp_name",
        "out_dir",
        "out_suffix",
        "keep_local",
        "file_client_args",
    ),
    "TensorboardLoggerHook": ("log_dir",),
    "WandbLoggerHook": (
        "init_kwargs",
        "commit",
        "with_step",
        "log_artifact",
        "out_suffix",
        "define_metric_cfg",
    ),
    "MMSegWandbHook": (
        "init_kwargs",
        "commit",
        "with_step",
        "log_artifact",
        "out_suffix",
        "define_metric_cfg",
        "log_checkpoint",
        "log_checkpoint_metadata",
        "num_eval_images",
    ),
    "MlflowLoggerHook": ("exp_name", "tags", "params", "log_model"),
}
_CHECKPOINT_ARGS = (
    "interval",
    "by_epoch",
    "save_optimizer",
    "out_dir",
    "max_keep_ckpts",
    "save_last",
    "sync_buffer",
    "file_client_args",
    "filename_tmpl",
    "create_symlink",
    "meta",
)


#: MMCV's priorities of the hooks the 0.x runtime keys registered, by default_hooks name:
#: the LR (VERY_HIGH) and momentum (HIGH) updaters are the translated schedulers' stepping
#: hook, CheckpointHook NORMAL, IterTimerHook LOW, the logger hooks VERY_LOW.
MMCV_PRIORITIES = {
    "param_scheduler": "VERY_HIGH",
    "checkpoint": "NORMAL",
    "timer": "LOW",
    "logger": "VERY_LOW",
}


class _HooksMixin(_TranslatorBase):
    """``checkpoint_config``, ``log_config``, ``workflow`` hooks and ``custom_hooks``."""

    def _checkpoint(self, iter_based: bool) -> None:
        present = "checkpoint_config" in self.src
        cfg = self.src.pop("checkpoint_config", None)
        if cfg is None:
            self.note(
                f"checkpoint_config {'is None' if present else 'missing'}: MMCV saved no "
                "checkpoints; default_hooks.checkpoint=None does the same"
                + (
                    " (apart from the best checkpoint of evaluation.save_best)."
                    if self.best
                    else "."
                )
            )
            hook = None
            if self.best:
                hook = dict(
                    type="CheckpointHook", by_epoch=not iter_based, interval=-1, save_last=False
                )
                hook.update(self.best)
            self.default_hooks["checkpoint"] = hook
            return
        if not isinstance(cfg, Mapping):
            raise ConfigError(f"Config key 'checkpoint_config' must be a dict, got {cfg!r}.")
        if "type" in cfg and split_scope(str(cfg["type"]))[1] != "CheckpointHook":
            raise ConfigError(
                f"Config key 'checkpoint_config.type'={cfg['type']!r}: only CheckpointHook is "
                "translated; register another hook through custom_hooks."
            )
        unknown = sorted(set(cfg) - set(_CHECKPOINT_ARGS) - {"type"})
        if unknown:
            raise ConfigError(
                f"Config key 'checkpoint_config' has argument(s) {unknown} that CheckpointHook "
                f"does not take. Accepted: {', '.join(_CHECKPOINT_ARGS)}."
            )
        hook = dict(
            type="CheckpointHook",
            by_epoch=cfg.get("by_epoch", not iter_based),
            interval=cfg.get("interval", -1),
        )
        for name in ("max_keep_ckpts", "save_optimizer", "save_last", "out_dir", "filename_tmpl"):
            if name in cfg:
                hook[name] = cfg[name]
        hook.update(self.best)
        self.default_hooks["checkpoint"] = hook
        if cfg.get("create_symlink", True):
            self.note(
                "checkpoint_config: no latest.pth symlink; work_dir/last_checkpoint (a text file) "
                "names the newest checkpoint."
            )
        if "meta" in cfg:
            self.note(
                "checkpoint_config.meta dropped: checkpoints carry segwright's meta (config, "
                "seed, dataset_meta with classes and palette)."
            )
        if cfg.get("sync_buffer"):
            self.note(
                "checkpoint_config.sync_buffer dropped: buffers are saved from rank 0 (DDP "
                "broadcasts them from rank 0 every forward)."
            )
        if "file_client_args" in cfg:
            self.note("checkpoint_config.file_client_args dropped: checkpoints go to local disk.")

    def _logging(self, iter_based: bool) -> None:
        present = "log_config" in self.src
        cfg = self.src.pop("log_config", None)
        if cfg is None:
            self.note(
                f"log_config {'is None' if present else 'missing'}: MMCV logged nothing; "
                "segwright keeps its default text log (LoggerHook, interval 10)."
            )
            return
        if not isinstance(cfg, Mapping) or set(cfg) - {"interval", "hooks"}:
            raise ConfigError(
                f"Config key 'log_config' must be dict(interval=..., hooks=[...]), got {cfg!r}."
            )
        interval = cfg.get("interval", 10)
        logger: dict[str, Any] = dict(
            type="LoggerHook", interval=interval, log_metric_by_epoch=not iter_based
        )
        backends: list[dict[str, Any]] = []
        hooks = cfg.get("hooks") or []
        for index, spec in enumerate(hooks):
            key = f"log_config.hooks[{index}]"
            kind = bare_type(spec, key)
            if kind not in _LOGGER_ARGS:
                raise ConfigError(
                    f"Config key '{key}': {kind} has no segwright equivalent. Supported: "
                    f"{', '.join(_LOGGER_ARGS)} (they become visualizer.vis_backends)."
                )
            args = {k: v for k, v in spec.items() if k != "type"}
            unknown = sorted(set(args) - set(_LOGGER_COMMON) - set(_LOGGER_ARGS[kind]))
            if unknown:
                raise ConfigError(
                    f"Config key '{key}' ({kind}) has argument(s) {unknown} it does not take."
                )
            backends.append(self._vis_backend(kind, args, key, logger))
            own_interval = args.pop("interval", interval)
            if own_interval != interval:
                self.note(
                    f"{key}.interval={own_interval} dropped: one LoggerHook logs every "
                    f"{interval} iterations (log_config.interval) for all backends."
                )
            # The log line follows the loop type; a by_epoch that agrees with it says nothing.
            if args.get("by_epoch", not iter_based) == (not iter_based):
                args.pop("by_epoch", None)
            if args:
                self.note(f"{key} ({kind}): {sorted(args)} dropped (no equivalent).")
        if not any(bare_type(h, "") == "TextLoggerHook" for h in hooks):
            self.note(
                "log_config has no TextLoggerHook: segwright writes the text log anyway (and "
                "no scalars.json unless LocalVisBackend is listed)."
            )
        self.default_hooks["logger"] = logger
        self.out["log_processor"] = dict(by_epoch=not iter_based)
        self.out["visualizer"] = dict(
            type="SegLocalVisualizer", vis_backends=backends, name="visualizer"
        )

    def _vis_backend(
        self, kind: str, args: dict[str, Any], key: str, logger: dict[str, Any]
    ) -> dict[str, Any]:
        """The vis backend of one 0.x logger hook; pops the arguments it uses from ``args``."""
        if kind == "TextLoggerHook":
            for name in ("interval_exp_name", "ignore_last"):
                if name in args:
                    logger[name] = args.pop(name)
            return dict(type="LocalVisBackend")
        if kind == "TensorboardLoggerHook":
            if "log_dir" in args:
                self.note(
                    f"{key}.log_dir={args.pop('log_dir')!r} dropped: TensorBoard events go to "
                    "<work_dir>/<timestamp>/vis_data."
                )
            return dict(type="TensorboardVisBackend")
        if kind in ("WandbLoggerHook", "MMSegWandbHook"):
            out = dict(type="WandbVisBackend", init_kwargs=args.pop("init_kwargs", None) or {})
            for name in ("commit", "define_metric_cfg"):
                if name in args:
                    out[name] = args.pop(name)
            extras = [k for k in ("log_checkpoint", "log_checkpoint_metadata", "num_eval_images")]
            if kind == "MMSegWandbHook" and any(args.pop(k, None) for k in extras):
                self.note(
                    f"{key} (MMSegWandbHook): checkpoints and evaluation images are not "
                    "uploaded; scalars and the config are."
                )
            for name in extras:
                args.pop(name, None)
            return out
        out = dict(type="MLflowVisBackend")
        for name in ("exp_name", "tags", "params"):
            if name in args:
                out[name] = args.pop(name)
        if args.pop("log_model", True):
            self.note(f"{key}.log_model: the model is not logged to MLflow; scalars are.")
        return out

    def _custom_hooks(
        self, workflow: tuple[int, int] | None, data: DataResult, iter_based: bool
    ) -> None:
        hooks = self.src.pop("custom_hooks", None) or []
        if not isinstance(hooks, (list, tuple)):
            raise ConfigError(f"Config key 'custom_hooks' must be a list, got {hooks!r}.")
        for hook in copy.deepcopy(list(hooks)):
            if isinstance(hook, Mapping) and "priority" not in hook:
                hook = {**hook, "priority": "NORMAL"}  # MMSeg 0.x's default, whatever the class
            self.custom_hooks.append(hook)
        self.out["default_hook_priorities"] = dict(MMCV_PRIORITIES)
        if workflow is None:
            return
        every, count = workflow
        unit = "iters" if iter_based else "epochs"
        self.custom_hooks.append(
            {
                "type": "WorkflowValLossHook",
                "dataloader": data.workflow_dataloader,
                "interval": every,
                unit: count,
            }
        )
        self.note(
            f"workflow [('train', {every}), ('val', {count})] -> custom_hooks "
            f"WorkflowValLossHook: {count} validation-loss {unit[:-1]}(s) on data.val with the "
            f"train pipeline after every {every} training {unit[:-1]}(s), logged as <name>_val. "
            "The random generators are left as training found them (MMCV's val phase drew "
            "from them)."
        )
