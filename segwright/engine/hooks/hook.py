"""``Hook``: the base class of everything that watches a run from outside the loop.

Method names and arguments are MMEngine's, so users' hooks port unchanged.
"""

from __future__ import annotations

from typing import Any


class Hook:
    """Override the stages you need; every method receives the runner."""

    priority: int | str = "NORMAL"

    def before_run(self, runner: Any) -> None: ...
    def after_run(self, runner: Any) -> None: ...
    def before_train(self, runner: Any) -> None: ...
    def after_train(self, runner: Any) -> None: ...
    def before_train_epoch(self, runner: Any) -> None: ...
    def after_train_epoch(self, runner: Any) -> None: ...
    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None: ...
    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None: ...
    def before_val(self, runner: Any) -> None: ...
    def after_val(self, runner: Any) -> None: ...
    def before_val_epoch(self, runner: Any) -> None: ...
    def after_val_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None: ...
    def before_val_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None: ...
    def after_val_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None: ...
    def before_test(self, runner: Any) -> None: ...
    def after_test(self, runner: Any) -> None: ...
    def before_test_epoch(self, runner: Any) -> None: ...
    def after_test_epoch(self, runner: Any, metrics: dict[str, Any] | None = None) -> None: ...
    def before_test_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None: ...
    def after_test_iter(
        self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None: ...
    def before_save_checkpoint(self, runner: Any, checkpoint: dict[str, Any]) -> None: ...
    def after_load_checkpoint(self, runner: Any, checkpoint: dict[str, Any]) -> None: ...

    # -- helpers (MMEngine names) ------------------------------------------------------------

    @staticmethod
    def every_n_train_iters(runner: Any, n: int, start: int = 0) -> bool:
        done = runner.iter + 1 - start
        return n > 0 and done >= 0 and done % n == 0

    @staticmethod
    def every_n_epochs(runner: Any, n: int, start: int = 0) -> bool:
        done = runner.epoch + 1 - start
        return n > 0 and done >= 0 and done % n == 0

    @staticmethod
    def every_n_inner_iters(batch_idx: int, n: int) -> bool:
        return n > 0 and (batch_idx + 1) % n == 0

    @staticmethod
    def end_of_epoch(dataloader: Any, batch_idx: int) -> bool:
        return batch_idx + 1 == len(dataloader)

    @staticmethod
    def is_last_train_iter(runner: Any) -> bool:
        return runner.iter + 1 == runner.max_iters

    @staticmethod
    def is_last_train_epoch(runner: Any) -> bool:
        return runner.epoch + 1 == runner.max_epochs


def eval_pass_length(runner: Any, mode: str) -> int | None:
    """Batches in the running validation or test pass; None when its loader has no length."""
    loop = getattr(runner, f"{mode}_loop", None)
    try:
        return len(loop.dataloader)
    except (AttributeError, TypeError):
        return None


STAGES = tuple(
    name
    for name in vars(Hook)
    if name.startswith(("before_", "after_")) and callable(getattr(Hook, name))
)


def implements(hook: Any, stage: str) -> bool:
    """Whether ``hook`` does something at ``stage``: it has the method and it is not ``Hook``'s no-op."""
    method = getattr(hook, stage, None)
    if method is None:
        return False
    return getattr(method, "__func__", None) is not getattr(Hook, stage, None)
