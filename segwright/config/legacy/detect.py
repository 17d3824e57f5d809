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
