"""Releases cached CUDA memory at chosen points (MMEngine's EmptyCacheHook)."""

from __future__ import annotations

from typing import Any

import torch

from segwright.engine.hooks.hook import Hook
from segwright.registry import HOOKS


def _empty() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@HOOKS.register_module()
class EmptyCacheHook(Hook):
    priority = "NORMAL"

    def __init__(
        self, before_epoch: bool = False, after_epoch: bool = True, after_iter: bool = False
    ) -> None:
        self._before_epoch = before_epoch
        self._after_epoch = after_epoch
        self._after_iter = after_iter

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        if self._after_iter:
            _empty()

    def after_val_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        if self._after_iter:
            _empty()

    def before_train_epoch(self, runner: Any) -> None:
        if self._before_epoch:
            _empty()

    def after_train_epoch(self, runner: Any) -> None:
        if self._after_epoch:
            _empty()

    def after_val_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        if self._after_epoch:
            _empty()
