"""Activation layers by name (``act_cfg=dict(type='ReLU')``), with MMCV's names."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.models.layers._table import lookup, split_cfg
from segwright.utils.errors import ConfigError


class HSigmoid(nn.Module):
    """Hard sigmoid ``clamp((x + bias) / divisor, min_value, max_value)`` (MMCV's defaults)."""

    def __init__(
        self,
        bias: float = 3.0,
        divisor: float = 6.0,
        min_value: float = 0.0,
        max_value: float = 1.0,
    ) -> None:
        super().__init__()
        if divisor == 0:
            raise ConfigError("HSigmoid divisor must not be 0.")
        self.bias = bias
        self.divisor = divisor
        self.min_value = min_value
        self.max_value = max_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + self.bias) / self.divisor).clamp(self.min_value, self.max_value)


class Swish(nn.Module):
    """``x * sigmoid(x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class Clamp(nn.Module):
    """Clamp values into ``[min, max]``."""

    def __init__(self, min: float = -1.0, max: float = 1.0) -> None:  # noqa: A002 - MMCV names
        super().__init__()
        self.min = min
        self.max = max

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, min=self.min, max=self.max)


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "PReLU": nn.PReLU,
    "RReLU": nn.RReLU,
    "ReLU6": nn.ReLU6,
    "ELU": nn.ELU,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "GELU": nn.GELU,
    "SiLU": nn.SiLU,
    "Mish": nn.Mish,
    "Swish": Swish,
    "HSwish": nn.Hardswish,
    "HSigmoid": HSigmoid,
    "Clamp": Clamp,
    "Clip": Clamp,
}


def accepts_argument(cls: Any, name: str) -> bool:
    """Whether ``cls(...)`` names a keyword argument ``name`` (``**kwargs`` does not count:
    ``nn.Module.__init__`` takes it and then rejects unknown keys)."""
    try:
        return name in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def build_activation_layer(cfg: Mapping[str, Any]) -> nn.Module:
    """Build an activation from ``dict(type=..., **kwargs)``.

    Raises:
        ConfigError: Unknown type or arguments the activation does not take.
    """
    layer_type, args = split_cfg(cfg, "act_cfg")
    cls = lookup(ACTIVATIONS, layer_type, "activation")
    if "inplace" in args and not accepts_argument(cls, "inplace"):
        args.pop("inplace")  # MMCV only passes inplace to layers that take it
    try:
        return cls(**args)
    except TypeError as exc:
        raise ConfigError(f"Cannot build activation {dict(cfg)!r}: {exc}.") from exc
