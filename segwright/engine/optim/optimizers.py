"""Every ``torch.optim`` optimizer, registered under its class name (``type='AdamW'``)."""

from __future__ import annotations

import inspect

import torch

from segwright.registry import OPTIMIZERS


def _register_torch_optimizers() -> list[str]:
    names = []
    for name, obj in vars(torch.optim).items():
        if (
            inspect.isclass(obj)
            and issubclass(obj, torch.optim.Optimizer)
            and obj is not torch.optim.Optimizer
        ):
            if name not in OPTIMIZERS._module_dict:
                OPTIMIZERS.register_module(module=obj)
            names.append(name)
    return names


TORCH_OPTIMIZERS = _register_torch_optimizers()
