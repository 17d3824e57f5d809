"""MMCV 1.x runner names on segwright's engine: ``Hook``, the optimizer builders, fp16, dist.

Only what differs from segwright's own API is adapted here; the registries and ``BaseModule``
are segwright's objects themselves (see :mod:`segwright.compat.table`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from segwright.engine.hooks.hook import STAGES
from segwright.engine.hooks.hook import Hook as _EngineHook
from segwright.engine.optim.constructor import DefaultOptimWrapperConstructor
from segwright.registry import OPTIM_WRAPPER_CONSTRUCTORS
from segwright.utils.dist import get_rank, get_world_size


def _takes_runner_only(func: Callable[..., Any]) -> bool:
    """Whether ``func(self, runner)`` is MMCV's stage signature (no batch_idx, no ``*args``)."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    kinds = {p.kind for p in params}
    if inspect.Parameter.VAR_POSITIONAL in kinds or inspect.Parameter.VAR_KEYWORD in kinds:
        return False
    return len(params) == 2


def _runner_only(func: Callable[..., Any]) -> Callable[..., Any]:
    """Call an MMCV-style ``func(self, runner)`` from the loop's ``(runner, batch_idx, ...)``."""

    @functools.wraps(func)
    def stage_method(self: Hook, runner: Any, *args: Any, **kwargs: Any) -> Any:
        self._note_inner_iter(args, kwargs)
        return func(self, runner)

    return stage_method


class Hook(_EngineHook):
    """MMCV 1.x's ``Hook`` on segwright's engine.

    Stage methods written MMCV's way (``def after_train_iter(self, runner)``) are called with the
    runner alone; MMCV's generic stages (``before_iter``, ``after_iter``, ``before_epoch``,
    ``after_epoch``) run at the train stages, as in MMCV. The runner is segwright's (MMEngine's
    attributes: ``runner.iter``, ``runner.epoch``, ``runner.model``, ``runner.optim_wrapper``).
    """

    _inner_iter: int = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for stage in STAGES:
            func = cls.__dict__.get(stage)
            if inspect.isfunction(func) and _takes_runner_only(func):
                setattr(cls, stage, _runner_only(func))

    def _note_inner_iter(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        batch_idx = kwargs.get("batch_idx", args[0] if args else None)
        if isinstance(batch_idx, int):
            self._inner_iter = batch_idx

    def before_epoch(self, runner: Any) -> None: ...
    def after_epoch(self, runner: Any) -> None: ...
    def before_iter(self, runner: Any) -> None: ...
    def after_iter(self, runner: Any) -> None: ...

    def before_train_epoch(self, runner: Any) -> None:
        self.before_epoch(runner)

    def after_train_epoch(self, runner: Any) -> None:
        self.after_epoch(runner)

    def before_train_iter(self, runner: Any, batch_idx: int = 0, data_batch: Any = None) -> None:
        self._inner_iter = batch_idx
        self.before_iter(runner)

    def after_train_iter(
        self, runner: Any, batch_idx: int = 0, data_batch: Any = None, outputs: Any = None
    ) -> None:
        self._inner_iter = batch_idx
        self.after_iter(runner)

    # -- MMCV's helpers (they take the runner; MMEngine's inner-iteration one does not) ---------

    def every_n_iters(self, runner: Any, n: int) -> bool:
        return n > 0 and (runner.iter + 1) % n == 0

    def every_n_inner_iters(self, runner: Any, n: int) -> bool:  # type: ignore[override]
        return n > 0 and (self._inner_iter + 1) % n == 0

    def is_last_iter(self, runner: Any) -> bool:
        return runner.iter + 1 == runner.max_iters

    def is_last_epoch(self, runner: Any) -> bool:
        return runner.epoch + 1 == runner.max_epochs


class DefaultOptimizerConstructor(DefaultOptimWrapperConstructor):
    """MMCV's ``DefaultOptimizerConstructor(optimizer_cfg, paramwise_cfg)``: calling it on a
    model returns a torch optimizer (segwright wraps it). ``paramwise_cfg`` follows
    :class:`~segwright.engine.optim.constructor.DefaultOptimWrapperConstructor`; subclasses may
    override ``add_params(params, module, prefix='', **kwargs)``."""

    def __init__(
        self, optimizer_cfg: Mapping[str, Any], paramwise_cfg: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(dict(optimizer=optimizer_cfg), paramwise_cfg)

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        return super().__call__(model).optimizer


def build_optimizer_constructor(cfg: Mapping[str, Any]) -> Any:
    """Build an optimizer constructor from ``dict(type=..., optimizer_cfg=..., paramwise_cfg=...)``."""
    return OPTIM_WRAPPER_CONSTRUCTORS.build(cfg, key="optimizer.constructor")


def build_optimizer(model: nn.Module, cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
    """MMCV's ``build_optimizer(model, cfg)``: ``cfg`` is an ``optimizer`` dict, which may hold
    ``constructor`` and ``paramwise_cfg``; returns a torch optimizer."""
    optimizer_cfg = dict(cfg)
    constructor_type = optimizer_cfg.pop("constructor", None)
    paramwise_cfg = optimizer_cfg.pop("paramwise_cfg", None)
    if constructor_type in (None, "DefaultOptimizerConstructor"):
        return DefaultOptimizerConstructor(optimizer_cfg, paramwise_cfg)(model)
    constructor = build_optimizer_constructor(
        dict(type=constructor_type, optimizer_cfg=optimizer_cfg, paramwise_cfg=paramwise_cfg)
    )
    return constructor(model)


def auto_fp16(apply_to: Any = None, out_fp32: bool = False, **kwargs: Any) -> Callable[..., Any]:
    """No-op: segwright's mixed precision is ``AmpOptimWrapper`` (autocast), not per-method casts."""
    return lambda func: func


def force_fp32(apply_to: Any = None, out_fp16: bool = False, **kwargs: Any) -> Callable[..., Any]:
    """No-op, as :func:`auto_fp16`."""
    return lambda func: func


def get_dist_info() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` outside distributed runs."""
    return get_rank(), get_world_size()


def master_only(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``func`` on rank 0 only (other ranks get None)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if get_rank() == 0:
            return func(*args, **kwargs)
        return None

    return wrapper
