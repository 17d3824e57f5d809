"""Speed options a config can switch on: ``channels_last`` and ``compile`` (torch.compile).

``compile`` follows MMEngine's top-level key: ``compile=True`` or a dict of
``torch.compile`` arguments (``backend``, ``mode``, ``dynamic``, ``fullgraph``, ``options``).
MMEngine compiles ``train_step`` only when training; segwright compiles the model's forward in
place (``nn.Module.compile``), so training, validation and testing all use it and checkpoint
keys stay the same (no ``_orig_mod.`` prefix).

``channels_last=True`` (segwright's own key) stores the model's 4-D weights and the batches it
receives in NHWC order, which cuDNN and oneDNN convolutions prefer, most of all under AMP.
``env_cfg.cudnn_benchmark`` and AMP (``AmpOptimWrapper``) are set elsewhere; docs/runtime.md
lists all four with measured effects.
"""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from segwright.utils.errors import ConfigError

__all__ = ["apply_speed_options", "compile_kwargs", "to_channels_last"]


def compile_kwargs(value: Any, key: str = "compile") -> dict[str, Any] | None:
    """The ``torch.compile`` arguments for the config's ``compile`` value; None when off."""
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if isinstance(value, Mapping):
        kwargs = dict(value)
        allowed = set(inspect.signature(torch.compile).parameters) - {"model"}
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise ConfigError(
                f"{key} has unknown torch.compile arguments {unknown}; "
                f"allowed: {', '.join(sorted(allowed))}."
            )
        return kwargs
    raise ConfigError(
        f"{key} must be True, False or a dict of torch.compile arguments "
        f"(e.g. dict(backend='inductor', mode='max-autotune')), got {value!r}."
    )


def _check_compiler(kwargs: Mapping[str, Any], device: torch.device) -> None:
    """Inductor on CPU builds C++ kernels: say so up front instead of failing mid-iteration."""
    if kwargs.get("backend", "inductor") != "inductor" or device.type != "cpu":
        return
    compiler = os.environ.get("CXX", "g++")
    if shutil.which(compiler) is None and shutil.which("clang++") is None:
        raise ConfigError(
            "compile=True uses torch.compile's inductor backend, which needs a C++ compiler "
            f"on CPU, and none was found ({compiler!r}, 'clang++'). Install one (g++), set CXX, "
            "or use compile=dict(backend='aot_eager')."
        )


def _inputs_to_channels_last(module: nn.Module, args: tuple, kwargs: dict) -> tuple:
    """Forward pre-hook: 4-D ``inputs`` (first argument or keyword) in channels-last order."""
    if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
        args = (args[0].contiguous(memory_format=torch.channels_last), *args[1:])
    inputs = kwargs.get("inputs")
    if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
        kwargs = dict(kwargs, inputs=inputs.contiguous(memory_format=torch.channels_last))
    return args, kwargs


def to_channels_last(model: nn.Module) -> nn.Module:
    """Weights and incoming batches in channels-last order (in place; returns ``model``)."""
    model.to(memory_format=torch.channels_last)
    model.register_forward_pre_hook(_inputs_to_channels_last, with_kwargs=True)
    return model


def apply_speed_options(
    model: nn.Module,
    device: torch.device,
    channels_last: bool = False,
    compile: Any = None,
) -> list[str]:
    """Switch on the requested options on ``model`` in place; return a line for the log each."""
    applied = []
    if channels_last:
        to_channels_last(model)
        applied.append("channels_last: weights and batches in NHWC order")
    kwargs = compile_kwargs(compile)
    if kwargs is not None:
        _check_compiler(kwargs, device)
        model.compile(**kwargs)
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "defaults"
        applied.append(f"compile: torch.compile of the model's forward ({shown})")
    return applied
