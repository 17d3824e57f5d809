"""``train(cfg)``: build the runner from a config file or :class:`Config` and train."""

from __future__ import annotations

import os
from typing import Any

from segwright.config import Config, load_config
from segwright.config.checks import check_work_dir


def build_runner(cfg: Config | str | os.PathLike) -> Any:
    """A runner for ``cfg`` (a file or a :class:`Config`, MMSeg 1.x or 0.x).

    The pre-flight checks come with every runner (``default_hooks.preflight``, see
    :mod:`segwright.task_hooks.preflight`); this adds reading a path and checking ``work_dir``
    again, since the CLI's ``--work-dir`` is set after loading.
    """
    from segwright.engine.runner import Runner

    cfg = load_config(cfg)
    check_work_dir(cfg.get("work_dir"))
    return Runner.from_cfg(cfg)


def train(cfg: Config | str | os.PathLike) -> Any:
    """Train as the config says; return the runner (its model, work_dir, log store)."""
    runner = build_runner(cfg)
    try:
        runner.train()
    finally:
        runner.close()
    return runner
