"""``LogStore``: the run's scalar history and runtime info (MMEngine's MessageHub, smaller).

Hooks write scalars (losses, lr, times, metrics) here; the logger hook reads windowed means
from it. Its state goes into checkpoints so best scores and kept-checkpoint ids survive resume.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch


def to_float(value: Any) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() == 1:  # the usual case (losses, lr): one read, no extra kernels
            return float(value.item())
        return float(value.detach().float().mean().item())
    return float(value)


class ScalarHistory:
    """Values of one scalar with their sample counts."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.counts: list[int] = []

    def update(self, value: float, count: int = 1) -> None:
        self.values.append(value)
        self.counts.append(count)

    def current(self) -> float:
        return self.values[-1]

    def mean(self, window: int | None = None) -> float:
        """Count-weighted mean of the last ``window`` values (all when None)."""
        values = self.values[-window:] if window else self.values
        counts = self.counts[-window:] if window else self.counts
        return sum(v * c for v, c in zip(values, counts)) / max(sum(counts), 1)


class LogStore:
    """Scalars by name, plus free-form runtime info (iter, epoch, best score, ...)."""

    #: keep at most this many values per scalar (enough for any window)
    MAX_HISTORY = 1000

    def __init__(self) -> None:
        self.scalars: dict[str, ScalarHistory] = defaultdict(ScalarHistory)
        self.info: dict[str, Any] = {}

    def update_scalar(self, key: str, value: Any, count: int = 1) -> None:
        history = self.scalars[key]
        history.update(to_float(value), count)
        if len(history.values) > self.MAX_HISTORY:
            del history.values[: -self.MAX_HISTORY // 2]
            del history.counts[: -self.MAX_HISTORY // 2]

    def update_scalars(self, values: dict[str, Any], count: int = 1) -> None:
        for key, value in values.items():
            self.update_scalar(key, value, count)

    def update_info(self, key: str, value: Any) -> None:
        self.info[key] = value

    def get_info(self, key: str, default: Any = None) -> Any:
        return self.info.get(key, default)

    def state_dict(self) -> dict[str, Any]:
        return {"info": dict(self.info)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.info.update(state.get("info", {}))
