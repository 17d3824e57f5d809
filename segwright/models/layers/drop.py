"""Stochastic depth and MMCV's ``dropout_layer`` dicts (``DropPath``/``Dropout``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.utils.errors import ConfigError


def drop_path(x: torch.Tensor, drop_prob: float = 0.0, training: bool = False) -> torch.Tensor:
    """Stochastic depth: zero whole samples with probability ``drop_prob``, rescale the rest."""
    if drop_prob == 0.0 or not training:
        return x
    keep = 1.0 - drop_prob
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
    return x / keep * mask


def drop_path_rates(max_rate: float, count: int) -> list[float]:
    """Stochastic-depth rates rising linearly from 0 to ``max_rate`` over ``count`` blocks.

    The float32 ``torch.linspace`` values MMSeg uses, computed on the CPU even while modules are
    being built on the ``meta`` device.
    """
    return torch.linspace(0, max_rate, count, device="cpu").tolist()


class DropPath(nn.Module):
    """Module form of :func:`drop_path` (MMCV's ``dict(type='DropPath', drop_prob=...)``)."""

    def __init__(self, drop_prob: float = 0.1) -> None:
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ConfigError(f"DropPath drop_prob must be in [0, 1), got {drop_prob!r}.")
        self.drop_prob = drop_prob

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training)


def build_dropout(cfg: Mapping[str, Any] | None) -> nn.Module:
    """MMCV's ``dict(type='DropPath'|'Dropout', drop_prob=p)``; None is the identity."""
    if not cfg:
        return nn.Identity()
    args = dict(cfg)
    kind = args.pop("type")
    prob = float(args.pop("drop_prob", 0.0))
    if args:
        raise ConfigError(f"dropout_layer {dict(cfg)!r}: unknown keys {sorted(args)}.")
    if kind == "DropPath":
        return DropPath(prob)
    if kind == "Dropout":
        return nn.Dropout(prob)
    raise ConfigError(f"dropout_layer type must be 'DropPath' or 'Dropout', got {kind!r}.")
