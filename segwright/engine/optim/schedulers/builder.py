"""Build the ``param_scheduler`` config entry into scheduler objects, as MMEngine's runner does.

A missing ``end`` becomes ``max_epochs`` (``by_epoch=True``, the default) or ``max_iters``;
``convert_to_iter_based=True`` rewrites an epoch-based entry into an iteration-based one using
``epoch_length`` (iterations per epoch). Schedulers that list ``run_length_args`` (the MMCV
policies) get ``epoch_length``, ``max_iters`` and ``max_epochs`` from the runner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segwright.engine.optim.schedulers.base import ParamScheduler, is_number
from segwright.registry import (
    PARAM_SCHEDULERS,
    Registry,
    build_from_cfg,
    build_path,
    current_build_path,
    join_path,
    resolve_type,
)
from segwright.utils.errors import ConfigError


def _error(key: str, message: str) -> ConfigError:
    path = join_path(current_build_path(), key)
    return ConfigError(f"Config key '{path}': {message}")


def build_scheduler_from_cfg(
    cfg: Mapping[str, Any],
    registry: Registry = PARAM_SCHEDULERS,
    default_args: Mapping[str, Any] | None = None,
) -> ParamScheduler:
    """Build one scheduler dict; handles ``convert_to_iter_based`` and ``epoch_length``.

    Usable as a registry ``build_func``. ``epoch_length`` may come from the dict or from
    ``default_args``; it is only used (and only needed) when converting.
    """
    if not isinstance(cfg, Mapping):
        raise ConfigError(
            f"Expected a dict with a 'type' key to build a parameter scheduler at config key "
            f"'{current_build_path()}', got {type(cfg).__name__}: {cfg!r}."
        )
    args = dict(cfg)
    defaults = dict(default_args or {})
    default_length = defaults.pop("epoch_length", None)
    run_lengths = dict(defaults.pop("run_lengths", None) or {}, epoch_length=default_length)
    scheduler_cls = resolve_type(registry, args["type"]) if "type" in args else None
    wanted = getattr(scheduler_cls, "run_length_args", ())
    if wanted:  # MMCV policies read the run's lengths; they are never converted
        for key in wanted:
            if run_lengths.get(key) is not None:
                defaults.setdefault(key, run_lengths[key])
        return build_from_cfg(args, registry, defaults)
    epoch_length = args.pop("epoch_length", default_length)
    convert = args.pop("convert_to_iter_based", False)
    if not isinstance(convert, bool):
        raise _error("convert_to_iter_based", f"must be True or False, got {convert!r}.")
    if convert:
        if "type" not in args:
            raise _error("type", "is missing; name the scheduler, e.g. type='PolyLR'.")
        scheduler_cls = resolve_type(registry, args["type"])
        if not (isinstance(scheduler_cls, type) and issubclass(scheduler_cls, ParamScheduler)):
            raise _error(
                "convert_to_iter_based",
                f"{args['type']!r} is not a built-in parameter scheduler and cannot be converted.",
            )
        scheduler_type = args.pop("type")
        args = scheduler_cls.epoch_to_iter_kwargs(args, epoch_length)
        args["type"] = scheduler_type
    return build_from_cfg(args, registry, defaults)


def _check_entry(cfg: Mapping[str, Any]) -> None:
    """Validate the keys every scheduler shares, naming the bad one."""
    by_epoch = cfg.get("by_epoch", True)
    if not isinstance(by_epoch, bool):
        raise _error("by_epoch", f"must be True or False, got {by_epoch!r}.")
    begin = cfg.get("begin", 0)
    if not is_number(begin):
        raise _error("begin", f"must be a number of steps, got {begin!r}.")
    if "end" in cfg:
        end = cfg["end"]
        if not is_number(end):
            raise _error(
                "end",
                f"must be a number of {'epochs' if by_epoch else 'iterations'}, got {end!r}.",
            )
        if end <= begin:
            raise _error(
                "end",
                f"must be larger than begin, got begin={begin}, end={end}. A scheduler acts on "
                "steps begin <= step < end.",
            )


def _build_list(
    cfg: Any,
    optim_wrapper: Any,
    epoch_length: int | None,
    max_epochs: int | None,
    max_iters: int | None,
    key: str,
) -> list[ParamScheduler]:
    entries = [cfg] if isinstance(cfg, (Mapping, ParamScheduler)) else cfg
    if isinstance(entries, str) or not isinstance(entries, Sequence):
        raise ConfigError(
            f"Config key '{key}' must be a scheduler dict or a list of them, "
            f"got {type(cfg).__name__}: {cfg!r}."
        )
    schedulers = []
    for i, entry in enumerate(entries):
        with build_path(f"{key}[{i}]"):
            if isinstance(entry, ParamScheduler):
                schedulers.append(entry)
                continue
            if not isinstance(entry, Mapping):
                raise ConfigError(
                    f"Config key '{current_build_path()}' must be a dict with a 'type' key, "
                    f"got {type(entry).__name__}: {entry!r}."
                )
            args = dict(entry)
            if "by_epoch" not in args and "type" in args:
                # The MMCV policies are stepped per iteration: their by_epoch defaults to False.
                scheduler_cls = resolve_type(PARAM_SCHEDULERS, args["type"])
                if getattr(scheduler_cls, "run_length_args", ()):
                    args["by_epoch"] = False
            if "end" not in args:
                default_end = max_epochs if args.get("by_epoch", True) else max_iters
                if default_end is not None:
                    args["end"] = default_end
            _check_entry(args)
            defaults = {
                "optimizer": optim_wrapper,
                "run_lengths": dict(max_iters=max_iters, max_epochs=max_epochs),
            }
            if epoch_length is not None:
                defaults["epoch_length"] = epoch_length
            schedulers.append(build_scheduler_from_cfg(args, PARAM_SCHEDULERS, defaults))
    return schedulers


def build_param_schedulers(
    cfg: Any,
    optim_wrapper: Any,
    epoch_length: int | None = None,
    max_epochs: int | None = None,
    max_iters: int | None = None,
) -> list[ParamScheduler] | dict[str, list[ParamScheduler]]:
    """Build ``param_scheduler`` (a dict, a list of dicts, or built schedulers).

    Args:
        cfg: The config value; None gives no schedulers. A dict without ``type`` whose keys
            name the optimizers of a multi-optimizer wrapper builds one list per optimizer.
        optim_wrapper: The optimizer wrapper (or torch optimizer) the schedulers drive.
        epoch_length: Iterations per epoch (``len(train_dataloader)``), for
            ``convert_to_iter_based``.
        max_epochs: Default ``end`` of ``by_epoch=True`` schedulers.
        max_iters: Default ``end`` of ``by_epoch=False`` schedulers.

    Returns:
        The schedulers in config order (the order in which they are stepped), or a dict of
        such lists for a multi-optimizer wrapper.

    Raises:
        ConfigError: An entry is malformed; the message names ``param_scheduler[i].<key>``.
    """
    if cfg is None:
        return []
    if isinstance(cfg, Mapping) and "type" not in cfg and cfg:
        if not all(isinstance(v, (Mapping, Sequence)) for v in cfg.values()):
            raise ConfigError(
                f"Config key 'param_scheduler' has no 'type': {dict(cfg)!r}. Add type='<name>', "
                "e.g. dict(type='PolyLR', power=0.9, eta_min=1e-4, by_epoch=False)."
            )
        built = {}
        for name, sub_cfg in cfg.items():
            try:
                sub_wrapper = optim_wrapper[name]
            except (KeyError, TypeError, IndexError):
                raise ConfigError(
                    f"Config key 'param_scheduler.{name}' names an optimizer that the optimizer "
                    "wrapper does not have. Without several optimizers, param_scheduler must be "
                    "a scheduler dict (with 'type') or a list of them."
                ) from None
            built[name] = _build_list(
                sub_cfg,
                sub_wrapper,
                epoch_length,
                max_epochs,
                max_iters,
                key=f"param_scheduler.{name}",
            )
        return built
    return _build_list(cfg, optim_wrapper, epoch_length, max_epochs, max_iters, "param_scheduler")


# PARAM_SCHEDULERS.build(...) converts epochs too, like MMEngine's build_scheduler_from_cfg.
PARAM_SCHEDULERS.set_build_func(build_scheduler_from_cfg)
