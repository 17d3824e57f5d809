"""MMSeg 0.x (MMCV-runner) configs in the native 1.x schema, so they run unchanged (SPEC §13).

:func:`translate_legacy_config` rewrites ``optimizer``/``optimizer_config``/``lr_config``/
``momentum_config``/``runner``/``workflow``/``data``/``evaluation``/``checkpoint_config``/
``log_config`` and the smaller 0.x keys into ``optim_wrapper``, loops, dataloaders, hooks and
``env_cfg``, and returns a note for everything whose meaning changed or that was dropped. A key
it cannot translate is a :class:`~segwright.utils.errors.ConfigError` naming the key.

The LR and momentum policies become MMCV's own updater hooks in ``custom_hooks``
(``PolyLrUpdaterHook``...), so schedules are the 0.x formulas, not MMEngine approximations.
The output is plain dicts naming types (this module sits on floor 2 and builds nothing).
``Config.fromfile`` does not call it; ``Runner.from_cfg`` and ``segwright migrate-config`` do.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from segwright.config.config import Config
from segwright.config.legacy_data import (
    DataResult,
    bare_type,
    is_legacy_pipeline,
    translate_data,
    translate_pipeline_variable,
)
from segwright.registry import split_scope
from segwright.utils.errors import ConfigError

#: Keys that only 0.x configs have.
LEGACY_KEYS = frozenset(
    {
        "optimizer",
        "optimizer_config",
        "lr_config",
        "momentum_config",
        "runner",
        "data",
        "log_config",
        "checkpoint_config",
        "evaluation",
        "workflow",
        "total_iters",
        "resume_from",
    }
)
#: Keys that only native (1.x) configs have; a config with both kinds is refused.
NATIVE_KEYS = frozenset(
    {
        "optim_wrapper",
        "train_dataloader",
        "val_dataloader",
        "test_dataloader",
        "param_scheduler",
        "default_hooks",
        "val_evaluator",
        "test_evaluator",
    }
)
#: Native keys that may sit in a 0.x config (set by the command line) and are kept.
_KEPT_KEYS = (
    "work_dir",
    "load_from",
    "resume",
    "device",
    "launcher",
    "trust_checkpoint",
    "log_level",
    "custom_imports",
    "default_scope",
    "experiment_name",
)
_IOU_METRICS = ("mIoU", "mDice", "mFscore")
#: MMCV's policies, to suggest the right spelling of ``'cosineannealing'`` & co.
_LR_POLICIES = (
    "Fixed",
    "Step",
    "Exp",
    "Poly",
    "Inv",
    "CosineAnnealing",
    "FlatCosineAnnealing",
    "CosineRestart",
    "LinearAnnealing",
    "Cyclic",
    "OneCycle",
)
_MOMENTUM_POLICIES = ("Step", "CosineAnnealing", "LinearAnnealing", "Cyclic", "OneCycle")
_OPTIMIZER_HOOK_ARGS = {
    "OptimizerHook": ("grad_clip", "detect_anomalous_params"),
    "GradientCumulativeOptimizerHook": ("grad_clip", "cumulative_iters"),
    "Fp16OptimizerHook": ("grad_clip", "coalesce", "bucket_size_mb", "loss_scale", "distributed"),
    "GradientCumulativeFp16OptimizerHook": (
        "grad_clip",
        "cumulative_iters",
        "coalesce",
        "bucket_size_mb",
        "loss_scale",
        "distributed",
    ),
}
_DECAY_MULTS = ("norm_decay_mult", "dwconv_decay_mult", "bias_decay_mult")
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
_EVAL_ARGS = (
    "interval",
    "start",
    "metric",
    "save_best",
    "rule",
    "greater_keys",
    "less_keys",
    "pre_eval",
    "efficient_test",
    "gpu_collect",
    "tmpdir",
    "broadcast_bn_buffer",
    "by_epoch",
    "out_dir",
    "file_client_args",
)
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
#: Output order (the rest follows in input order).
_ORDER = (
    "model",
    "work_dir",
    "train_dataloader",
    "val_dataloader",
    "test_dataloader",
    "train_cfg",
    "val_cfg",
    "test_cfg",
    "val_evaluator",
    "test_evaluator",
    "optim_wrapper",
    "default_hooks",
    "custom_hooks",
    "log_processor",
    "visualizer",
    "env_cfg",
    "randomness",
    "model_wrapper_cfg",
    "load_from",
    "resume",
    "log_level",
)


def is_legacy_config(cfg: Mapping[str, Any]) -> bool:
    """Whether ``cfg`` is an MMSeg 0.x config: 0.x keys, and no ``optim_wrapper``/``train_dataloader``."""
    keys = set(cfg.keys())
    return bool(keys & LEGACY_KEYS) and not keys & {"optim_wrapper", "train_dataloader"}


def translate_legacy_config(cfg: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Rewrite a 0.x config into the native schema.

    Args:
        cfg: The merged 0.x config (a :class:`Config` or a dict); it is not modified.

    Returns:
        The native config dict, and human-readable notes (one per change of meaning or dropped
        key), each starting with the 0.x key it concerns.

    Raises:
        ConfigError: A key cannot be translated (the message names it and what to do), or the
            config mixes 0.x and 1.x keys.
    """
    values = cfg.to_dict() if hasattr(cfg, "to_dict") else copy.deepcopy(dict(cfg))
    legacy = sorted(set(values) & LEGACY_KEYS)
    native = sorted(set(values) & NATIVE_KEYS)
    if native:
        raise ConfigError(
            f"The config mixes MMSeg 0.x keys ({', '.join(legacy) or 'none'}) with 1.x keys "
            f"({', '.join(native)}). Write it in one style: remove the 0.x keys, or the 1.x ones "
            "and let segwright translate the 0.x config (segwright migrate-config shows the result)."
        )
    return _Translator(values).run()


def translate_config(cfg: Config | Mapping[str, Any]) -> tuple[Config, list[str]]:
    """:func:`translate_legacy_config` keeping the file name and text of a :class:`Config`."""
    values, notes = translate_legacy_config(cfg)
    if isinstance(cfg, Config):
        return Config(values, filename=cfg.filename, text=cfg.text), notes
    return Config(values), notes


def format_notes(notes: list[str]) -> str:
    """The notes as a bulleted block for logs."""
    return "\n".join(f"  - {note}" for note in notes) if notes else "  (nothing changed meaning)"


def _policy_hook(policy: Any, suffix: str, known: tuple[str, ...], key: str) -> str:
    """MMCV's rule: an all-lower-case policy is ``.title()``-cased, others are kept."""
    if not isinstance(policy, str) or not policy:
        raise ConfigError(
            f"Config key '{key}.policy' must be a policy name such as 'poly', got {policy!r}."
        )
    name = policy.title() if policy == policy.lower() else policy
    if name not in known:
        same = [p for p in known if p.lower() == policy.lower()]
        if same:
            raise ConfigError(
                f"Config key '{key}.policy': {policy!r} becomes {name + suffix!r} under MMCV's "
                f"naming rule (lower-case names are only capitalised), which does not exist. "
                f"Write policy='{same[0]}'."
            )
    return name + suffix


class _Translator:
    """One translation: pops 0.x keys from ``src`` into ``out`` and collects notes."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.src = values
        self.out: dict[str, Any] = {}
        self.notes: list[str] = []
        self.default_hooks: dict[str, Any] = {}
        self.custom_hooks: list[Any] = []
        self.best: dict[str, Any] = {}
        self.env_cfg: dict[str, Any] = {}

    def note(self, text: str) -> None:
        self.notes.append(text)

    # -- the whole config ------------------------------------------------------------------

    def run(self) -> tuple[dict[str, Any], list[str]]:
        iter_based, train_cfg = self._runner()
        workflow = self._workflow()
        self.out["model"] = self._model()
        data = self._data(iter_based, workflow is not None)
        self.out["train_cfg"] = train_cfg
        self._evaluation(iter_based, train_cfg)
        self._optimizer()
        self._updater_hooks(iter_based)
        self._checkpoint(iter_based)
        self._logging(iter_based)
        self._custom_hooks(workflow, data, iter_based)
        self._runtime()
        self._helpers()
        if self.default_hooks:
            self.out["default_hooks"] = self.default_hooks
        if self.custom_hooks:
            self.out["custom_hooks"] = self.custom_hooks
        if self.env_cfg:
            self.out["env_cfg"] = self.env_cfg
        result = {k: self.out.pop(k) for k in _ORDER if k in self.out}
        result.update(self.out)
        result.update(self.src)  # keys nothing reads (helper variables): kept as they are
        return result, self.notes

    # -- runner, workflow, model -----------------------------------------------------------

    def _runner(self) -> tuple[bool, dict[str, Any]]:
        runner = self.src.pop("runner", None)
        total_iters = self.src.pop("total_iters", None)
        if runner is None:
            if total_iters is None:
                raise ConfigError(
                    "The 0.x config has no 'runner'. Add runner=dict(type='IterBasedRunner', "
                    "max_iters=...) or runner=dict(type='EpochBasedRunner', max_epochs=...)."
                )
            runner = dict(type="IterBasedRunner", max_iters=total_iters)
            self.note(
                f"total_iters={total_iters} -> train_cfg IterBasedTrainLoop(max_iters="
                f"{total_iters}) (MMSeg's fallback when 'runner' is missing)."
            )
        elif total_iters is not None:
            if not isinstance(runner, Mapping) or runner.get("max_iters") != total_iters:
                raise ConfigError(
                    f"Config key 'total_iters'={total_iters} disagrees with 'runner' "
                    f"{runner!r}; MMSeg asserts they match. Remove total_iters."
                )
            self.note("total_iters dropped: runner.max_iters says the same.")
        kind = bare_type(runner, "runner")
        extra = sorted(set(runner) - {"type", "max_iters", "max_epochs"})
        if extra:
            raise ConfigError(
                f"Config key 'runner' has argument(s) {extra} that segwright cannot translate; "
                "keep only type and max_iters (or max_epochs)."
            )
        max_iters, max_epochs = runner.get("max_iters"), runner.get("max_epochs")
        if max_iters is not None and max_epochs is not None:
            raise ConfigError(
                "Config key 'runner' sets both max_iters and max_epochs; MMCV refuses this too. "
                "Keep one."
            )
        if kind == "IterBasedRunner":
            if max_iters is None:
                raise ConfigError(
                    "Config key 'runner': IterBasedRunner needs max_iters=... (the number of "
                    "training iterations)."
                )
            return True, dict(type="IterBasedTrainLoop", max_iters=max_iters)
        if kind == "EpochBasedRunner":
            if max_epochs is None:
                raise ConfigError(
                    "Config key 'runner': EpochBasedRunner needs max_epochs=... (the number of "
                    "passes over the training data)."
                )
            return False, dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
        raise ConfigError(
            f"Config key 'runner.type'={runner['type']!r}: segwright translates IterBasedRunner "
            "and EpochBasedRunner. For mixed precision use optimizer_config=dict(type="
            "'Fp16OptimizerHook') with one of those."
        )

    def _workflow(self) -> tuple[int, int] | None:
        present = "workflow" in self.src
        workflow = self.src.pop("workflow", [("train", 1)])
        phases = []
        if isinstance(workflow, (list, tuple)):
            for phase in workflow:
                ok = (
                    isinstance(phase, (list, tuple))
                    and len(phase) == 2
                    and phase[0] in ("train", "val")
                    and isinstance(phase[1], int)
                    and not isinstance(phase[1], bool)
                    and phase[1] > 0
                )
                if not ok:
                    phases = None
                    break
                phases.append((phase[0], phase[1]))
        else:
            phases = None
        modes = [m for m, _ in phases] if phases else None
        if modes == ["train"]:
            if present and phases[0][1] != 1:
                self.note(f"workflow {workflow!r} dropped: training runs one train phase anyway.")
            return None
        if modes == ["train", "val"]:
            return phases[0][1], phases[1][1]
        raise ConfigError(
            f"Config key 'workflow'={workflow!r}: segwright translates [('train', n)] and "
            "[('train', n), ('val', m)] (m validation-loss iterations/epochs after every n "
            "training ones), with positive ints n and m."
        )

    def _model(self) -> dict[str, Any]:
        model = self.src.pop("model", None)
        if not isinstance(model, Mapping):
            raise ConfigError("The config has no 'model' dict. Add model=dict(type=..., ...).")
        model = dict(model)
        for name in ("train_cfg", "test_cfg"):
            if name not in self.src:
                continue
            value = self.src.pop(name)
            if value is not None and model.get(name) is not None:
                raise ConfigError(
                    f"Config key '{name}' is set at the top level and in model.{name}; MMSeg "
                    f"asserts only one is. Keep model.{name}."
                )
            if value is not None or name not in model:
                model[name] = value
            self.note(
                f"{name} (top level) -> model.{name}: in 0.x it configured the segmentor; a "
                f"top-level {name} now configures the {'train' if name == 'train_cfg' else 'test'}"
                " loop."
            )
        return model

    # -- data ------------------------------------------------------------------------------

    def _data(self, iter_based: bool, workflow_val: bool) -> DataResult:
        if "data" not in self.src:
            if workflow_val:
                raise ConfigError("workflow has a ('val', n) phase but the config has no data.")
            return DataResult()
        result = translate_data(
            self.src.pop("data"), iter_based=iter_based, workflow_val=workflow_val, notes=self.notes
        )
        for split in ("train", "val", "test"):
            loader = getattr(result, f"{split}_dataloader")
            if loader is not None:
                self.out[f"{split}_dataloader"] = loader
        if result.data_preprocessor is not None:
            model = self.out["model"]
            if model.get("data_preprocessor") is not None or "data_preprocessor" in self.src:
                raise ConfigError(
                    "The 0.x pipelines normalise/pad the images (Normalize, Pad), which moves "
                    "into model.data_preprocessor, but the config sets a data_preprocessor too. "
                    "Keep one of them."
                )
            model["data_preprocessor"] = result.data_preprocessor
            self.note(
                "Normalize/Pad and the batch padding of the 0.x pipelines -> "
                "model.data_preprocessor (SegDataPreProcessor); DefaultFormatBundle/Collect -> "
                "PackSegInputs."
            )
        if result.tta_pipeline is not None:
            self.out["tta_pipeline"] = result.tta_pipeline
            self.out["tta_model"] = dict(type="SegTTAModel")
        return result

    def _evaluation(self, iter_based: bool, train_cfg: dict[str, Any]) -> None:
        has_val = "val_dataloader" in self.out
        present = "evaluation" in self.src
        evaluation = self.src.pop("evaluation", None)
        if not has_val:
            if evaluation is not None:
                raise ConfigError(
                    "Config key 'evaluation' is set but data.val is missing; add data.val (the "
                    "validation dataset) or remove evaluation."
                )
            self._test_split(["mIoU"])
            return
        if evaluation is None:
            evaluation = {}
            self.note(
                f"evaluation {'is None' if present else 'missing'}: MMSeg 0.x still validated "
                "data.val with EvalHook defaults (interval=1, mIoU); kept. Set "
                "evaluation=dict(interval=...) to validate less often."
            )
        if not isinstance(evaluation, Mapping):
            raise ConfigError(f"Config key 'evaluation' must be a dict, got {evaluation!r}.")
        unknown = sorted(set(evaluation) - set(_EVAL_ARGS))
        if unknown:
            raise ConfigError(
                f"Config key 'evaluation' has argument(s) {unknown} that segwright cannot "
                f"translate. Accepted: {', '.join(_EVAL_ARGS)}."
            )
        unit = "iteration" if iter_based else "epoch"
        interval = evaluation.get("interval", 1)
        train_cfg["val_interval"] = interval
        start = evaluation.get("start")
        if start is not None:
            if not isinstance(start, int) or start < 0:
                raise ConfigError(
                    f"Config key 'evaluation.start' must be an int >= 0, got {start!r}."
                )
            train_cfg["val_begin"] = start
            if interval and start % interval:
                self.note(
                    f"evaluation.start={start}: 0.x validated at {unit} {start}, "
                    f"{start + interval}, ...; segwright validates at multiples of {interval} "
                    f"from {start} on (train_cfg.val_begin)."
                )
        total = train_cfg.get("max_iters", train_cfg.get("max_epochs"))
        if isinstance(total, int) and isinstance(interval, int) and interval > 0:
            if total % interval:
                self.note(
                    f"evaluation.interval={interval}: segwright also validates after the last "
                    f"{unit} ({total}); 0.x validated only every {interval} {unit}s."
                )
        metrics = self._metrics(evaluation.get("metric", "mIoU"))
        self.out["val_cfg"] = dict(type="ValLoop")
        self.out["val_evaluator"] = dict(type="IoUMetric", iou_metrics=metrics)
        self.note(
            f"evaluation -> train_cfg.val_interval={interval}, val_evaluator IoUMetric("
            f"{metrics}). 0.x reported metrics as fractions (0.7512); segwright reports "
            "percentages (75.12)."
        )
        for name in ("save_best", "rule", "greater_keys", "less_keys"):
            if evaluation.get(name) is not None:
                self.best[name] = evaluation[name]
        for name, why in (
            ("pre_eval", "segwright always accumulates per-image areas"),
            ("efficient_test", "deprecated in 0.x; nothing to do"),
            ("gpu_collect", "results are gathered with torch.distributed collectives"),
            ("tmpdir", "no temporary result files"),
            ("broadcast_bn_buffer", "DDP keeps BN buffers in sync"),
            ("by_epoch", "MMSeg overwrote it from the runner type too"),
            ("out_dir", "best checkpoints go to the checkpoint hook's folder"),
            ("file_client_args", "local files only"),
        ):
            if name in evaluation:
                self.note(f"evaluation.{name} dropped: {why}.")
        self._test_split(metrics)

    def _test_split(self, metrics: list[str]) -> None:
        if "test_dataloader" not in self.out:
            return
        self.out["test_cfg"] = dict(type="TestLoop")
        self.out["test_evaluator"] = dict(type="IoUMetric", iou_metrics=metrics)

    @staticmethod
    def _metrics(metric: Any) -> list[str]:
        metrics = [metric] if isinstance(metric, str) else metric
        if not isinstance(metrics, (list, tuple)) or not metrics:
            raise ConfigError(
                f"Config key 'evaluation.metric' must be one of {_IOU_METRICS} or a list of "
                f"them, got {metric!r}."
            )
        bad = [m for m in metrics if m not in _IOU_METRICS]
        if bad:
            raise ConfigError(
                f"Config key 'evaluation.metric': {bad} unknown; segwright computes "
                f"{', '.join(_IOU_METRICS)}."
            )
        return list(metrics)

    # -- optimization ----------------------------------------------------------------------

    def _optimizer(self) -> None:
        optimizer = self.src.pop("optimizer", None)
        optimizer_config_present = "optimizer_config" in self.src
        optimizer_config = self.src.pop("optimizer_config", {})
        fp16 = self.src.pop("fp16", None)
        if optimizer is None:
            if optimizer_config_present or fp16 is not None:
                self.note("optimizer_config/fp16 dropped: the config has no optimizer.")
            return
        if not isinstance(optimizer, Mapping) or "type" not in optimizer:
            raise ConfigError(
                "Config key 'optimizer' must be dict(type='SGD', lr=..., ...); several named "
                f"optimizers are not supported. Got {optimizer!r}."
            )
        optimizer = dict(optimizer)
        paramwise = optimizer.pop("paramwise_cfg", None)
        constructor = optimizer.pop("constructor", None)
        wrapper: dict[str, Any] = dict(type="OptimWrapper", optimizer=optimizer)
        default_constructor = True
        if constructor is not None:
            bare = split_scope(str(constructor))[1]
            if bare == "DefaultOptimizerConstructor":
                constructor = "DefaultOptimWrapperConstructor"
            default_constructor = bare in (
                "DefaultOptimizerConstructor",
                "DefaultOptimWrapperConstructor",
            )
            wrapper["constructor"] = constructor
        if paramwise:
            paramwise = dict(paramwise)
            if default_constructor:
                self._mmcv_decay_defaults(paramwise)
            wrapper["paramwise_cfg"] = paramwise
        if not optimizer_config_present:
            self.note(
                "optimizer_config missing (MMSeg 0.x requires it): taken as dict(), a plain "
                "backward + step."
            )
        self._optimizer_hook(optimizer_config, wrapper)
        self._fp16(fp16, wrapper)
        self.out["optim_wrapper"] = wrapper

    def _mmcv_decay_defaults(self, paramwise: dict[str, Any]) -> None:
        """MMCV's weight-decay multipliers default to 1.0 (MMEngine's skip the rule)."""
        given = [k for k in _DECAY_MULTS if k in paramwise]
        if not given:
            return
        filled = [k for k in _DECAY_MULTS if k not in paramwise]
        for key in filled:
            paramwise[key] = 1.0
        text = (
            f"optimizer.paramwise_cfg: {', '.join(filled)} set to MMCV's default 1.0"
            if filled
            else ""
        )
        if paramwise["dwconv_decay_mult"] != paramwise["bias_decay_mult"]:
            text += (
                ("; " if text else "optimizer.paramwise_cfg: ")
                + "a depth-wise conv's bias now takes bias_decay_mult (MMEngine's rule order), "
                "not dwconv_decay_mult as in MMCV"
            )
        if text:
            self.note(text + ".")

    def _optimizer_hook(self, cfg: Any, wrapper: dict[str, Any]) -> None:
        if cfg is None:
            raise ConfigError(
                "Config key 'optimizer_config' is None: MMCV then registers no optimizer hook, "
                "so it never calls backward() or step() and the model never trains. Use "
                "optimizer_config=dict() (or dict(grad_clip=dict(max_norm=35, norm_type=2)))."
            )
        if not isinstance(cfg, Mapping):
            raise ConfigError(f"Config key 'optimizer_config' must be a dict, got {cfg!r}.")
        kind = split_scope(str(cfg.get("type", "OptimizerHook")))[1]
        if kind not in _OPTIMIZER_HOOK_ARGS:
            raise ConfigError(
                f"Config key 'optimizer_config.type'={cfg['type']!r} cannot be translated; "
                f"segwright knows {', '.join(_OPTIMIZER_HOOK_ARGS)}. Write the 1.x "
                "optim_wrapper (clip_grad, accumulative_counts, AmpOptimWrapper) instead."
            )
        allowed = _OPTIMIZER_HOOK_ARGS[kind]
        unknown = sorted(set(cfg) - set(allowed) - {"type"})
        if unknown:
            raise ConfigError(
                f"Config key 'optimizer_config' ({kind}) has argument(s) {unknown} it does not "
                f"take. Accepted: {', '.join(allowed)}."
            )
        grad_clip = cfg.get("grad_clip")
        if grad_clip is not None:
            if not isinstance(grad_clip, Mapping) or not grad_clip:
                raise ConfigError(
                    "Config key 'optimizer_config.grad_clip' must be None or the arguments of "
                    f"clip_grad_norm_, e.g. dict(max_norm=35, norm_type=2); got {grad_clip!r}."
                )
            wrapper["clip_grad"] = dict(grad_clip)
        if "Cumulative" in kind:
            wrapper["accumulative_counts"] = cfg.get("cumulative_iters", 1)
        if "Fp16" in kind:
            loss_scale = cfg.get("loss_scale", 512.0)
            wrapper["type"] = "AmpOptimWrapper"
            wrapper["loss_scale"] = loss_scale
            self._amp_note(f"optimizer_config ({kind})", loss_scale)
        if cfg.get("detect_anomalous_params"):
            self.note(
                "optimizer_config.detect_anomalous_params dropped: use "
                "model_wrapper_cfg=dict(find_unused_parameters=True) to find unused parameters."
            )
        dropped = [k for k in ("coalesce", "bucket_size_mb", "distributed") if k in cfg]
        if dropped:
            self.note(
                f"optimizer_config {', '.join(dropped)} dropped: DDP all-reduces gradients itself."
            )

    def _amp_note(self, source: str, loss_scale: Any) -> None:
        text = (
            f"{source} -> AmpOptimWrapper(loss_scale={loss_scale!r}): autocast in float16 on "
            "CUDA; on CPU in bfloat16 (dtype left unset: float16 autocast on CPU is slow and "
            "incomplete). MMCV cast only @auto_fp16 methods; autocast chooses per operation."
        )
        if isinstance(loss_scale, int) and not isinstance(loss_scale, bool):
            text += " An int loss_scale, which MMCV rejects, is accepted as a static scale."
        self.note(text)

    def _fp16(self, fp16: Any, wrapper: dict[str, Any]) -> None:
        if fp16 is None:
            return
        if not isinstance(fp16, Mapping) or set(fp16) - {"loss_scale"}:
            raise ConfigError(
                f"Config key 'fp16' must be dict() or dict(loss_scale=...), got {fp16!r}."
            )
        if wrapper["type"] == "AmpOptimWrapper":
            if "loss_scale" in fp16 and fp16["loss_scale"] != wrapper["loss_scale"]:
                self.note(
                    "fp16.loss_scale dropped: optimizer_config's Fp16OptimizerHook sets the "
                    "loss scale (MMSeg 0.30 never read fp16)."
                )
            else:
                self.note("fp16 dropped: a placeholder beside Fp16OptimizerHook.")
            return
        loss_scale = fp16.get("loss_scale", 512.0)
        wrapper["type"] = "AmpOptimWrapper"
        wrapper["loss_scale"] = loss_scale
        self._amp_note("fp16", loss_scale)
        self.note(
            "fp16: MMSeg 0.30's training code ignored this key (it trained in float32); "
            "MMCV/MMDetection read it as mixed precision, which is what it now does."
        )

    def _updater_hooks(self, iter_based: bool) -> None:
        for key, suffix, known in (
            ("lr_config", "LrUpdaterHook", _LR_POLICIES),
            ("momentum_config", "MomentumUpdaterHook", _MOMENTUM_POLICIES),
        ):
            present = key in self.src
            cfg = self.src.pop(key, None)
            if cfg is None:
                if key == "lr_config" and not present:
                    self.note("lr_config missing: the lr stays constant (as lr_config=None).")
                continue
            if not isinstance(cfg, Mapping):
                raise ConfigError(
                    f"Config key '{key}' must be a dict such as dict(policy='poly', power=0.9), "
                    f"got {cfg!r}."
                )
            args = dict(cfg)
            if "policy" not in args:
                raise ConfigError(
                    f"Config key '{key}' has no 'policy': {dict(cfg)!r}. Add policy='<name>', "
                    "e.g. dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)."
                )
            if "type" in args:
                raise ConfigError(
                    f"Config key '{key}.type' is not read by MMCV (the hook type comes from "
                    "'policy'); remove it."
                )
            hook: dict[str, Any] = dict(type=_policy_hook(args.pop("policy"), suffix, known, key))
            # IterBasedRunner defaults by_epoch=False for lr_config (not momentum_config).
            if iter_based and key == "lr_config":
                hook["by_epoch"] = args.pop("by_epoch", False)
            hook.update(args)
            self.custom_hooks.append(hook)
            self.note(
                f"{key} -> custom_hooks {hook['type']}: MMCV's formula, set before each "
                "iteration (param_scheduler stays empty)."
            )

    # -- hooks -----------------------------------------------------------------------------

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
        self.custom_hooks.extend(copy.deepcopy(list(hooks)))
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

    # -- runtime keys ----------------------------------------------------------------------

    def _runtime(self) -> None:
        src, out = self.src, self.out
        for name in _KEPT_KEYS:
            if name in src:
                out[name] = src.pop(name)
        resume_from = src.pop("resume_from", None)
        auto_resume = src.pop("auto_resume", None)
        if resume_from is not None:
            if out.get("load_from"):
                self.note("load_from dropped: resume_from wins, as in MMCV.")
            out["resume"], out["load_from"] = True, resume_from
            self.note(
                "resume_from -> resume=True, load_from=<checkpoint>. Training continues after "
                "the saved iteration (MMCV's IterBasedRunner repeated one iteration)."
            )
        elif auto_resume:
            if out.get("load_from"):
                raise ConfigError(
                    "auto_resume=True with load_from: 0.x resumed from the work_dir's latest "
                    "checkpoint if any, else loaded load_from. segwright's resume=True with "
                    "load_from resumes from load_from. Remove load_from or auto_resume."
                )
            out["resume"] = True
            self.note(
                "auto_resume -> resume=True: resumes from work_dir/last_checkpoint when it "
                "exists (segwright's pointer file; MMCV looked for latest.pth)."
            )
        elif auto_resume is not None:
            self.note("auto_resume=False dropped (the default).")
        env = dict(src.pop("env_cfg", None) or {})
        if "dist_params" in src:
            env["dist_cfg"] = src.pop("dist_params")
        if "cudnn_benchmark" in src:
            env["cudnn_benchmark"] = src.pop("cudnn_benchmark")
        mp = {k: src.pop(k) for k in ("mp_start_method", "opencv_num_threads") if k in src}
        if mp:
            env["mp_cfg"] = {**env.get("mp_cfg", {}), **mp}
            self.note(
                f"{', '.join(mp)} -> env_cfg.mp_cfg (as MMSeg 1.x); segwright leaves the "
                "multiprocessing start method and OpenCV threads at their defaults."
            )
        self.env_cfg.update(env)
        wrapper_cfg = dict(src.pop("model_wrapper_cfg", None) or {})
        if "find_unused_parameters" in src:
            wrapper_cfg["find_unused_parameters"] = src.pop("find_unused_parameters")
        if wrapper_cfg:
            out["model_wrapper_cfg"] = wrapper_cfg
        randomness = dict(src.pop("randomness", None) or {})
        for name in ("seed", "deterministic"):
            if name in src:
                value = src.pop(name)
                if value is not None:
                    randomness[name] = value
        if randomness:
            out["randomness"] = randomness
        if "gpu_ids" in src:
            self.note(
                f"gpu_ids={src.pop('gpu_ids')!r} dropped: one process per GPU comes from "
                "torchrun (--launcher pytorch); pick the device with --device."
            )
        for name in ("visualizer", "log_processor"):
            if name in src and name not in out:
                out[name] = src.pop(name)

    def _helpers(self) -> None:
        """Top-level helper variables: 0.x pipelines in 1.x form; img_norm_cfg goes."""
        if "img_norm_cfg" in self.src:
            self.src.pop("img_norm_cfg")
            self.note("img_norm_cfg dropped: its values are in model.data_preprocessor.")
        for name in list(self.src):
            value = self.src[name]
            if name.endswith("pipeline") and is_legacy_pipeline(value):
                self.src[name] = translate_pipeline_variable(name, value)
