"""A rich progress bar with ETA for training, validation and testing (terminals only).

The runner adds it when stdout is a terminal; log lines keep printing above the bar. In
files and CI logs only the plain log lines appear.
"""

from __future__ import annotations

from typing import Any

from segwright.engine.hooks.hook import Hook
from segwright.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    priority = "LOWEST"

    def __init__(self) -> None:
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def _start(self) -> Any:
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._progress.start()
        return self._progress

    def _open(self, name: str, total: int, completed: int = 0) -> None:
        progress = self._start()
        if name in self._tasks:
            progress.remove_task(self._tasks[name])
        self._tasks[name] = progress.add_task(name, total=total, completed=completed)

    def _advance(self, name: str) -> None:
        if self._progress is not None and name in self._tasks:
            self._progress.advance(self._tasks[name])

    def _close(self, name: str) -> None:
        if self._progress is not None and name in self._tasks:
            self._progress.remove_task(self._tasks.pop(name))

    def before_train(self, runner: Any) -> None:
        self._open("train", runner.max_iters, runner.iter)

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        self._advance("train")

    def before_val_epoch(self, runner: Any) -> None:
        self._open("val", len(runner.val_loop.dataloader))

    def after_val_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        self._advance("val")

    def after_val_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None:
        self._close("val")

    def before_test_epoch(self, runner: Any) -> None:
        self._open("test", len(runner.test_loop.dataloader))

    def after_test_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        self._advance("test")

    def after_run(self, runner: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()
