"""``train(cfg)``: build the runner with segmentation's pre-flight checks and train."""

from __future__ import annotations

import os
from typing import Any

from segwright.apis import preflight  # noqa: F401  (registers SegPreflightHook)
from segwright.config import Config, load_config
from segwright.config.checks import check_work_dir


def build_runner(cfg: Config | str | os.PathLike) -> Any:
    """A runner for ``cfg`` with the pre-flight hook (``default_hooks.preflight=None`` disables it).

    ``cfg`` is a file or a :class:`Config`, MMSeg 1.x or 0.x (read by
    :func:`segwright.config.load_config`).
    """
    from segwright.engine.runner import Runner

    cfg = load_config(cfg)  # an MMSeg 0.x config is translated before hooks are added
    check_work_dir(cfg.get("work_dir"))  # again: the CLI's --work-dir is set after loading
    hooks = dict(cfg.get("default_hooks") or {})
    hooks.setdefault("preflight", dict(type="SegPreflightHook"))
    cfg.default_hooks = hooks
    return Runner.from_cfg(cfg)


def train(cfg: Config | str | os.PathLike) -> Any:
    """Train as the config says; return the runner (its model, work_dir, log store)."""
    runner = build_runner(cfg)
    try:
        runner.train()
    finally:
        runner.close()
    return runner
