"""Averaged copies of a model for EMAHook (MMEngine's ``ExponentialMovingAverage``).

State-dict keys are ``module.<param>`` plus ``steps``, as in MMEngine, so EMA checkpoints of
either tool carry over.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from segwright.registry import MODELS
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class ExponentialMovingAverage(nn.Module):
    """``ema = (1 - momentum) * ema + momentum * param`` every ``interval`` updates.

    Args:
        model: The model being trained (copied; the copy never receives gradients).
        momentum: Weight of the new value (MMEngine's convention; small, e.g. 0.0002).
        interval: Update every this many calls.
        device: Keep the average on another device (e.g. 'cpu' to save GPU memory).
        update_buffers: Average buffers too (else they are copied).
    """

    def __init__(
        self,
        model: nn.Module,
        momentum: float = 0.0002,
        interval: int = 1,
        device: str | torch.device | None = None,
        update_buffers: bool = False,
    ) -> None:
        super().__init__()
        if not 0.0 < momentum < 1.0:
            raise ConfigError(f"EMA momentum must be in (0, 1), got {momentum}.")
        self.module = copy.deepcopy(model).requires_grad_(False)
        if device is not None:
            self.module.to(device)
        self.momentum = momentum
        self.interval = interval
        self.update_buffers = update_buffers
        self.register_buffer("steps", torch.tensor(0, dtype=torch.long, device=device))

    def _pairs(self, model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor, bool]]:
        ema = dict(self.module.named_parameters())
        src = dict(model.named_parameters())
        pairs = [(ema[k], src[k], True) for k in ema]
        ema_buffers = dict(self.module.named_buffers())
        for key, value in model.named_buffers():
            pairs.append(
                (ema_buffers[key], value, self.update_buffers and value.is_floating_point())
            )
        return pairs

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Average ``model`` into the copy (the first call copies)."""
        steps = int(self.steps)  # read once (a CPU tensor unless `device` put it elsewhere)
        first = steps == 0
        if first or steps % self.interval == 0:
            for ema, src, average in self._pairs(model):
                src = src.detach().to(ema.device)
                if first or not average:
                    ema.copy_(src)
                else:
                    self.avg_func(ema, src, steps)
        self.steps += 1

    def avg_func(self, averaged: torch.Tensor, source: torch.Tensor, steps: int) -> None:
        averaged.lerp_(source, self.momentum)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)
