"""Tells the train sampler the epoch so each epoch is shuffled differently (DistSamplerSeedHook)."""

from __future__ import annotations

from typing import Any

from segwright.engine.hooks.hook import Hook
from segwright.registry import HOOKS


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    priority = "NORMAL"

    def before_train_epoch(self, runner: Any) -> None:
        loader = runner.train_loop.dataloader
        for holder in (getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
            for candidate in (holder, getattr(holder, "sampler", None)):
                if hasattr(candidate, "set_epoch"):
                    candidate.set_epoch(runner.epoch)
