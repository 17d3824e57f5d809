"""Checks of the run-level keys that no registry builds (issue 17: nothing accepted in silence).

``randomness``, ``log_processor``, ``env_cfg``, ``work_dir``, ``device``, ``log_level``,
``resume``, the shape of ``default_hooks``/``custom_hooks``, and a few hook values a typo would
turn into a run without logs or checkpoints. Keys MMEngine reads but segwright does not are
listed once in the run's log (:func:`check_run_keys` returns those notes).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from segwright.config.hook_checks import check_hook_values
from segwright.utils.errors import ConfigError
from segwright.utils.suggest import close_matches, did_you_mean

#: Dict-valued top-level keys: a trailing comma (``default_hooks = dict(...),``) makes a tuple.
DICT_KEYS = (
    "model", "train_dataloader", "val_dataloader", "test_dataloader", "optim_wrapper",
    "train_cfg", "val_cfg", "test_cfg", "default_hooks", "env_cfg", "randomness",
    "log_processor", "visualizer", "val_evaluator", "test_evaluator", "auto_scale_lr",
)  # fmt: skip
RANDOMNESS_KEYS = ("seed", "deterministic", "diff_rank_seed")
#: log_processor keys: window_size goes to LoggerHook, the rest MMEngine reads and we ignore.
LOG_PROCESSOR_KEYS = ("type", "window_size", "by_epoch", "custom_cfg", "num_digits",
                      "log_with_hierarchy", "mean_pattern")  # fmt: skip
LOG_PROCESSOR_IGNORED = ("by_epoch", "custom_cfg", "num_digits", "log_with_hierarchy",
                         "mean_pattern")  # fmt: skip
#: LoggerHook arguments accepted for MMEngine configs but without effect here.
LOGGER_HOOK_IGNORED = dict(out_dir=None, out_suffix=None, keep_local=True, file_client_args=None,
                           backend_args=None)  # fmt: skip
DEVICE = re.compile(r"^(cpu|cuda|mps|xpu)(:\d+)?$")
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "WARN", "INFO", "DEBUG", "NOTSET")


def _whole(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_keys(value: Mapping[str, Any], allowed: tuple[str, ...], key: str) -> None:
    unknown = [k for k in value if k not in allowed]
    if unknown:
        hints = "".join(did_you_mean(str(k), allowed) for k in unknown)
        raise ConfigError(
            f"{key} has unknown key(s) {', '.join(map(repr, unknown))}.{hints} Accepted: "
            f"{', '.join(allowed)}."
        )


def _check_shapes(cfg: Mapping[str, Any]) -> None:
    for key in DICT_KEYS:
        value = cfg.get(key)
        if value is None or isinstance(value, Mapping):
            continue
        if key.endswith("_evaluator") and isinstance(value, (list, tuple)):
            continue  # a list of metrics
        if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], Mapping):
            raise ConfigError(
                f"{key} is a tuple holding one dict: a trailing comma after `{key} = dict(...)` "
                "makes a tuple in Python. Remove the comma."
            )
        plain = isinstance(value, (str, int, float, list, tuple))
        if plain and key in ("default_hooks", "env_cfg", "randomness", "log_processor"):
            raise ConfigError(f"{key} must be a dict, got {type(value).__name__}: {value!r}.")
    hooks = cfg.get("custom_hooks")
    if hooks is not None and not isinstance(hooks, (list, tuple)):
        raise ConfigError(
            f"custom_hooks must be a list of hook dicts, got {type(hooks).__name__}; write "
            "custom_hooks=[dict(type=...)]."
        )


def check_work_dir(work_dir: Any) -> None:
    """``work_dir`` is None or a path that is not a file (--work-dir is set after loading)."""
    if work_dir is None:
        return
    if not isinstance(work_dir, (str, os.PathLike)):
        raise ConfigError(f"work_dir must be a folder path, got {work_dir!r}.")
    if os.path.exists(work_dir) and not os.path.isdir(work_dir):
        raise ConfigError(
            f"work_dir {str(work_dir)!r} is a file, not a folder. Choose another work_dir "
            "(--work-dir) or move the file away."
        )


def _check_values(cfg: Mapping[str, Any]) -> None:
    randomness = cfg.get("randomness") or {}
    _check_keys(randomness, RANDOMNESS_KEYS, "randomness")
    seed = randomness.get("seed")
    if seed is not None and not _whole(seed, 0):
        raise ConfigError(f"randomness.seed must be a whole number >= 0 or None, got {seed!r}.")
    check_work_dir(cfg.get("work_dir"))
    device = cfg.get("device")
    if device is not None and not (isinstance(device, str) and DEVICE.match(device)):
        raise ConfigError(f"device must be 'cpu', 'cuda' or 'cuda:N' (or None), got {device!r}.")
    level = cfg.get("log_level", "INFO")
    if not isinstance(level, int) and str(level).upper() not in LOG_LEVELS:
        raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {level!r}.")
    resume = cfg.get("resume", False)
    if not isinstance(resume, bool) and resume is not None:
        raise ConfigError(
            f"resume must be True or False, got {resume!r}; a checkpoint to resume from goes "
            "in load_from (with resume=True)."
        )


def _hook(cfg: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    hooks = cfg.get("default_hooks") or {}
    hook = hooks.get(name) if isinstance(hooks, Mapping) else None
    return hook if isinstance(hook, Mapping) else {}


def _check_hooks(cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    check_hook_values(cfg)
    logger_hook = _hook(cfg, "logger")
    ignored = [
        k
        for k, default in LOGGER_HOOK_IGNORED.items()
        if k in logger_hook and logger_hook[k] != default
    ]
    if ignored:
        return [
            (
                "warning",
                f"default_hooks.logger: {', '.join(ignored)} are accepted for MMEngine configs "
                "but have no effect here (logs stay in work_dir).",
            )
        ]
    return []


def _check_log_processor(cfg: Any) -> list[tuple[str, str]]:
    processor = cfg.get("log_processor")
    if not processor:
        return []
    _check_keys(processor, LOG_PROCESSOR_KEYS, "log_processor")
    notes = []
    window = processor.get("window_size")
    if window is not None:
        if not _whole(window, 1):
            raise ConfigError(
                f"log_processor.window_size must be a whole number >= 1, got {window!r}."
            )
        hooks = dict(cfg.get("default_hooks") or {})
        logger_hook = dict(hooks.get("logger") or dict(type="LoggerHook"))
        if "window_size" not in logger_hook:
            logger_hook["window_size"] = window  # LoggerHook averages; MMEngine's processor did
            hooks["logger"] = logger_hook
            cfg["default_hooks"] = hooks
            notes.append(
                (
                    "info",
                    f"log_processor.window_size={window}: LoggerHook averages losses and times over {window} iterations.",
                )
            )
    ignored = [k for k in LOG_PROCESSOR_IGNORED if k in processor and k != "by_epoch"]
    loop = str((cfg.get("train_cfg") or {}).get("type", ""))
    by_epoch = processor.get("by_epoch")
    if by_epoch is not None and loop and bool(by_epoch) != ("Epoch" in loop):
        ignored.insert(0, f"by_epoch={by_epoch}")
    if ignored:
        notes.append(
            (
                "warning",
                f"log_processor: {', '.join(ignored)} have no effect here (log lines follow "
                "the train loop: Epoch(...) for epoch-based runs, Iter(...) otherwise; the "
                "averaged keys are losses and times).",
            )
        )
    return notes


#: The top-level keys the Runner (and the commands around it) read.
RUN_KEYS = DICT_KEYS + (
    "custom_hooks", "data_preprocessor", "default_scope", "experiment_name", "launcher",
    "load_from", "log_level", "param_scheduler", "resume", "work_dir", "device", "cfg",
    "custom_imports", "tta_model", "tta_pipeline", "model_wrapper_cfg", "compile",
    "trust_checkpoint",
)  # fmt: skip


def _misspelt_top_level(cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Warn about a top-level key that nothing reads but that looks like one the Runner reads.

    Other unread keys are a config's own helper variables (``crop_size``, ``train_pipeline``),
    as in MMEngine, so only near-misses of a run key (``train_dataloder``) are reported.
    """
    notes = []
    for key in cfg:
        if not isinstance(key, str) or key.startswith("_") or key in RUN_KEYS:
            continue
        if key.endswith("_pipeline"):  # train_/val_/test_pipeline: helpers, as in MMSeg
            continue
        hits = [h for h in close_matches(key, RUN_KEYS, n=1, cutoff=0.85) if h not in cfg]
        if hits:
            notes.append(
                (
                    "warning",
                    f"The top-level key {key!r} is read by nothing; did you mean {hits[0]!r}? "
                    f"As written, {hits[0]} keeps its default.",
                )
            )
    return notes


def check_run_keys(cfg: Any) -> list[tuple[str, str]]:
    """Check the run-level keys of a 1.x config; return ``(level, text)`` notes to log once.

    ``log_processor.window_size`` is moved into ``default_hooks.logger`` (``cfg`` is updated).

    Raises:
        ConfigError: A key is misspelt, of the wrong type or out of range.
    """
    _check_shapes(cfg)
    _check_values(cfg)
    return _check_hooks(cfg) + _check_log_processor(cfg) + _misspelt_top_level(cfg)
