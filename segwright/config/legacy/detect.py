"""Whether a config is MMSeg 0.x: the key sets of each style (SPEC §13)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def is_legacy_config(cfg: Mapping[str, Any]) -> bool:
    """Whether ``cfg`` is an MMSeg 0.x config: 0.x keys, and no ``optim_wrapper``/``train_dataloader``."""
    keys = set(cfg.keys())
    return bool(keys & LEGACY_KEYS) and not keys & {"optim_wrapper", "train_dataloader"}


def ignored_legacy_keys(cfg: Mapping[str, Any]) -> list[str]:
    """0.x keys a 1.x-style config carries but nothing reads (the runner warns about them).

    ``optimizer`` is not reported: MMSeg 1.x's own schedule files define it as a helper
    variable for ``optim_wrapper``, and children often replace the wrapper's copy.
    """
    if is_legacy_config(cfg) or not set(cfg.keys()) & {"optim_wrapper", "train_dataloader"}:
        return []
    return sorted(set(cfg.keys()) & LEGACY_KEYS - {"optimizer"})
