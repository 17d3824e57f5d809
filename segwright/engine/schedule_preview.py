"""Preview a config's learning-rate and momentum schedule without data or forward passes.

Builds the model (for its parameter groups), the optimizer wrapper, the native
``param_scheduler`` entries and any lr/momentum updater hooks in ``custom_hooks``, then replays
the hook calls of a training run: updater hooks in ``before_train_iter`` (and
``before_train_epoch``), schedulers stepped as :class:`ParamSchedulerHook` does (iteration-based
ones after every iteration, epoch-based ones after every epoch). The value recorded for
iteration ``i`` is the one in force while iteration ``i`` trains.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from segwright.engine.priority import get_priority
from segwright.registry import HOOKS, MODELS, resolve_type
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


class _PreviewLoop:
    def __init__(self, dataloader: Any, by_epoch: bool, max_iters: int, max_epochs: int) -> None:
        self.dataloader = dataloader
        self.by_epoch = by_epoch
        self.max_iters = max_iters
        self.max_epochs = max_epochs


class PreviewRunner:
    """The runner attributes that updater hooks and schedulers read (MMEngine and MMCV names)."""

    def __init__(
        self,
        optim_wrapper: Any,
        loop: _PreviewLoop,
        param_schedulers: list[Any],
    ) -> None:
        self.optim_wrapper = optim_wrapper
        self.optimizer = getattr(optim_wrapper, "optimizer", optim_wrapper)
        self.train_loop = loop
        self.data_loader = loop.dataloader
        self.param_schedulers = param_schedulers
        self.iter = 0
        self.epoch = 0
        self.inner_iter = 0
        self.max_iters = loop.max_iters
        self.max_epochs = loop.max_epochs


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


def _updater_hooks(custom_hooks: Any) -> list[Any]:
    """The lr/momentum updater hooks among ``custom_hooks``, in the order the runner calls them."""
    from segwright.engine.hooks.lr_updater_hook import LrUpdaterHook
    from segwright.engine.hooks.momentum_updater_hook import MomentumUpdaterHook

    kinds = (LrUpdaterHook, MomentumUpdaterHook)
    found: list[tuple[int, Any]] = []
    for index, entry in enumerate(custom_hooks or []):
        key = f"custom_hooks[{index}]"
        if isinstance(entry, Mapping):
            entry = dict(entry)
            cls = resolve_type(HOOKS, entry.get("type"))
            if not (isinstance(cls, type) and issubclass(cls, kinds)):
                continue
            priority = entry.pop("priority", getattr(cls, "priority", "NORMAL"))
            hook = HOOKS.build(entry, key=key)
        elif isinstance(entry, kinds):
            hook, priority = entry, getattr(entry, "priority", "NORMAL")
        elif hasattr(entry, "before_train_iter"):
            continue  # another built hook: it does not set lr or momentum
        else:
            raise ConfigError(
                f"Config key '{key}' must be a hook dict such as dict(type='PolyLrUpdaterHook', "
                f"...) or a hook object, got {type(entry).__name__}: {entry!r}."
            )
        found.append((get_priority(priority), hook))
    found.sort(key=lambda item: item[0])  # stable: equal priorities keep config order
    return [hook for _, hook in found]


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
    runner: PreviewRunner,
    hooks: Sequence[Any],
    step_schedulers: bool = True,
    num_iters: int | None = None,
) -> dict[str, list[list[float]]]:
    """Replay a training run's hook calls and record lr/momentum per group and iteration.

    Args:
        runner: The stand-in runner (its loop says iteration- or epoch-based).
        hooks: Hooks to call (``before_run``, ``before_train``, ``before_train_epoch``,
            ``before_train_iter``, ``after_train_iter``, ``after_train_epoch``).
        step_schedulers: Step ``runner.param_schedulers`` as ParamSchedulerHook does.
        num_iters: Stop after this many iterations (default: the whole run).

    Returns:
        ``dict(lr=[[group 0 per iteration], ...], momentum=[[...], ...])``; ``momentum`` is
        empty when the optimizer has neither ``momentum`` nor ``betas``.
    """
    optimizer = runner.optimizer
    defaults = getattr(optimizer, "defaults", {}) or {}
    with_momentum = "momentum" in defaults or "betas" in defaults
    n_groups = len(optimizer.param_groups)
    lr: list[list[float]] = [[] for _ in range(n_groups)]
    momentum: list[list[float]] = [[] for _ in range(n_groups)] if with_momentum else []
    total = runner.max_iters if num_iters is None else min(num_iters, runner.max_iters)
    schedulers = runner.param_schedulers if step_schedulers else []

    def call(stage: str, **kwargs: Any) -> None:
        for hook in hooks:
            getattr(hook, stage)(runner, **kwargs)

    def one_iteration(batch_idx: int) -> None:
        runner.inner_iter = batch_idx
        call("before_train_iter", batch_idx=batch_idx, data_batch=None)
        lrs, momenta = _read_values(optimizer, with_momentum)
        for series, value in zip(lr, lrs):
            series.append(value)
        for series, value in zip(momentum, momenta):
            series.append(value)
        call("after_train_iter", batch_idx=batch_idx, data_batch=None, outputs=None)
        for scheduler in schedulers:
            if not scheduler.by_epoch and not getattr(scheduler, "need_val_args", False):
                scheduler.step()
        runner.iter += 1

    def end_of_epoch() -> None:
        call("after_train_epoch")
        for scheduler in schedulers:
            if scheduler.by_epoch and not getattr(scheduler, "need_val_args", False):
                scheduler.step()

    call("before_run")
    call("before_train")
    if not runner.train_loop.by_epoch:
        call("before_train_epoch")
        while runner.iter < total:
            one_iteration(runner.iter)
        if total == runner.max_iters:
            end_of_epoch()
    else:
        epoch_length = len(runner.train_loop.dataloader)
        while runner.epoch < runner.max_epochs and runner.iter < total:
            call("before_train_epoch")
            for batch_idx in range(epoch_length):
                if runner.iter >= total:
                    return dict(lr=lr, momentum=momentum)
                one_iteration(batch_idx)
            end_of_epoch()
            runner.epoch += 1
    return dict(lr=lr, momentum=momentum)


def preview_schedule(
    cfg: Any, num_iters: int | None = None, epoch_length: int | None = None
) -> dict[str, list[list[float]]]:
    """The lr and momentum of every param group at every training iteration of ``cfg``.

    Args:
        cfg: A merged config (``Config`` or dict) with ``model``, ``optim_wrapper`` and
            ``train_cfg``; ``param_scheduler`` and updater hooks in ``custom_hooks`` are
            optional.
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
    hooks = _updater_hooks(cfg.get("custom_hooks"))
    loop = _PreviewLoop(_EpochOfUnknownLength(length, why), by_epoch, max_iters, max_epochs)
    runner = PreviewRunner(optim_wrapper, loop, list(schedulers))
    default_hooks = cfg.get("default_hooks") or {}
    stepping = not ("param_scheduler" in default_hooks and default_hooks["param_scheduler"] is None)
    return simulate(runner, hooks, step_schedulers=stepping, num_iters=num_iters)


__all__ = ["PreviewRunner", "preview_schedule", "simulate"]
