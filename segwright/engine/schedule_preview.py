"""Preview a config's learning-rate and momentum schedule without data or forward passes.

Builds the model (for its parameter groups), the optimizer wrapper and the ``param_scheduler``
entries (an MMSeg 0.x ``lr_config``/``momentum_config`` arrives here already translated into
MMCV-policy schedulers), then steps the schedulers as :class:`ParamSchedulerHook` does
(iteration-based ones after every iteration, epoch-based ones after every epoch). The value
recorded for iteration ``i`` is the one in force while iteration ``i`` trains.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from segwright.registry import MODELS
from segwright.utils.errors import ConfigError, SegwrightError


class _EpochOfUnknownLength:
    """Stands in for the train dataloader: only its length is ever asked for."""

    def __init__(self, length: int | None, why: str) -> None:
        self._length = length
        self._why = why

    def __len__(self) -> int:
        if self._length is None:
            raise ConfigError(
                f"The schedule needs the epoch length (iterations per epoch), but {self._why}. "
                "Give it with --epoch-length N (epoch_length=N)."
            )
        return self._length


def _as_dict(cfg: Any) -> dict[str, Any]:
    if hasattr(cfg, "to_dict"):
        return cfg.to_dict()
    if isinstance(cfg, Mapping):
        return copy.deepcopy(dict(cfg))
    raise ConfigError(f"Expected a config (Config or dict), got {type(cfg).__name__}.")


def _count(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ConfigError(f"Config key '{key}' must be a whole number, got {value!r}.")
    if value <= 0:
        raise ConfigError(f"Config key '{key}' must be positive, got {value}.")
    return int(value)


def _loop_kind(train_cfg: Any) -> tuple[bool, dict[str, Any]]:
    """``(by_epoch, train_cfg)`` for the built-in train loops."""
    if not isinstance(train_cfg, Mapping):
        raise ConfigError(
            "The schedule preview needs train_cfg, e.g. train_cfg=dict(type='IterBasedTrainLoop', "
            "max_iters=80000)."
        )
    train_cfg = dict(train_cfg)
    kind = train_cfg.get("type")
    if kind is None:
        if "by_epoch" not in train_cfg:
            raise ConfigError(
                "train_cfg needs type='IterBasedTrainLoop' (with max_iters) or "
                "type='EpochBasedTrainLoop' (with max_epochs)."
            )
        return bool(train_cfg["by_epoch"]), train_cfg
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    name = name.rpartition(".")[2]
    if name not in ("IterBasedTrainLoop", "EpochBasedTrainLoop"):
        raise ConfigError(
            f"train_cfg.type={kind!r}: the schedule preview knows IterBasedTrainLoop and "
            "EpochBasedTrainLoop only."
        )
    return name == "EpochBasedTrainLoop", train_cfg


def _epoch_length(cfg: Mapping[str, Any], epoch_length: int | None) -> tuple[int | None, str]:
    """The given epoch length, else ``len(train dataloader)`` when it can be built."""
    if epoch_length is not None:
        return _count(epoch_length, "epoch_length"), ""
    loader_cfg = cfg.get("train_dataloader")
    if loader_cfg is None:
        return None, "the config has no train_dataloader"
    from segwright.engine.data import build_dataloader

    try:
        loader = build_dataloader(copy.deepcopy(loader_cfg), seed=0, key="train_dataloader")
        return len(loader), ""
    except (SegwrightError, OSError, TypeError, ValueError, RuntimeError) as exc:
        return None, f"the train dataloader could not be built ({exc})"


def _build_model(cfg: Mapping[str, Any]) -> Any:
    from segwright.engine.dist import revert_sync_batchnorm

    model_cfg = cfg.get("model")
    if model_cfg is None:
        raise ConfigError("The config has no 'model'; the schedule needs its parameter groups.")
    if isinstance(model_cfg, Mapping) and cfg.get("data_preprocessor") is not None:
        model_cfg = dict(model_cfg)
        model_cfg.setdefault("data_preprocessor", cfg["data_preprocessor"])
    return revert_sync_batchnorm(MODELS.build(model_cfg, key="model"))


def _read_values(optimizer: Any, with_momentum: bool) -> tuple[list[float], list[float]]:
    lrs = [float(group["lr"]) for group in optimizer.param_groups]
    if not with_momentum:
        return lrs, []
    momenta = [
        float(group["momentum"] if "momentum" in group else group["betas"][0])
        for group in optimizer.param_groups
    ]
    return lrs, momenta


def simulate(
    optimizer: Any,
    schedulers: Sequence[Any],
    max_iters: int,
    epoch_length: int | None = None,
    num_iters: int | None = None,
) -> dict[str, list[list[float]]]:
    """Step ``schedulers`` through a run and record lr/momentum per group and iteration.

    Args:
        optimizer: The torch optimizer whose groups are recorded.
        schedulers: Stepped as ParamSchedulerHook does: iteration-based ones after every
            iteration, epoch-based ones after every ``epoch_length`` iterations.
        max_iters: Iterations of the run.
        epoch_length: Iterations per epoch; None for an iteration-based loop (one epoch).
        num_iters: Stop after this many iterations (default: the whole run).

    Returns:
        ``dict(lr=[[group 0 per iteration], ...], momentum=[[...], ...])``; ``momentum`` is
        empty when the optimizer has neither ``momentum`` nor ``betas``.
    """
    defaults = getattr(optimizer, "defaults", {}) or {}
    with_momentum = "momentum" in defaults or "betas" in defaults
    n_groups = len(optimizer.param_groups)
    lr: list[list[float]] = [[] for _ in range(n_groups)]
    momentum: list[list[float]] = [[] for _ in range(n_groups)] if with_momentum else []
    total = max_iters if num_iters is None else min(num_iters, max_iters)
    active = [s for s in schedulers if not getattr(s, "need_val_args", False)]
    for it in range(total):
        lrs, momenta = _read_values(optimizer, with_momentum)
        for series, value in zip(lr, lrs):
            series.append(value)
        for series, value in zip(momentum, momenta):
            series.append(value)
        for scheduler in active:
            if not scheduler.by_epoch:
                scheduler.step()
        end_of_epoch = it + 1 == max_iters if epoch_length is None else (it + 1) % epoch_length == 0
        if end_of_epoch:
            for scheduler in active:
                if scheduler.by_epoch:
                    scheduler.step()
    return dict(lr=lr, momentum=momentum)


def preview_schedule(
    cfg: Any, num_iters: int | None = None, epoch_length: int | None = None
) -> dict[str, list[list[float]]]:
    """The lr and momentum of every param group at every training iteration of ``cfg``.

    Args:
        cfg: A merged config (``Config`` or dict) with ``model``, ``optim_wrapper`` and
            ``train_cfg``; ``param_scheduler`` is optional.
        num_iters: Record only the first this many iterations (default: the whole run).
        epoch_length: Iterations per epoch; default ``len(train_dataloader)`` when the
            dataloader can be built. Needed for epoch-based loops, ``convert_to_iter_based``
            schedulers and ``warmup_by_epoch``.

    Returns:
        ``dict(lr=[[group 0's lr at iteration 0, 1, ...], [group 1 ...]], momentum=[...])``
        (``momentum`` is ``[]`` for optimizers without momentum).

    Raises:
        ConfigError: A required key is missing or wrong, or the epoch length is needed but
            unknown.
    """
    from segwright.engine.optim.constructor import build_optim_wrapper
    from segwright.engine.optim.schedulers.builder import build_param_schedulers

    cfg = _as_dict(cfg)
    by_epoch, train_cfg = _loop_kind(cfg.get("train_cfg"))
    length, why = _epoch_length(cfg, epoch_length)
    if by_epoch:
        max_epochs = _count(train_cfg.get("max_epochs"), "train_cfg.max_epochs")
        max_iters = max_epochs * len(_EpochOfUnknownLength(length, why))
    else:
        max_iters = _count(train_cfg.get("max_iters"), "train_cfg.max_iters")
        max_epochs = 1
    if num_iters is not None:
        num_iters = _count(num_iters, "num_iters")
    if cfg.get("optim_wrapper") is None:
        raise ConfigError("The config has no 'optim_wrapper'; the schedule needs the optimizer.")

    model = _build_model(cfg)
    optim_wrapper = build_optim_wrapper(model, copy.deepcopy(cfg["optim_wrapper"]))
    schedulers = build_param_schedulers(
        copy.deepcopy(cfg.get("param_scheduler")),
        optim_wrapper,
        epoch_length=length,
        max_epochs=max_epochs,
        max_iters=max_iters,
    )
    if isinstance(schedulers, Mapping):
        schedulers = [s for group in schedulers.values() for s in group]
    default_hooks = cfg.get("default_hooks") or {}
    if "param_scheduler" in default_hooks and default_hooks["param_scheduler"] is None:
        schedulers = []  # nothing steps them: the values stay where construction put them
    optimizer = getattr(optim_wrapper, "optimizer", optim_wrapper)
    return simulate(
        optimizer,
        list(schedulers),
        max_iters,
        epoch_length=len(_EpochOfUnknownLength(length, why)) if by_epoch else None,
        num_iters=num_iters,
    )


__all__ = ["preview_schedule", "simulate"]
